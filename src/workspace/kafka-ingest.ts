import { KafkaTail } from '../connectors/kafka/source.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { KafkaStorage } from '../flow/kafka-storage.ts';
import type { FollowedSource } from './flow-topics.ts';
import type { IngestResult } from './ingest.ts';
import type { Topic } from './topic-log.ts';

/**
 * A dataset stored in a Kafka topic, as an unbounded source of a live run: its records are ingested into the
 * dataset's topic in napkin's log, which the flow reads like any other (spec reliability §2.5: the source position
 * lives in napkin's log, never in a consumer group).
 *
 * Each fetch round is one chunk: the records of every partition (rows, and the ones the contract refused as
 * quarantine entries at `kafka:<topic>/<partition>`, record number = offset) and a marker whose `position` is the
 * next offset of every partition, in one atomic append. A restart resumes from the position in the topic's last
 * marker, so every committed Kafka record is in the log exactly once. The first run appends the start position
 * (`startFrom`) before reading, so a crash before the first record cannot move a `latest` start forward.
 *
 * With an event-time field, each marker also holds the event-time frontier over the partitions (see
 * `PartitionFrontier`): readers derive the watermark from it, so it is the same whenever and however the log is read,
 * and a restart goes on from it.
 */
export function kafkaFollowed(topic: Topic, dataset: Dataset, storage: KafkaStorage): FollowedSource {
  return {
    topic,
    dataset,
    name: `kafka ${storage.topic}`,
    ingest: (signal, now) => ingestKafka(topic, dataset, storage, signal, now),
  };
}

export async function ingestKafka(
  topic: Topic,
  dataset: Dataset,
  storage: KafkaStorage,
  signal: AbortSignal,
  now: () => number,
): Promise<IngestResult> {
  const contract = dataset.contract;
  if (contract === undefined)
    throw new Error(`dataset ${dataset.name} has no contract; napkin check reports this as NAP011`);
  const fields = contract.schema.fields.map((f) => f.name);
  const s = topic.state;
  let newGeneration = false;
  if (s.generation < 0) {
    await topic.startGeneration(fields);
    newGeneration = true;
  } else if (s.fields.length !== fields.length || s.fields.some((f, i) => f !== fields[i])) {
    throw new Error(
      `dataset ${dataset.name}: its contract's fields (${fields.join(', ')}) differ from those of its log (${s.fields.join(', ')}); reprocess with napkin replay after resetting the topic`,
    );
  }
  const name = `kafka:${storage.topic}`;
  const tail = await KafkaTail.open({
    storage,
    dataset: dataset.name,
    contract,
    ...(s.position === undefined ? {} : { from: s.position }),
    ...(s.frontier === undefined ? {} : { frontier: s.frontier }),
    signal,
    now,
  });
  const timeCol = contract.eventTime === undefined ? -1 : fields.indexOf(contract.eventTime);
  let records = 0;
  try {
    if (s.position === undefined) {
      await topic.appendChunk(EMPTY, -1, Date.now(), { kind: 'chunk', file: name, position: tail.position });
    }
    for await (const chunk of tail.chunks()) {
      const frontier =
        chunk.eventFrontier === undefined ? {} : { frontier: chunk.eventFrontier, times: chunk.partitionTimes ?? {} };
      await topic.appendChunk(chunk, timeCol, Date.now(), {
        kind: 'chunk',
        file: name,
        position: chunk.position,
        ...frontier,
      });
      records += chunk.batch.length + chunk.rejected.length;
    }
  } finally {
    await tail.close();
  }
  await topic.saveState();
  return { dataset: topic.dataset, files: 0, records, newGeneration };
}

const EMPTY = { batch: { length: 0, columns: [] }, rejected: [] };
