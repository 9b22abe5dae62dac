import {
  Consumer,
  FetchIsolationLevels,
  IS_CONTROL,
  IS_TRANSACTIONAL,
  kGetApi,
  ListOffsetTimestamps,
  type RecordsBatch,
} from '@platformatic/kafka';
import { clientOptions, closeClient, type KafkaConnection, kafkaFailure } from './client.ts';
import type { FetchedRecord } from './codec.ts';

/** One partition of a fetch response. */
export type FetchedPartition = Awaited<ReturnType<Consumer['fetch']>>['responses'][number]['partitions'][number];

/** Where a partition is: its topic id and leader, and its number. */
export interface PartitionAddress {
  readonly topicId: string;
  readonly node: number;
  readonly partition: number;
}

type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>;
type ApiCallback = (error: Error | null, response?: unknown) => void;
type FetchApi = (...args: unknown[]) => void;

const guarded = new WeakSet<Consumer>();

/**
 * Keeps @platformatic/kafka 1.35.0's own filter of read_committed fetches from taking the process down. The client
 * filters aborted transactions itself and throws, inside its socket handler where nothing can catch it, on an abort
 * marker whose producer the response's aborted-transaction list does not name; compaction leaves such markers in
 * `__napkin_epochs` (met in the worker tests: every worker then died at start). napkin filters aborted transactions
 * itself (`Aborted`), so each such marker is given a listed range that starts at the marker and holds nothing: the
 * client's filter then keeps every record, and napkin's own reading of the list is unchanged (the producer is inside
 * no transaction before its marker).
 */
export function guardFetches(consumer: Consumer): Consumer {
  if (guarded.has(consumer)) return consumer;
  guarded.add(consumer);
  const c = consumer as unknown as Record<typeof kGetApi, (name: string, callback: ApiCallback) => void>;
  const getApi = c[kGetApi].bind(consumer);
  c[kGetApi] = (name, callback) =>
    getApi(name, (error, api) => {
      if (name !== 'Fetch' || error !== null || typeof api !== 'function') return callback(error, api);
      const fetchApi = api as FetchApi;
      const wrapped: FetchApi = (...args) => {
        const done = args[args.length - 1] as ApiCallback;
        fetchApi(...args.slice(0, -1), (e: Error | null, response?: unknown) => {
          if (e === null && response !== undefined) listOrphanMarkers(response as FetchResponse);
          done(e, response);
        });
      };
      callback(null, Object.assign(wrapped, api));
    });
  return consumer;
}

function listOrphanMarkers(response: FetchResponse): void {
  for (const t of response.responses)
    for (const p of t.partitions) {
      const listed = p.abortedTransactions;
      if (p.records === undefined || listed === undefined || listed.length === 0) continue;
      const producers = new Set(listed.map((a) => a.producerId));
      for (const b of p.records)
        if (b.attributes & IS_CONTROL && b.records[0]?.key?.readInt16BE(2) === 0 && !producers.has(b.producerId)) {
          listed.push({ producerId: b.producerId, firstOffset: b.firstOffset });
          producers.add(b.producerId);
        }
    }
}

