import type { MessageToProduce } from '@platformatic/kafka';
import { restoreFields } from '../../runtime/state-codec.ts';
import { MinWatermark } from '../../runtime/watermark.ts';
import { MIN_TIMESTAMP } from '../../time/timestamps.ts';
import type { FetchedRecord } from './codec.ts';

/**
 * Watermarks across a worker's repartition topic. Each upstream partition task writes its rows to whichever partition
 * their key hashes to, so every downstream partition holds rows of every upstream task; a downstream task's watermark
 * is the minimum of the upstream tasks' (M2, "every partition of every upstream stage"), idle ones left out (M7). The
 * upstream tasks say how far they are with progress records: in the transaction of each epoch whose watermark or
 * idleness changed, one to every partition of the topic, after the epoch's rows. They carry the header below and no
 * key, and are never rows.
 */
export const PROGRESS_HEADER = 'napkin-progress';

export interface Progress {
  /** The upstream partition the record speaks for. */
  readonly from: number;
  readonly watermark: number;
  readonly idle: boolean;
}

/** One progress record per partition of `topic`. */
export function progressRecords(topic: string, partitions: number, p: Progress): MessageToProduce[] {
  const value = Buffer.from(JSON.stringify(p));
  return Array.from({ length: partitions }, (_, partition) => ({
    topic,
    partition,
    value,
    headers: new Map([[Buffer.from(PROGRESS_HEADER), Buffer.from('1')]]),
  }));
}

/** The progress a fetched record holds (`at`: the record's timestamp, its commit's time), or undefined for a row. */
export function progressOf(r: FetchedRecord): (Progress & { readonly at: number }) | undefined {
  if (!r.headers.some(([k]) => k !== null && k.toString('utf8') === PROGRESS_HEADER)) return undefined;
  const p = JSON.parse(Buffer.from(r.value ?? []).toString('utf8')) as Progress;
  if (!Number.isInteger(p.from) || typeof p.watermark !== 'number' || typeof p.idle !== 'boolean')
    throw new Error(`offset ${r.offset}: a progress record that is not one: ${JSON.stringify(p)}`);
  return { ...p, at: r.timestamp };
}

/**
 * A downstream partition's watermark from its upstream tasks' progress records, in the order they were read. An
 * upstream task says itself when its input is idle; one that says nothing (an empty partition never commits an epoch
 * that moves its watermark) counts as idle once the others' progress records, by their timestamps, are more than
 * `idleMs` past its last one (or past the first record of any, for one never heard from): M7 per upstream
 * partition, judged on time written in the topic, so every replay of the topic judges the same.
 */
export class UpstreamProgress {
  private readonly combined: MinWatermark;
  private readonly last: (number | undefined)[];
  private first: number | undefined;
  private clock = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly upstream: number,
    private readonly idleMs: number | undefined,
  ) {
    this.combined = new MinWatermark(upstream);
    this.last = new Array<number | undefined>(upstream).fill(undefined);
  }

  /** The fields that change as records are read, for a snapshot (the partition counts are configuration). */
  snapshot(): unknown {
    return { combined: this.combined, last: this.last, first: this.first, clock: this.clock };
  }

  restore(state: unknown): void {
    restoreFields(this, state, 'upstream progress');
  }

  take(p: Progress & { readonly at: number }): void {
    if (p.from < 0 || p.from >= this.upstream)
      throw new Error(`a progress record from upstream partition ${p.from}, of ${this.upstream}`);
    this.first ??= p.at;
    if (p.at > this.clock) this.clock = p.at;
    this.last[p.from] = p.at;
    if (this.combined.isIdle(p.from) !== p.idle) this.combined.setIdle(p.from, p.idle);
    this.combined.set(p.from, p.watermark);
    const timeout = this.idleMs;
    if (timeout === undefined) return;
    for (let q = 0; q < this.upstream; q++) {
      const since = this.last[q] ?? (this.first as number);
      if (!this.combined.isIdle(q) && this.clock - since > timeout) this.combined.setIdle(q, true);
    }
  }

  /** The combined watermark, or undefined while it is −∞. */
  get watermark(): number | undefined {
    const w = this.combined.current;
    return w > MIN_TIMESTAMP ? w : undefined;
  }
}
