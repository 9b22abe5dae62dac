import type { Stage } from '../plan/stage.ts';
import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../time/timestamps.ts';
import type { FlowIO, SourceChunk, SourceReader } from './execute.ts';
import type { Output, StageMetrics } from './operator.ts';
import { describeEntry } from './quarantine.ts';
import { RunError } from './run-error.ts';
import type { SourceWatermark } from './source-watermark.ts';
import { restoreFields } from './state-codec.ts';

/** What a {@link SourceRun} reads and where it sends it. */
export interface SourceRunSpec {
  readonly out: Output;
  readonly metrics: StageMetrics;
  /** The source's watermark strategy (M6, M7), if it is read with one. */
  readonly strategy?: SourceWatermark;
  /** The event-time column the strategy reads, or −1. */
  readonly timeCol: number;
  readonly io: FlowIO;
  readonly flow: string;
}

/**
 * One source of a run, driven chunk by chunk by `driveSources`: its reader, at most one outstanding `next()`, the
 * watermark it published and whether it is idle (M7). The settled result of `next()` waits here until the driver
 * takes it, so the driver can choose among the sources that are ready without awaiting any of them.
 */
export class SourceRun {
  /** The last watermark published downstream (M1: only rises). */
  published = MIN_TIMESTAMP;
  idle = false;
  done = false;
  /** Only a source that waits for new data can be idle (M7); a bounded one ends with +∞ instead. */
  unbounded = false;
  private reader: SourceReader | undefined;
  /** Whether the reader's end is the end of the input (+∞), or only of one epoch's range of it. */
  private final = true;
  private iterator: AsyncIterator<SourceChunk> | undefined;
  private result: IteratorResult<SourceChunk> | undefined;
  private failure: { readonly error: unknown } | undefined;
  private pendingPromise: Promise<void> | undefined;
  private requestedAt = 0;
  private waitedMs = 0;
  private readonly onResult = (r: IteratorResult<SourceChunk>): void => this.settle(r, undefined);
  private readonly onError = (e: unknown): void => this.settle(undefined, { error: e });

  constructor(
    /** Position among the run's sources, in stage order: breaks ties between equally late sources. */
    readonly index: number,
    readonly stage: Stage,
    private readonly spec: SourceRunSpec,
  ) {}

  /**
   * Gives the source its reader for the next stretch of input: the whole input (`final`, the reader's end is M5's
   * +∞), or one epoch's range of a log, after which the source waits, watermark and state intact, for the next.
   */
  arm(reader: SourceReader, final: boolean): void {
    this.reader = reader;
    this.final = final;
    this.unbounded = reader.unbounded === true;
    this.done = false;
    this.iterator = undefined;
    this.result = undefined;
    this.failure = undefined;
    this.pendingPromise = undefined;
  }

  /** What the source keeps between epochs: its published watermark, idleness and strategy (for a snapshot). */
  snapshot(): unknown {
    return { published: this.published, idle: this.idle, strategy: this.spec.strategy ?? null };
  }

  restore(state: unknown): void {
    const s = state as { published: number; idle: boolean; strategy: SourceWatermark | null };
    this.published = s.published;
    this.idle = s.idle;
    if (this.spec.strategy !== undefined && s.strategy !== null)
      restoreFields(this.spec.strategy, s.strategy, `source ${this.stage.id}`);
  }

  /** Whether the outstanding `next()` has settled and waits to be taken. */
  get ready(): boolean {
    return this.result !== undefined || this.failure !== undefined;
  }

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** Settles (never rejects) when the outstanding `next()` does. */
  get pending(): Promise<void> | undefined {
    return this.pendingPromise;
  }

  /** The idleness timeout of an unbounded source with one (M7), else undefined. */
  get idleTimeoutMs(): number | undefined {
    return this.unbounded ? this.spec.strategy?.idleTimeoutMs : undefined;
  }

  /** Creates the iterator without reading: sources of one step are all created before any of them runs. */
  start(): void {
    if (this.reader === undefined) throw new Error(`source ${this.stage.id} was started without a reader`);
    this.iterator = this.reader.chunks()[Symbol.asyncIterator]();
  }

  /** Asks for the next chunk; the caller has taken the previous one. */
  request(): void {
    this.requestedAt = performance.now();
    this.pendingPromise = (this.iterator as AsyncIterator<SourceChunk>).next().then(this.onResult, this.onError);
  }

