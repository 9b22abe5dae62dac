import { setTimeout as sleep } from 'node:timers/promises';
import { type Admin, type Consumer, FetchIsolationLevels } from '@platformatic/kafka';
import { COMMITS_TOPIC, errorIds, type KafkaConnection, kafkaFailure } from './client.ts';
import { Aborted, type FetchedPartition, fetchPartition, visibleRecords } from './fetch.ts';

/**
 * Commit keys of napkin's Kafka sinks (spec reliability §2.4, §2.5). Every transaction a sink commits holds, besides
 * its rows, one record in the compacted topic `__napkin_commits` (partition 0): key the sink's transactional id
 * (`napkin.<flow>.<sink>.<partition>`), value the commit key as JSON. It commits or aborts with the rows, so a
 * read_committed reader sees it exactly when the rows are there; the latest record of a transactional id names the
 * last epoch its sink committed (epochs only grow), and compaction keeps just that one.
 */
export interface CommitRecord {
  readonly flow: string;
  readonly sink: string;
  readonly partition: string;
  readonly epoch: number;
  readonly fingerprint: string;
  readonly topic: string;
  readonly records: number;
  /** When the transaction was committed, ISO 8601. */
  readonly at: string;
}

/** A topic napkin creates when it is missing: one partition, compacted, unless said otherwise. */
export interface TopicSpec {
  readonly name: string;
  /** Omitted: the brokers' default partition count and cleanup policy (an output topic). */
  readonly partitions?: number;
  readonly configs?: readonly { readonly name: string; readonly value: string }[];
}

/** Creates the topics that are missing (a concurrent creator is no error); returns the names it created. */
export async function createMissingTopics(
  admin: Admin,
  specs: readonly TopicSpec[],
  c: KafkaConnection,
  what: string,
): Promise<string[]> {
  const created: string[] = [];
  const existing = new Set(await admin.listTopics({ includeInternals: true }));
  for (const t of specs) {
    if (existing.has(t.name)) continue;
    try {
      await admin.createTopics({
        topics: [t.name],
        ...(t.partitions === undefined ? {} : { partitions: t.partitions }),
        ...(t.configs === undefined ? {} : { configs: [...t.configs] }),
      });
      created.push(t.name);
    } catch (e) {
      if (!errorIds(e).includes('TOPIC_ALREADY_EXISTS'))
        throw kafkaFailure(`${what}: creating topic ${t.name} failed`, e, c, `create it by hand, or grant the rights`);
    }
  }
  return created;
}

/** A one-partition compacted topic of napkin's own records. */
export function compactedTopic(name: string): TopicSpec {
  return { name, partitions: 1, configs: [{ name: 'cleanup.policy', value: 'compact' }] };
}

/** Creates `__napkin_commits` (one partition, compacted) when it is missing, and the sink's output topic. */
export function ensureTopics(admin: Admin, topic: string, c: KafkaConnection, what: string): Promise<string[]> {
  const commits = compactedTopic(COMMITS_TOPIC);
  return createMissingTopics(
    admin,
    [
      { ...commits, configs: [...(commits.configs ?? []), { name: 'segment.ms', value: String(3_600_000) }] },
      { name: topic },
    ],
    c,
    what,
  );
}

/**
 * The last commit record of `transactionalId`, read with read_committed. Call it after `initTransactions`: that
 * settles the transactional id's own last transaction (aborted, or completed when its commit had begun), so what is
 * committed is final. Another producer's transaction still open on the partition holds its last stable offset back;
 * this waits (up to `waitMs`) until the stable offset reaches the end seen at the start, so a commit record is never
 * missed, then reads backwards from the end, in growing windows, until the transactional id's latest record.
 */