/** One read_committed fetch of one partition from `pos`, without waiting for records to arrive. */
export async function fetchPartition(
  consumer: Consumer,
  at: PartitionAddress,
  pos: number,
  maxBytes: number,
): Promise<FetchedPartition> {
  const r = await guardFetches(consumer).fetch({
    node: at.node,
    topics: [
      {
        topicId: at.topicId,
        partitions: [
          {
            partition: at.partition,
            fetchOffset: BigInt(pos),
            partitionMaxBytes: maxBytes,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          },
        ],
      },
    ],
    maxWaitTime: 0,
    minBytes: 0,
    maxBytes,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const part = r.responses[0]?.partitions[0];
  if (part === undefined) throw new Error(`the fetch response holds no partition ${at.partition}`);
  return part;
}

/**
 * The read_committed offset of one partition for a timestamp (ms), or for `ListOffsetTimestamps.EARLIEST`/`LATEST`
 * (its start, its last stable offset); −1 when no record is stamped that late.
 */
export async function partitionOffset(
  consumer: Consumer,
  topic: string,
  partition: number,
  timestamp: bigint,
): Promise<number> {
  const r = await consumer.listOffsets({
    topics: [topic],
    partitions: { [topic]: [partition] },
    timestamp,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  return Number(r.get(topic)?.[partition] ?? -1n);
}

/**
 * Hands the records of a fetched partition that a read_committed reader sees, with offsets from `pos` (a fetch starts
 * at the batch holding it) up to `to` (exclusive), to `onRecord` in offset order: control batches only move the
 * position, and transactional batches of an aborted transaction are skipped (`aborted` carries that state from fetch
 * to fetch). Returns the offset after the last batch read, or `pos` when the response held none.
 */
export function visibleRecords(
  part: FetchedPartition,
  aborted: Aborted,
  pos: number,
  to: number,
  onRecord: (r: FetchedRecord) => void,
): number {
  aborted.list(part.abortedTransactions);
  let next = pos;
  for (const b of part.records ?? []) {
    const last = b.firstOffset + BigInt(b.lastOffsetDelta);
    next = Math.max(next, Number(last) + 1);
    aborted.reach(last);
    if (b.attributes & IS_CONTROL) {
      // An abort marker ends its producer's aborted transaction; a commit marker carries nothing to read.
      if (isAbortMarker(b)) aborted.end(b.producerId);
      continue;
    }
    if (b.attributes & IS_TRANSACTIONAL && aborted.inside(b.producerId)) continue;
    const first = Number(b.firstOffset);
    for (const r of b.records) {
      const offset = first + r.offsetDelta;
      if (offset < pos || offset >= to) continue;
      onRecord({
        partition: part.partitionIndex,
        offset,
        timestamp: Number(b.firstTimestamp + r.timestampDelta),
        key: r.key,
        value: r.value,
        headers: r.headers,
      });
    }
  }
  return next;
}

/**
 * The aborted transactions of one partition, as the Java consumer tracks them: the brokers list, with each fetch,
 * the aborted transactions that overlap it (producer id, first offset); once the batches read reach a transaction's
 * first offset its producer is inside an aborted transaction, and its transactional batches are skipped until its
 * abort marker. The list and the state carry over from fetch to fetch, so a transaction whose marker comes in a
 * later fetch than its records is skipped all the same.
 */
export class Aborted {
  private pending: { readonly producer: bigint; readonly first: bigint }[] = [];
  private readonly active = new Set<bigint>();

  list(txns: readonly { readonly producerId: bigint; readonly firstOffset: bigint }[]): void {
    if (txns.length === 0) return;
    for (const t of txns)
      if (!this.pending.some((x) => x.producer === t.producerId && x.first === t.firstOffset))
        this.pending.push({ producer: t.producerId, first: t.firstOffset });
    this.pending.sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  }

  /** The batches read reach `last`: every listed transaction starting by then is under way. */
  reach(last: bigint): void {
    while (this.pending.length > 0 && this.pending[0].first <= last)
      this.active.add((this.pending.shift() as { producer: bigint }).producer);
  }

  inside(producer: bigint): boolean {
    return this.active.has(producer);
  }

  end(producer: bigint): void {
    this.active.delete(producer);
  }
}

/** An abort marker: a control batch whose record key has type 0 (ABORT; 1 is COMMIT). */
export function isAbortMarker(b: RecordsBatch): boolean {
  const key = b.records[0]?.key;
  return key !== null && key !== undefined && key.length >= 4 && key.readInt16BE(2) === 0;
}

/** The last stable offset of every partition of each topic (read_committed), for `napkin status`: `flow` names the client. */
export async function topicEnds(
  conn: KafkaConnection,
  flow: string,
  topics: readonly string[],
): Promise<Map<string, number[]>> {
  const c = new Consumer({
    ...clientOptions(conn, `napkin-status-${flow}`),
    groupId: `napkin-status-${flow}`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  try {
    const r = await c.listOffsets({
      topics: [...topics],
      timestamp: ListOffsetTimestamps.LATEST,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    return new Map(topics.map((t) => [t, (r.get(t) ?? []).map(Number)]));
  } catch (e) {
    throw kafkaFailure(`flow ${flow}: listing the ends of ${topics.join(', ')} failed`, e, conn);
  } finally {
    await closeClient(c);
  }
}