  /** The settled result; throws what the reader threw. */
  take(): IteratorResult<SourceChunk> {
    if (this.failure !== undefined) {
      this.done = true;
      throw this.failure.error;
    }
    const r = this.result as IteratorResult<SourceChunk>;
    this.result = undefined;
    this.pendingPromise = undefined;
    return r;
  }

  /** Hands one chunk downstream: quarantine, rows, then the watermark (M6); a record makes an idle source active. */
  absorb(chunk: SourceChunk): void {
    const t0 = performance.now();
    const { out, metrics: m, io, strategy, timeCol } = this.spec;
    m.in += chunk.batch.length + chunk.rejected.length;
    if (chunk.rejected.length > 0) this.quarantine(chunk);
    if (chunk.progress !== undefined) io.onProgress?.(this.stage, chunk.progress.done, chunk.progress.total);
    if (this.idle && chunk.batch.length > 0) {
      // M7.4: active again; downstream lets it rejoin once its watermark has caught up.
      this.idle = false;
      out.idle?.(false);
    }
    if (chunk.batch.length > 0) out.push(chunk.batch);
    const derived = timeCol < 0 ? undefined : this.derive(chunk, timeCol, strategy);
    const wm = Math.max(chunk.watermark ?? MIN_TIMESTAMP, derived ?? MIN_TIMESTAMP);
    // Downstream sees only rises (M1), so an input that already reached +∞ does not end twice.
    if (wm > this.published) {
      this.published = wm;
      out.watermark(wm);
    }
    m.ms += this.waitedMs + performance.now() - t0;
    this.waitedMs = 0;
  }

  /** The watermark the read stage's strategy derives from a chunk: from its partitions' frontier if it has one. */
  private derive(chunk: SourceChunk, timeCol: number, strategy: SourceWatermark | undefined): number | undefined {
    if (strategy === undefined) return undefined;
    const n = chunk.batch.length;
    if (chunk.eventFrontier !== undefined) return strategy.observeFrontier(chunk.eventFrontier, n);
    return strategy.observe(chunk.batch.columns[timeCol], n);
  }

  /** The reader is exhausted: the source is complete (M5), which no idle source is; or its epoch's range is read. */
  finish(): void {
    this.done = true;
    if (!this.final) return;
    const t0 = performance.now();
    const { out, metrics } = this.spec;
    if (this.idle) {
      this.idle = false;
      out.idle?.(false);
    }
    if (this.published < MAX_TIMESTAMP) {
      this.published = MAX_TIMESTAMP;
      out.watermark(MAX_TIMESTAMP);
    }
    metrics.ms += this.waitedMs + performance.now() - t0;
  }

  /** A periodic idleness probe at processing time `now` (M7.2); tells downstream when the source turns idle. */
  probe(now: number): void {
    if (this.done || this.idleTimeoutMs === undefined) return;
    if ((this.spec.strategy as SourceWatermark).probe(now) && !this.idle) {
      this.idle = true;
      this.spec.out.idle?.(true);
    }
  }

  /** Closes a reader the run no longer reads (another source failed); never throws. */
  async close(): Promise<void> {
    if (this.iterator === undefined || this.done) return;
    this.done = true;
    await this.iterator.return?.()?.catch(() => undefined);
  }

  private settle(r: IteratorResult<SourceChunk> | undefined, failure: { readonly error: unknown } | undefined): void {
    this.waitedMs += performance.now() - this.requestedAt;
    this.result = r;
    this.failure = failure;
  }

  private quarantine(chunk: SourceChunk): void {
    const { flow, io, metrics: m } = this.spec;
    const s = this.stage;
    const node = s.node;
    if (node?.op !== 'read') return;
    if (node.onInvalid === 'fail') {
      const first = chunk.rejected[0];
      throw new RunError(
        `flow ${flow}, stage ${s.id}: ${describeEntry(first)} (contract ${node.dataset.name} v${node.dataset.contract?.version ?? '?'}); fix the input, or read it with { onInvalid: 'quarantine', errorBudget: N } to set bad records aside`,
        flow,
        s.id,
      );
    }
    m.quarantined += chunk.rejected.length;
    io.quarantine(s, chunk.rejected);
    const budget = node.errorBudget ?? 0;
    if (budget !== 'unlimited' && m.quarantined > budget) {
      throw new RunError(
        `flow ${flow}, stage ${s.id}: ${m.quarantined} records quarantined, over the error budget of ${budget}; last: ${describeEntry(chunk.rejected[chunk.rejected.length - 1])}`,
        flow,
        s.id,
      );
    }
  }
}
