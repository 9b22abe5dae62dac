import { isAbsolute, join, relative } from 'node:path';
import type { Warehouse } from '../connectors/duckdb/warehouse.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { KafkaLogConfig } from '../flow/kafka-storage.ts';
import type { Follow } from '../flow/storage.ts';
import type { BoundFlow } from '../plan/bind.ts';
import { openCdcSource } from './cdc-ingest.ts';
import { openDatasetTopic } from './dataset-topic.ts';
import { matchFiles, openFiles, storageOf } from './flow-io.ts';
import { type IngestResult, ingestFiles, ingestFollowed } from './ingest.ts';
import { kafkaFollowed } from './kafka-ingest.ts';
import { carryReplays, syncReplays } from './quarantine-replay.ts';
import type { Topic } from './topic-log.ts';

/**
 * An unbounded source whose topic the run keeps ingesting while the flow reads it (a followed file; any connector
 * that tails an external stream into the log plugs in here). `ingest` appends until `signal` aborts or the source
 * ends by itself, each chunk with its position in one atomic append, so a restart goes on from the log.
 */
export interface FollowedSource {
  readonly topic: Topic;
  readonly dataset: Dataset;
  /** What people call it in messages: a file path, a Kafka topic, a replication slot. */
  readonly name: string;
  ingest(signal: AbortSignal, now: () => number): Promise<IngestResult>;
}

/** The topics a flow reads, by dataset name, once its bounded files are ingested. */
export interface FlowTopics {
  readonly topics: ReadonlyMap<string, Topic>;
  readonly followed: readonly FollowedSource[];
  readonly ingested: readonly IngestResult[];
  close(): Promise<void>;
}

/**
 * Opens the topic of each source dataset of the flow stored in files, and ingests what a bounded one's files hold
 * that its topic does not. Warehouse tables are read directly: they are not a log (change data capture is). A new
 * generation gets the quarantine fixes replayed into earlier ones carried into it, and the warehouse's replay
 * bookkeeping is brought up to date with the topic's (a replay that crashed after its append left it behind).
 */
export async function openFlowTopics(
  root: string,
  stateDir: string,
  warehouse: Warehouse,
  b: BoundFlow,
  /** The project's name: default replication slots of CDC sources derive from it. */
  project = '',
  /** napkin's log on Kafka: each topic is a Kafka topic (see `kafka-log.ts`); default: the state folder. */
  log?: KafkaLogConfig,
): Promise<FlowTopics> {
  const openTopic = (dataset: string): Promise<Topic> => openDatasetTopic(stateDir, dataset, project, log);
  const topics = new Map<string, Topic>();
  const followed: FollowedSource[] = [];
  const ingested: IngestResult[] = [];
  const close = async (): Promise<void> => {
    for (const t of topics.values()) await t.close();
  };
  try {
    for (const s of b.stages) {
      const ds = s.dataset;
      if (s.kind !== 'source' || ds === undefined || topics.has(ds.name)) continue;
      const st = storageOf(ds);
      if (st.kind === 'postgresCdc') {
        const topic = await openTopic(ds.name);
        topics.set(ds.name, topic);
        followed.push(await openCdcSource(topic, ds, st, project));
        continue;
      }
      if (st.kind === 'kafka') {
        const topic = await openTopic(ds.name);
        topics.set(ds.name, topic);
        await syncReplays(warehouse, ds.name, topic.state);
        followed.push(kafkaFollowed(topic, ds, st));
        continue;
      }
      if (st.kind !== 'csv' && st.kind !== 'jsonl' && st.kind !== 'parquet') continue;
      const topic = await openTopic(ds.name);
      topics.set(ds.name, topic);
      if (st.kind === 'jsonl' && st.follow !== undefined) {
        await syncReplays(warehouse, ds.name, topic.state);
        followed.push(followedFile(topic, ds, isAbsolute(st.path) ? st.path : join(root, st.path), st.path, st.follow));
        continue;
      }
      const files = (await matchFiles(root, st.path, ds.name)).map((path) => ({ path, name: relative(root, path) }));
      const contract = ds.contract;
      if (contract === undefined)
        throw new Error(`dataset ${ds.name} has no contract; napkin check reports this as NAP011`);
      ingested.push(
        await ingestFiles(topic, contract, files, (f) => Promise.resolve(openFiles(root, warehouse, ds, [f.path]))),
      );
      await carryReplays(root, topic, ds);
      await syncReplays(warehouse, ds.name, topic.state);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { topics, followed, ingested, close };
}

function followedFile(topic: Topic, dataset: Dataset, file: string, name: string, follow: Follow): FollowedSource {
  return {
    topic,
    dataset,
    name,
    ingest: (signal, now) =>
      ingestFollowed(topic, {
        file,
        name,
        contract: dataset.contract as NonNullable<Dataset['contract']>,
        follow,
        signal,
        now,
      }),
  };
}
