import { Consumer, FetchIsolationLevels, ListOffsetTimestamps } from '@platformatic/kafka';
import type { Contract } from '../../flow/contract.ts';
import type { KafkaStorage } from '../../flow/kafka-storage.ts';
import { BATCH_ROWS, type BatchBuilder, emptyBatch, finishBuilder, newColumns } from '../../runtime/batch.ts';
import type { SourceChunk } from '../../runtime/execute.ts';
import { type FrontierState, PartitionFrontier } from '../../runtime/partition-frontier.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { clientOptions, closeClient, errorIds, type KafkaConnection, kafkaFailure, resolveBrokers } from './client.ts';
import { type FetchedRecord, RecordDecoder } from './codec.ts';
import { Aborted, guardFetches, visibleRecords } from './fetch.ts';

/** Per partition (its number as text), the offset of the next record to read. */
export type KafkaPosition = Readonly<Record<string, number>>;

/**
 * A chunk of a Kafka source: its records and the position after them; with an event-time field, its
 * `eventFrontier` and each partition's newest event time (`partitionTimes`), which a restart resumes from.
 */
export interface KafkaChunk extends SourceChunk {
  readonly position: KafkaPosition;
  readonly partitionTimes?: Readonly<Record<string, number>>;
}

export interface KafkaSourceOptions {
  readonly storage: KafkaStorage;
  readonly dataset: string;
  readonly contract: Contract;
  /** Where the last ingestion stopped (the position in the topic's last marker); absent: `storage.startFrom`. */
  readonly from?: KafkaPosition;
  /** The event-time frontier in the topic's last marker, with each partition's newest event time. */
  readonly frontier?: FrontierState;
  /** Aborted on SIGINT/SIGTERM: the fetch under way finishes, its records are handed on, then the input ends. */
  readonly signal: AbortSignal;
  /** The processing-time clock `stopAfterIdle` is measured on. */
  readonly now: () => number;
  /** Bytes one fetch asks of the brokers (default 1 MiB, at most a quarter of it per partition). */
  readonly fetchBytes?: number;
}

/** How often the topic's partitions are looked up again, to pick up partitions added while the source runs. */
const METADATA_MS = 10_000;
const READ_COMMITTED = FetchIsolationLevels.READ_COMMITTED;

/**
 * Reads every partition of a Kafka topic with read_committed, without a consumer group (no group offsets are ever
 * committed: the position lives in napkin's log, spec reliability §2.5). Each fetch round (one fetch per partition
 * leader) gives one chunk: the records of every partition, validated against the contract, and the position after
 * them. Aborted transactions are skipped (the broker's aborted-transaction list, tracked across fetches until each
 * one's abort marker), control records only move the position. A position below a partition's log start (retention
 * deleted records napkin never read) or past its end stops the source with an error, never a silent reset.
 */
export class KafkaTail {
  private readonly decoder: RecordDecoder;
  private readonly positions = new Map<number, number>();
  /** Per partition, the aborted transactions the brokers listed and the producers inside one (see {@link Aborted}). */
  private readonly aborted = new Map<number, Aborted>();
  private topicId = '';
  private leaders = new Map<number, number>();
  private metadataAt = 0;
  private readonly what: string;
  /** Absent without an event-time field: nothing to hold a watermark back with. */
  private readonly frontier: PartitionFrontier | undefined;
  private readonly timeCol: number;

  private constructor(
    private readonly o: KafkaSourceOptions,
    private readonly conn: KafkaConnection,
    private readonly consumer: Consumer,
  ) {
    this.decoder = new RecordDecoder(o.storage, o.contract);
    this.what = `dataset ${o.dataset}: kafka topic ${o.storage.topic} (${conn.reference})`;
    const time = o.contract.eventTime;
    this.timeCol = time === undefined ? -1 : o.contract.schema.fields.findIndex((f) => f.name === time);
    this.frontier = this.timeCol < 0 ? undefined : new PartitionFrontier(o.storage.partitionIdleMs, o.frontier);
  }

  /** Connects, looks the topic up and settles where each partition starts. */
  static async open(o: KafkaSourceOptions): Promise<KafkaTail> {
    const conn = resolveBrokers(o.storage.brokers);
    const consumer = new Consumer({
      ...clientOptions(conn, `napkin-source-${o.dataset}`),
      // Required by the client; never joined: napkin fetches partitions itself and commits no group offsets.
      groupId: `napkin-source-${o.dataset}`,
      isolationLevel: READ_COMMITTED,
    });
    const tail = new KafkaTail(o, conn, guardFetches(consumer));
    try {
      await tail.refresh(true);
      await tail.start();
    } catch (e) {
      await tail.close();
      throw e;
    }
    return tail;
  }

