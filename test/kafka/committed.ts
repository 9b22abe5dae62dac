// What a read_committed reader may see of a topic, worked out independently of every consumer under test: every
// batch is fetched with read_uncommitted (no client-side filtering), and a transactional producer's records are held
// until its control record says COMMIT (kept) or ABORT (dropped), the definition of transactional visibility. Records
// still held at the end belong to transactions that are open. The last stable offsets (read_committed) and high
// watermarks of the partitions come from the broker's ListOffsets, for the "no open transaction" check.
import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  IS_CONTROL,
  IS_TRANSACTIONAL,
  ListOffsetTimestamps,
  Producer,
} from '@platformatic/kafka';

export interface SeenRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly timestamp: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface Committed {
  /** Committed and non-transactional records, per partition in the order they became visible. */
  readonly records: SeenRecord[];
  /** Records of transactions with no control record yet. */
  readonly open: number;
  /** Records of aborted transactions. */
  readonly aborted: number;
  /** Per partition: [last stable offset, high watermark]. */
  readonly ends: ReadonlyMap<number, readonly [number, number]>;
}

/** Short retries: the broker answers "coordinator loading" and CONCURRENT_TRANSACTIONS for a moment at times. */
export const RETRY = {
  retries: 30,
  retryDelay: (_c: unknown, _op: string, attempt: number) => Math.min(25 * 2 ** attempt, 1000),
};

export async function readCommitted(bootstrap: string, topic: string): Promise<Committed> {
  const c = new Consumer({
    clientId: 'oracle',
    groupId: 'oracle-unused',
    bootstrapBrokers: [bootstrap],
    isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
    ...RETRY,
  });
  try {
    const meta = await c.metadata({ topics: [topic], forceUpdate: true });
    const t = meta.topics.get(topic);
    if (t === undefined) throw new Error(`no topic ${topic}`);
    const list = async (ts: bigint, level: number) =>
      (await c.listOffsets({ topics: [topic], timestamp: ts, isolationLevel: level })).get(topic) ?? [];
    const hw = await list(ListOffsetTimestamps.LATEST, FetchIsolationLevels.READ_UNCOMMITTED);
    const lso = await list(ListOffsetTimestamps.LATEST, FetchIsolationLevels.READ_COMMITTED);
    const start = await list(ListOffsetTimestamps.EARLIEST, FetchIsolationLevels.READ_UNCOMMITTED);
    const records: SeenRecord[] = [];
    let open = 0;
    let aborted = 0;
    const ends = new Map<number, readonly [number, number]>();
    for (let p = 0; p < t.partitionsCount; p++) {
      const end = Number(hw[p]);
      ends.set(p, [Number(lso[p]), end]);
      const held = new Map<bigint, SeenRecord[]>();
      let pos = Number(start[p]);
      while (pos < end) {
        const r = await c.fetch({
          node: t.partitions[p].leader,
          topics: [
            {
              topicId: t.id,
              partitions: [
                {
                  partition: p,
                  fetchOffset: BigInt(pos),
                  partitionMaxBytes: 1 << 20,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                },
              ],
            },
          ],
          maxWaitTime: 0,
          minBytes: 0,
          maxBytes: 1 << 20,
          isolationLevel: FetchIsolationLevels.READ_UNCOMMITTED,
        });
        const batches = r.responses[0]?.partitions[0]?.records ?? [];
        if (batches.length === 0) break;
        for (const b of batches) {
          const first = Number(b.firstOffset);
          pos = Math.max(pos, first + b.lastOffsetDelta + 1);
          if (b.attributes & IS_CONTROL) {
            const type = b.records[0]?.key?.readInt16BE(2);
            const txn = held.get(b.producerId) ?? [];
            held.delete(b.producerId);
            if (type === 1) records.push(...txn);
            else aborted += txn.length;
            continue;
          }
          for (const rec of b.records) {
            const offset = first + rec.offsetDelta;
            if (offset < Number(start[p])) continue;
            const seen: SeenRecord = {
              partition: p,
              offset,
              key: rec.key === null ? null : rec.key.toString('utf8'),
              value: rec.value,
              timestamp: Number(b.firstTimestamp + rec.timestampDelta),
              headers: Object.fromEntries(rec.headers.map(([k, v]) => [k?.toString() ?? '', v?.toString() ?? ''])),
            };
            if (b.attributes & IS_TRANSACTIONAL) {
              const txn = held.get(b.producerId) ?? [];
              txn.push(seen);
              held.set(b.producerId, txn);
            } else records.push(seen);
          }
        }
      }
      for (const txn of held.values()) open += txn.length;
    }
    return { records, open, aborted, ends };
  } finally {
    await new Promise<void>((resolve) => c.close(true, () => resolve()));
  }
}

/** The values of committed records as text, e.g. to compare with what was written. */
export function texts(c: Committed): string[] {
  return c.records.map((r) => r.value?.toString('utf8') ?? '');
}

/** Whether every partition's last stable offset equals its high watermark: no transaction is open. */
export function settled(c: Committed): boolean {
  return [...c.ends.values()].every(([lso, hw]) => lso === hw);
}

export async function createTopic(bootstrap: string, topic: string, partitions: number): Promise<void> {
  const admin = new Admin({ clientId: 'test-admin', bootstrapBrokers: [bootstrap], ...RETRY });
  try {
    await admin.createTopics({ topics: [topic], partitions, replicas: 1 });
  } finally {
    await admin.close();
  }
}

/** A plain producer for test input (Buffers in, Buffers out). */
export function testProducer(bootstrap: string, transactionalId?: string): Producer {
  return new Producer({
    clientId: transactionalId ?? 'test-producer',
    bootstrapBrokers: [bootstrap],
    // Idempotent: a produce retried after a timeout on a busy machine must not write its records twice.
    idempotent: true,
    ...(transactionalId === undefined ? {} : { transactionalId }),
    acks: -1,
    ...RETRY,
  });
}

export function closeProducer(p: Producer): Promise<void> {
  return new Promise((resolve) => p.close(true, () => resolve()));
}

/**
 * The rows the sink crash child writes in epoch e: e * 7 % 23 + 5 of them (a count per epoch), ids `e:i`, event times
 * from `base` (a recent time: brokers refuse timestamps over an hour ahead and retention deletes old ones).
 */
export function rowsOf(epoch: number, base: number): { id: string; epoch: number; n: number; at: number }[] {
  const n = ((epoch * 7) % 23) + 5;
  return Array.from({ length: n }, (_, i) => ({ id: `${epoch}:${i}`, epoch, n: i, at: base + epoch * 1000 + i }));
}