export async function lastCommit(
  consumer: Consumer,
  transactionalId: string,
  c: KafkaConnection,
  what: string,
  waitMs: number,
): Promise<CommitRecord | undefined> {
  const fail = (step: string, e: unknown) => kafkaFailure(`${what}: ${step} of ${COMMITS_TOPIC} failed`, e, c);
  const { t, start, end } = await stableBounds(consumer, COMMITS_TOPIC, what, waitMs, fail);
  let hi = end;
  let window = 512;
  while (hi > start) {
    const lo = Math.max(start, hi - window);
    let found: CommitRecord | undefined;
    await readCommitted(consumer, t, lo, hi, fail, (key, value) => {
      if (value === null || key.toString('utf8') !== transactionalId) return;
      const rec = JSON.parse(value.toString('utf8')) as CommitRecord;
      if (found === undefined || rec.epoch >= found.epoch) found = rec;
    });
    if (found !== undefined) return found;
    hi = lo;
    window *= 4;
  }
  return undefined;
}

/** One partition of a topic: its name, id, number and leader. */
export interface TopicPartition {
  readonly topic: string;
  readonly id: string;
  readonly partition: number;
  readonly node: number;
}

/**
 * Reads offsets [lo, hi) of the partition with read_committed, handing each keyed record of a committed transaction
 * (or written outside any) to `onRecord` in offset order; a tombstone has a null value. Aborted transactions are
 * skipped as the Java consumer skips them (see `Aborted`).
 */
export async function readCommitted(
  consumer: Consumer,
  t: TopicPartition,
  lo: number,
  hi: number,
  fail: (step: string, e: unknown) => Error,
  onRecord: (key: Buffer, value: Buffer | null, offset: number) => void,
): Promise<void> {
  const aborted = new Aborted();
  let pos = lo;
  while (pos < hi) {
    let part: FetchedPartition;
    try {
      part = await fetchPartition(consumer, { topicId: t.id, node: t.node, partition: t.partition }, pos, 1 << 20);
    } catch (e) {
      throw fail(`reading offsets ${pos}–${hi - 1}`, e);
    }
    const next = visibleRecords(part, aborted, pos, hi, (r) => {
      if (r.key !== null) onRecord(r.key, r.value, r.offset);
    });
    // Nothing past `pos` below the stable offset: the rest of the range is gone (compaction) or empty.
    if (next === pos) break;
    pos = next;
  }
}

/**
 * Partition `partition` of `topic` and the offsets it holds, once every transaction open on it when this was called has ended
 * (its last stable offset reached the end seen at the start, waiting up to `waitMs`), so a read up to `end` misses no
 * committed record.
 */
export async function stableBounds(
  consumer: Consumer,
  topic: string,
  what: string,
  waitMs: number,
  fail: (step: string, e: unknown) => Error,
  partition = 0,
): Promise<{ readonly t: TopicPartition; readonly start: number; readonly end: number }> {
  let meta: Awaited<ReturnType<Consumer['metadata']>>;
  try {
    meta = await consumer.metadata({ topics: [topic], autocreateTopics: false, forceUpdate: true });
  } catch (e) {
    throw fail(`looking up partition ${partition}`, e);
  }
  const m = meta.topics.get(topic);
  if (m === undefined || m.partitions[partition] === undefined)
    throw new Error(`${what}: topic ${topic} is missing${m === undefined ? '' : ` its partition ${partition}`}`);
  const t: TopicPartition = { topic, id: m.id, partition, node: m.partitions[partition].leader };
  const offset = async (timestamp: bigint, isolationLevel: number): Promise<number> => {
    try {
      const r = await consumer.listOffsets({
        topics: [topic],
        partitions: { [topic]: [partition] },
        timestamp,
        isolationLevel,
      });
      return Number(r.get(topic)?.[partition] ?? 0n);
    } catch (e) {
      throw fail('listing the offsets', e);
    }
  };
  const end = await offset(-1n, FetchIsolationLevels.READ_UNCOMMITTED);
  const start = await offset(-2n, FetchIsolationLevels.READ_UNCOMMITTED);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const stable = await offset(-1n, FetchIsolationLevels.READ_COMMITTED);
    if (stable >= end) break;
    if (Date.now() > deadline)
      throw new Error(
        `${what}: another producer's transaction has been open on ${topic} for over ${Math.round(waitMs / 1000)} s (its last stable offset stays at ${stable}, the end is ${end}), so what is committed there cannot be read yet; run again once that transaction ends or times out`,
      );
    await sleep(100);
  }
  return { t, start, end };
}