  /** Where the next record of each partition is read from. */
  get position(): KafkaPosition {
    return Object.fromEntries([...this.positions].sort((a, b) => a[0] - b[0]).map(([p, n]) => [String(p), n]));
  }

  /**
   * Fetch rounds until the signal aborts or, with `stopAfterIdle`, no record came for that long (then one more round
   * takes whatever arrived meanwhile). Rounds that bring nothing but control records yield an empty chunk with the
   * moved position, and so do rounds after which the event-time frontier rose (a partition turned idle); rounds that
   * change nothing yield nothing.
   */
  async *chunks(): AsyncIterable<KafkaChunk> {
    const { signal, now } = this.o;
    const idleStop = this.o.storage.stopAfterIdleMs;
    let lastData = now();
    while (!signal.aborted) {
      const chunk = await this.round(this.o.storage.pollMs);
      if (chunk !== undefined) {
        if (chunk.batch.length > 0 || chunk.rejected.length > 0) lastData = now();
        yield chunk;
      }
      if (idleStop !== undefined && now() - lastData >= idleStop) {
        const last = await this.round(0);
        if (last !== undefined) yield last;
        return;
      }
    }
  }

  async close(): Promise<void> {
    await closeClient(this.consumer);
  }

  /**
   * One fetch per leader, in parallel; the records of every partition in one chunk. Each round is one idleness
   * probe of the partitions (M7.2), so a partition's silence is measured in rounds the others were read in.
   */
  private async round(maxWaitMs: number): Promise<KafkaChunk | undefined> {
    if (Date.now() - this.metadataAt > METADATA_MS) await this.refresh(false);
    const byLeader = new Map<number, number[]>();
    for (const p of this.positions.keys()) {
      const leader = this.leaders.get(p) as number;
      byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
    }
    const width = this.o.contract.schema.fields.length;
    const builder: BatchBuilder = { length: 0, columns: newColumns(width, BATCH_ROWS) };
    const rejected: QuarantineEntry[] = [];
    let moved = false;
    const total = this.o.fetchBytes ?? 1 << 20;
    const per = Math.max(64 * 1024, Math.floor(total / 4));
    const responses = await Promise.all(
      [...byLeader].map(async ([node, partitions]) => {
        const requested = new Map(partitions.map((p) => [p, this.positions.get(p) as number]));
        try {
          const r = await this.consumer.fetch({
            node,
            topics: [
              {
                topicId: this.topicId,
                partitions: partitions.map((partition) => ({
                  partition,
                  fetchOffset: BigInt(requested.get(partition) as number),
                  partitionMaxBytes: per,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                })),
              },
            ],
            maxWaitTime: maxWaitMs,
            minBytes: 1,
            maxBytes: total,
            isolationLevel: READ_COMMITTED,
          });
          return { r, requested };
        } catch (e) {
          throw this.fetchFailure(e, partitions, requested);
        }
      }),
    );
    for (const { r, requested } of responses) {
      for (const t of r.responses) {
        for (const part of t.partitions.sort((a, b) => a.partitionIndex - b.partitionIndex)) {
          const p = part.partitionIndex;
          const from = requested.get(p);
          if (from === undefined) continue;
          const records: FetchedRecord[] = [];
          const next = visibleRecords(part, this.abortedOf(p), from, Number.POSITIVE_INFINITY, (r) => records.push(r));
          if (next !== from) {
            this.positions.set(p, next);
            moved = true;
          }
          const before = builder.length;
          this.decoder.decode(p, records, builder, rejected);
          if (records.length > 0) this.frontier?.observe(p, builder.columns[this.timeCol], before, builder.length);
        }
      }
    }
    const rose = this.frontier?.probe(this.o.now()) ?? false;
    if (!moved && !rose) return undefined;
    const batch = builder.length === 0 ? emptyBatch(width) : finishBuilder(builder);
    const f = this.frontier;
    return {
      batch,
      rejected,
      position: this.position,
      ...(f === undefined ? {} : { eventFrontier: f.frontier, partitionTimes: f.state.times }),
    };
  }

  private abortedOf(p: number): Aborted {
    let m = this.aborted.get(p);
    if (m === undefined) {
      m = new Aborted();
      this.aborted.set(p, m);
    }
    return m;
  }

