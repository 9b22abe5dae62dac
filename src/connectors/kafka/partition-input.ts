import { type Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import type { Contract } from '../../flow/contract.ts';
import type { KafkaStorage } from '../../flow/kafka-storage.ts';
import { type BatchBuilder, emptyBatch, finishBuilder, newColumns } from '../../runtime/batch.ts';
import type { SourceChunk, SourceReader } from '../../runtime/execute.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { type KafkaConnection, kafkaFailure } from './client.ts';
import { type FetchedRecord, RecordDecoder } from './codec.ts';
import { Aborted, type FetchedPartition, fetchPartition, partitionOffset, visibleRecords } from './fetch.ts';
import { progressOf, UpstreamProgress } from './progress.ts';

/**
 * Chunks end at offsets that are multiples of this (and at the end of a range): a source's watermark is derived per
 * chunk, so a range must chunk the same however the fetches that read it fell, or a replayed epoch would rebuild
 * other state than the run that committed it.
 */
export const CHUNK_OFFSETS = 4096;
const FETCH_BYTES = 4 << 20;

/** A partition of a Kafka topic as seen by a worker: where it starts and ends, and its leader. */
interface PartitionMeta {
  readonly topicId: string;
  readonly leader: number;
}

/**
 * One partition of a Kafka topic read directly as the input of a worker's epochs: offsets are Kafka offsets, `end`
 * the partition's last stable offset (read_committed: nothing of an open transaction), and a range is read with
 * aborted transactions and control records skipped, its records checked by the contract (bad ones quarantined at
 * `kafka:<topic>/<partition>`, record number = offset).
 */
export class KafkaPartitionInput {
  private readonly decoder: RecordDecoder;
  private meta: PartitionMeta | undefined;
  /** A progress record was read since the last chunk: the next chunk carries the new watermark, rows or not. */
  private moved = false;
  private ends = 0;
  private starts = 0;
  private readonly what: string;

  /** A repartition topic's: the watermark its upstream tasks' progress records give (see progress.ts). */
  private readonly progress: UpstreamProgress | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly conn: KafkaConnection,
    private readonly storage: KafkaStorage,
    readonly dataset: string,
    private readonly contract: Contract,
    readonly partition: number,
    /** For a repartition topic: how many upstream partition tasks write it, and after how long one is idle. */
    upstream?: { readonly partitions: number; readonly idleMs?: number },
  ) {
    this.decoder = new RecordDecoder(storage, contract);
    this.progress = upstream === undefined ? undefined : new UpstreamProgress(upstream.partitions, upstream.idleMs);
    this.what = `dataset ${dataset}: kafka topic ${storage.topic} partition ${partition} (${conn.reference})`;
  }

  /** Where a new output of this partition starts: the storage's `startFrom`, resolved for this partition. */
  get start(): number {
    return this.starts;
  }

  /** Just past the last committed record, as of the last `refresh`. */
  get end(): number {
    return this.ends;
  }

  /** Looks up the partition's leader, its start for `startFrom`, and its end; checks `startFrom` against retention. */
  async open(): Promise<void> {
    await this.lookUp(false);
    const earliest = await this.offset(ListOffsetTimestamps.EARLIEST);
    const latest = await this.offset(ListOffsetTimestamps.LATEST);
    const s = this.storage.startFrom;
    let at: number;
    if (s === 'earliest') at = earliest;
    else if (s === 'latest') at = latest;
    else if ('time' in s) {
      const t = await this.offset(BigInt(Date.parse(s.time)));
      at = t < 0 ? latest : t;
    } else at = typeof s.offset === 'number' ? s.offset : (s.offset[String(this.partition)] ?? earliest);
    this.starts = Math.min(Math.max(at, 0), latest);
    this.ends = latest;
  }

  /** Reads the partition's last stable offset again. */
  async refresh(): Promise<number> {
    this.ends = await this.offset(ListOffsetTimestamps.LATEST);
    return this.ends;
  }

  /** Checks that `from` is still held by the partition: retention must not have deleted what an epoch reads. */
  async assertHeld(from: number): Promise<void> {
    const earliest = await this.offset(ListOffsetTimestamps.EARLIEST);
    if (from < earliest)
      throw new Error(
        `${this.what}: napkin needs offsets from ${from}, but the partition starts at ${earliest}: retention deleted records of the flow's current output, so its state cannot be rebuilt; raise the topic's retention, or start a new output of the flow`,
      );
  }

  /** A repartition topic's upstream watermarks carry from epoch to epoch: a snapshot keeps them. */
  snapshot(): unknown {
    return this.progress === undefined ? undefined : { progress: this.progress.snapshot(), moved: this.moved };
  }

  restore(state: unknown): void {
    const s = state as { progress: unknown; moved: boolean };
    this.progress?.restore(s.progress);
    this.moved = s.moved;
  }

  /** Reads offsets [from, to): chunks end at multiples of {@link CHUNK_OFFSETS} and at `to`. */
  read(range: { readonly from: number; readonly to: number }): SourceReader {
    return { chunks: () => this.chunks(range.from, range.to) };
  }

  private async *chunks(from: number, to: number): AsyncIterable<SourceChunk> {
    if (from >= to) return;
    await this.assertHeld(from);
    const width = this.contract.schema.fields.length;
    let builder: BatchBuilder = { length: 0, columns: newColumns(width) };
    let rejected: QuarantineEntry[] = [];
    let pending: FetchedRecord[] = [];
    const aborted = new Aborted();
    const flush = (done: number): SourceChunk => {
      this.decoder.decode(this.partition, pending, builder, rejected);
      const wm = this.progress?.watermark;
      const chunk: SourceChunk = {
        batch: builder.length === 0 ? emptyBatch(width) : finishBuilder(builder),
        rejected,
        progress: { done: done - from, total: to - from },
        ...(wm === undefined ? {} : { watermark: wm }),
      };
      builder = { length: 0, columns: newColumns(width) };
      rejected = [];
      pending = [];
      this.moved = false;
      return chunk;
    };
    let pos = from;
    let boundary = (Math.floor(from / CHUNK_OFFSETS) + 1) * CHUNK_OFFSETS;
    while (pos < to) {
      const fetched: FetchedRecord[] = [];
      const next = visibleRecords(await this.fetch(pos), aborted, pos, to, (r) => fetched.push(r));
      for (const r of fetched) {
        while (r.offset >= boundary) {
          if (pending.length > 0 || builder.length > 0 || this.moved) yield flush(boundary);
          boundary += CHUNK_OFFSETS;
        }
        const p = this.progress === undefined ? undefined : progressOf(r);
        if (p === undefined) pending.push(r);
        else {
          // Rows read so far come before the progress that follows them (M1: the chunk's watermark is after its rows).
          this.decoder.decode(this.partition, pending, builder, rejected);
          pending = [];
          (this.progress as UpstreamProgress).take(p);
          this.moved = true;
        }
      }
      if (next === pos)
        throw new Error(
          `${this.what}: reading offsets ${pos}–${to - 1} found nothing at ${pos}, though the partition's stable end was ${this.ends}: the partition was truncated or recreated`,
        );
      pos = Math.min(next, to);
    }
    if (pending.length > 0 || builder.length > 0 || this.moved) yield flush(to);
  }

  private async fetch(pos: number): Promise<FetchedPartition> {
    for (let attempt = 0; ; attempt++) {
      const meta = await this.lookUp(attempt > 0);
      try {
        return await fetchPartition(
          this.consumer,
          { topicId: meta.topicId, node: meta.leader, partition: this.partition },
          pos,
          FETCH_BYTES,
        );
      } catch (e) {
        // A leader that moved answers NOT_LEADER: look it up again, once.
        if (attempt > 0) throw kafkaFailure(`${this.what}: fetching offset ${pos} failed`, e, this.conn);
      }
    }
  }

  private async lookUp(force: boolean): Promise<PartitionMeta> {
    if (this.meta !== undefined && !force) return this.meta;
    const topic = this.storage.topic;
    let meta: Awaited<ReturnType<Consumer['metadata']>>;
    try {
      meta = await this.consumer.metadata({ topics: [topic], autocreateTopics: false, forceUpdate: force });
    } catch (e) {
      throw kafkaFailure(`${this.what}: looking the topic up failed`, e, this.conn);
    }
    const t = meta.topics.get(topic);
    const p = t?.partitions[this.partition];
    if (t === undefined || p === undefined)
      throw new Error(
        `${this.what}: the topic or the partition does not exist; create it or fix the dataset's storage`,
      );
    this.meta = { topicId: t.id, leader: p.leader };
    return this.meta;
  }

  private async offset(timestamp: bigint): Promise<number> {
    try {
      return await partitionOffset(this.consumer, this.storage.topic, this.partition, timestamp);
    } catch (e) {
      throw kafkaFailure(`${this.what}: listing offsets failed`, e, this.conn);
    }
  }
}
