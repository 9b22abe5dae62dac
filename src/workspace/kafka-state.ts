/**
 * State snapshots of a flow's partitions on Kafka: the compacted topic `<scope>.<flow>.state` (a repartitioned part
 * `F/S`: `napkin.F.S.state`) with one partition per flow partition, so a worker taking partition p over reads
 * partition p only. A snapshot is a head record (`head`: epoch, part count, size) and its parts (`part/<i>`, sealed
 * bytes cut to 256 KiB, under the broker's default record limit), written in the commit entry's transaction
 * (`KafkaEpochStore.writeCommit`): the state exists exactly when its epoch committed. Compaction keeps the latest
 * head and parts; a smaller snapshot tombstones the parts it no longer has.
 */
import { Admin, Consumer, FetchIsolationLevels, type MessageToProduce } from '@platformatic/kafka';
import { clientOptions, closeClient, type KafkaConnection, kafkaFailure } from '../connectors/kafka/client.ts';
import { createMissingTopics, readCommitted, stableBounds } from '../connectors/kafka/commits.ts';
import { type StateSnapshot, sealed, unseal } from './epochs.ts';

/** The largest part; records of one send share a batch, so each part goes in a send of its own. */
export const STATE_PART = 256 * 1024;

/** The state topic of a flow (or part `F/S`) whose epoch records are scoped by `scope` (see `epochsRoot`). */
export function stateTopic(flow: string, scope?: string): string {
  return `${scope ?? 'napkin'}.${flow.replaceAll('/', '.')}.state`;
}

/**
 * Creates the state topic with `partitions` partitions when it is missing; one with fewer is refused (its keys'
 * partitions would no longer match the flow's).
 */
export async function ensureStateTopic(
  conn: KafkaConnection,
  topic: string,
  partitions: number,
  what: string,
): Promise<void> {
  const admin = new Admin(clientOptions(conn, 'napkin-admin-state'));
  try {
    await createMissingTopics(
      admin,
      [
        {
          name: topic,
          partitions,
          configs: [
            { name: 'cleanup.policy', value: 'compact' },
            // Old snapshots go soon: a take-over reads what compaction has not yet removed.
            { name: 'segment.ms', value: String(600_000) },
            { name: 'min.cleanable.dirty.ratio', value: '0.1' },
          ],
        },
      ],
      conn,
      what,
    );
    const meta = await admin.metadata({ topics: [topic] });
    const have = meta.topics.get(topic)?.partitionsCount ?? 0;
    if (have < partitions)
      throw new Error(
        `${what}: the state topic ${topic} has ${have} partitions and the flow has ${partitions}; the flow's sources were repartitioned, so its state no longer matches its keys: start a new output of the flow (napkin replay)`,
      );
  } finally {
    await admin.close().catch(() => undefined);
  }
}

/** What a take-over finds in its partition of the state topic: the latest snapshot, and how many parts are live. */
export interface StoredState {
  readonly latest: StateSnapshot | undefined;
  readonly parts: number;
}

/** Reads partition `partition` of the state topic (read_committed, once no transaction is open on it). */
export async function readState(
  conn: KafkaConnection,
  topic: string,
  partition: number,
  waitMs: number,
): Promise<StoredState> {
  const what = `reading the state snapshot of partition ${partition} in ${topic}`;
  const consumer = new Consumer({
    ...clientOptions(conn, `napkin-state-${topic}`),
    groupId: `napkin-state-${topic}`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const fail = (step: string, e: unknown) => kafkaFailure(`${what}: ${step} failed`, e, conn);
  const records = new Map<string, Buffer>();
  try {
    const { t, start, end } = await stableBounds(consumer, topic, what, waitMs, fail, partition);
    await readCommitted(consumer, t, start, end, fail, (key, value) => {
      const k = key.toString('utf8');
      if (value === null) records.delete(k);
      else records.set(k, value);
    });
  } finally {
    await closeClient(consumer);
  }
  let parts = 0;
  while (records.has(`part/${parts}`)) parts++;
  const head = records.get('head');
  if (head === undefined) return { latest: undefined, parts };
  const h = JSON.parse(head.toString('utf8')) as { epoch: number; parts: number };
  const chunks: Buffer[] = [];
  for (let i = 0; i < h.parts; i++) {
    const part = records.get(`part/${i}`);
    if (part === undefined)
      throw new Error(
        `${topic} partition ${partition}: part ${i} of the state snapshot of epoch ${h.epoch} is missing`,
      );
    chunks.push(part);
  }
  const bytes = unseal(
    Buffer.concat(chunks),
    `${topic} partition ${partition}: the state snapshot of epoch ${h.epoch}`,
  );
  return { latest: { epoch: h.epoch, bytes }, parts };
}

/** The records of one snapshot, for the commit entry's transaction; `previousParts` of the last one are tombstoned. */
export function stateRecords(
  topic: string,
  partition: number,
  epoch: number,
  state: Uint8Array,
  previousParts: number,
): { readonly records: MessageToProduce[]; readonly parts: number } {
  const bytes = sealed(state);
  const parts = Math.ceil(bytes.length / STATE_PART);
  const record = (key: string, value: Buffer | undefined): MessageToProduce => ({
    topic,
    partition,
    key: Buffer.from(key),
    value: value as Buffer,
  });
  const records: MessageToProduce[] = [];
  for (let i = 0; i < parts; i++)
    records.push(record(`part/${i}`, Buffer.from(bytes.subarray(i * STATE_PART, (i + 1) * STATE_PART))));
  for (let i = parts; i < previousParts; i++) records.push(record(`part/${i}`, undefined));
  records.push(record('head', Buffer.from(JSON.stringify({ epoch, parts, bytes: bytes.length }))));
  return { records, parts };
}