  /** Looks the topic's partitions and their leaders up; a partition added since starts at its earliest offset. */
  private async refresh(first: boolean): Promise<void> {
    const topic = this.o.storage.topic;
    let meta: Awaited<ReturnType<Consumer['metadata']>>;
    try {
      meta = await this.consumer.metadata({ topics: [topic], autocreateTopics: false, forceUpdate: !first });
    } catch (e) {
      const unknown = /Unknown topic/i.test((e as Error).message) || errorIds(e).includes('UNKNOWN_TOPIC_OR_PARTITION');
      throw kafkaFailure(
        `${this.what}: looking the topic up failed`,
        e,
        this.conn,
        unknown ? `create the topic, or fix the topic name in the dataset's storage` : undefined,
      );
    }
    const t = meta.topics.get(topic);
    if (t === undefined) throw new Error(`${this.what}: the topic does not exist; create it or fix its name`);
    this.topicId = t.id;
    this.leaders = new Map(t.partitions.map((p, i) => [i, p.leader]));
    this.metadataAt = Date.now();
    if (first) return;
    const added = [...this.leaders.keys()].filter((p) => !this.positions.has(p));
    if (added.length === 0) return;
    const start = await this.offsets(ListOffsetTimestamps.EARLIEST, added);
    for (const p of added) {
      this.positions.set(p, start.get(p) as number);
      this.frontier?.add(p);
    }
  }

  /** Settles the start of every partition: the positions given, else `startFrom`; checks them against retention. */
  private async start(): Promise<void> {
    const partitions = [...this.leaders.keys()];
    const earliest = await this.offsets(ListOffsetTimestamps.EARLIEST, partitions);
    const latest = await this.offsets(ListOffsetTimestamps.LATEST, partitions);
    const from = this.o.from;
    if (from !== undefined) {
      for (const p of partitions) {
        const n = from[String(p)];
        // A partition added after the last ingestion: every record it holds is new.
        this.positions.set(p, n ?? (earliest.get(p) as number));
      }
      for (const key of Object.keys(from))
        if (!this.leaders.has(Number(key)))
          throw new Error(
            `${this.what}: napkin's log has read partition ${key}, which the topic no longer has; was the topic deleted and created again? Reset the dataset's topic to read it afresh`,
          );
    } else {
      const s = this.o.storage.startFrom;
      const at =
        s === 'earliest'
          ? earliest
          : s === 'latest'
            ? latest
            : 'time' in s
              ? await this.offsets(BigInt(Date.parse(s.time)), partitions, latest)
              : new Map(
                  partitions.map((p) => [
                    p,
                    typeof s.offset === 'number' ? s.offset : (s.offset[String(p)] ?? (earliest.get(p) as number)),
                  ]),
                );
      for (const p of partitions) this.positions.set(p, at.get(p) as number);
    }
    for (const p of partitions) {
      const n = this.positions.get(p) as number;
      const lo = earliest.get(p) as number;
      const hi = latest.get(p) as number;
      if (n < lo)
        throw new Error(
          `${this.what}: partition ${p} starts at offset ${lo} but napkin ${from === undefined ? 'was asked to start' : 'resumes'} at ${n}: records ${n}–${lo - 1} were deleted by retention before napkin read them; napkin never skips records silently (raise the topic's retention, or reset the dataset's topic and start from 'earliest' to accept the gap)`,
        );
      if (n > hi && from !== undefined)
        throw new Error(
          `${this.what}: partition ${p} ends at offset ${hi} but napkin's log resumes at ${n}: the topic was deleted and created again, or truncated; reset the dataset's topic to read it afresh`,
        );
      if (n > hi) this.positions.set(p, hi);
      this.frontier?.add(p);
    }
  }

  /** Offsets per partition for a timestamp (or EARLIEST/LATEST); `fallback` where none is stamped that late. */
  private async offsets(
    timestamp: bigint,
    partitions: readonly number[],
    fallback?: ReadonlyMap<number, number>,
  ): Promise<Map<number, number>> {
    const topic = this.o.storage.topic;
    try {
      const r = await this.consumer.listOffsets({
        topics: [topic],
        partitions: { [topic]: [...partitions] },
        timestamp,
        isolationLevel: READ_COMMITTED,
      });
      const got = r.get(topic) ?? [];
      return new Map(
        partitions.map((p) => {
          const n = got[p];
          return [p, n === undefined || n < 0n ? (fallback?.get(p) as number) : Number(n)];
        }),
      );
    } catch (e) {
      throw kafkaFailure(`${this.what}: listing offsets failed`, e, this.conn);
    }
  }

  private fetchFailure(e: unknown, partitions: readonly number[], requested: ReadonlyMap<number, number>): Error {
    if (errorIds(e).includes('OFFSET_OUT_OF_RANGE'))
      return new Error(
        `${this.what}: fetching partitions ${partitions.join(', ')} at offsets ${partitions.map((p) => requested.get(p)).join(', ')} failed: an offset is outside its partition (retention deleted records napkin had not read, or the topic was recreated); napkin never resets a position silently: raise the retention, or reset the dataset's topic`,
      );
    return kafkaFailure(`${this.what}: fetching failed`, e, this.conn);
  }
}
