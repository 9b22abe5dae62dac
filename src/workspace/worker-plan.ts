import type { Dataset } from '../flow/dataset.ts';
import type { KafkaStorage } from '../flow/kafka-storage.ts';
import type { Storage } from '../flow/storage.ts';
import type { BoundFlow } from '../plan/bind.ts';
import type { Stage } from '../plan/stage.ts';
import { storageOf } from './flow-io.ts';

/** A Kafka source of a flow run by workers. */
export interface WorkerSource {
  readonly dataset: Dataset;
  readonly storage: KafkaStorage;
  /** The fields records are keyed, and so partitioned, by. */
  readonly key: readonly string[];
}

/** What `napkin worker` needs of a flow, checked. */
export interface WorkerPlan {
  /** The brokers reference every source names. */
  readonly brokers: string;
  /** The sources; the first one's partitions are the flow's partitions, the others are read co-partitioned. */
  readonly sources: readonly WorkerSource[];
}

/**
 * Checks that a flow can be split over workers by partition, and says what to change when it cannot: every source is
 * a Kafka topic on the same brokers; every sink is on a server that fences writers per partition (Kafka, or
 * PostgreSQL written with `merge`: a `replace` would let each partition's first epoch erase the others' rows);
 * no SQL model (it reads whole tables).
 */
export function workerPlan(b: BoundFlow): WorkerPlan {
  const flow = b.flow.name;
  const sources: WorkerSource[] = [];
  for (const s of b.stages) {
    const ds = s.dataset;
    if (ds === undefined) continue;
    const st: Storage = storageOf(ds);
    if (s.kind === 'source') {
      if (st.kind !== 'kafka')
        throw new Error(
          `flow ${flow}: napkin worker splits a flow by the partitions of its Kafka sources, and source ${s.id} reads ${st.kind} storage (dataset ${ds.name}); run this flow with napkin run`,
        );
      if (!sources.some((x) => x.dataset.name === ds.name))
        sources.push({ dataset: ds, storage: st, key: st.key ?? ds.contract?.key ?? [] });
    } else if (s.kind === 'sink') assertWorkerSink(flow, s, st);
    else if (s.kind === 'sql')
      throw new Error(
        `flow ${flow}: SQL model ${s.id} reads whole tables, which no single worker holds; move it to a flow run with napkin run`,
      );
  }
  if (sources.length === 0) throw new Error(`flow ${flow}: it has no Kafka source to split over workers`);
  const brokers = sources[0].storage.brokers;
  const other = sources.find((x) => x.storage.brokers !== brokers);
  if (other !== undefined)
    throw new Error(
      `flow ${flow}: its Kafka sources name different brokers (${brokers}, ${other.storage.brokers}); workers read every source of a partition from one cluster`,
    );
  return { brokers, sources };
}

function assertWorkerSink(flow: string, s: Stage, st: Storage): void {
  if (st.kind === 'kafka') return;
  if (st.kind === 'postgres' && s.writeMode === 'merge') return;
  if (st.kind === 'postgres')
    throw new Error(
      `flow ${flow}: sink ${s.id} writes PostgreSQL table ${st.table} with 'replace', and each worker partition would replace the others' rows; write it with { writeMode: 'merge' } (an upsert by the contract's key)`,
    );
  throw new Error(
    `flow ${flow}: sink ${s.id} writes ${st.kind} storage, which workers on several machines cannot share; napkin worker writes Kafka topics and PostgreSQL tables (merge)`,
  );
}

/**
 * With more than one partition, a stage that keeps state by key sees only the records of its own partition, so every
 * key it groups or joins by must include the key the sources are partitioned by; otherwise one group's records are
 * spread over workers and its result would be split. Fields are matched by name (a rename in between is not
 * followed: keep the key's name).
 */
export function assertPartitionLocal(b: BoundFlow, plan: WorkerPlan, partitions: number): void {
  if (partitions <= 1) return;
  const flow = b.flow.name;
  for (const src of plan.sources)
    if (src.key.length === 0)
      throw new Error(
        `flow ${flow}: kafka topic ${src.storage.topic} has ${partitions} partitions but its records have no key (storage key or contract key), so nothing ties a record to a partition; key the topic, or give it one partition`,
      );
  const key = plan.sources[0].key;
  for (const s of b.stages) {
    const grouped = groupingOf(s);
    if (grouped === undefined) continue;
    const missing = key.filter((k) => !grouped.includes(k));
    if (missing.length > 0)
      throw new Error(
        `flow ${flow}: stage ${s.id} keeps state by (${grouped.join(', ') || 'nothing: one global group'}), without ${missing.join(', ')}, the key the sources are partitioned by over ${partitions} partitions; each worker would hold part of a group. Group by ${missing.join(', ')} too, or give the topics one partition`,
      );
  }
}

/** The fields a stateful stage groups or joins by; undefined for a stateless stage. */
export function groupingOf(s: Stage): readonly string[] | undefined {
  const n = s.node;
  if (n === undefined) return undefined;
  switch (n.op) {
    case 'aggregate':
    case 'dedupe':
      return n.keys;
    case 'join':
    case 'windowJoin':
    case 'intervalJoin':
    case 'temporalJoin':
      return n.on.map((o) => o.left);
    default:
      return undefined;
  }
}
