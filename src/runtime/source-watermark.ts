import type { Value } from '../expr/types.ts';
import { MIN_TIMESTAMP } from '../time/timestamps.ts';
import { boundOf, type WatermarkStrategy } from '../time/watermarks.ts';

/**
 * The running state of one source's watermark strategy (M6, M7). `observe` is called once per chunk, after the
 * chunk's records, so a record older than the watermark of an earlier chunk is late downstream.
 */
export class SourceWatermark {
  private maxSeen = MIN_TIMESTAMP;
  private published = MIN_TIMESTAMP;
  private sawRecord = false;
  private countdownFrom: number | undefined;
  private readonly bound: number;

  constructor(private readonly strategy: WatermarkStrategy) {
    this.bound = boundOf(strategy);
  }

  /**
   * Takes the event times of one chunk; returns the new watermark when it rose, else undefined (M1: publish only
   * increases). Null times (an optional event-time column) say nothing about progress.
   */
  observe(times: readonly Value[], n: number): number | undefined {
    let max = this.maxSeen;
    for (let i = 0; i < n; i++) {
      const t = times[i];
      if (typeof t === 'number' && t > max) max = t;
    }
    return this.observeFrontier(max, n);
  }

  /**
   * Takes a partitioned source's event-time frontier after a chunk of `n` records (see `PartitionFrontier`): the
   * newest time every partition that counts has reached stands for the newest time seen.
   */
  observeFrontier(frontier: number, n: number): number | undefined {
    if (n > 0) this.sawRecord = true;
    const max = Math.max(this.maxSeen, frontier);
    this.maxSeen = max;
    // Guard the subtraction: before the first record, maxSeen is MIN and the watermark stays there (M6).
    if (max === MIN_TIMESTAMP) return undefined;
    const wm = Math.max(MIN_TIMESTAMP, max - this.bound);
    if (wm <= this.published) return undefined;
    this.published = wm;
    return wm;
  }

  get watermark(): number {
    return this.published;
  }

  /** The processing time without records after which the source is idle (M7), if the strategy sets one. */
  get idleTimeoutMs(): number | undefined {
    return this.strategy.idleTimeoutMs;
  }

  /**
   * A periodic idleness probe at processing time `now` (M7.2): the countdown starts at the first probe that saw no
   * record since the previous one; the source is idle once strictly more than the timeout has passed since then.
   */
  probe(now: number): boolean {
    const timeout = this.strategy.idleTimeoutMs;
    if (timeout === undefined) return false;
    if (this.sawRecord) {
      this.sawRecord = false;
      this.countdownFrom = undefined;
      return false;
    }
    if (this.countdownFrom === undefined) this.countdownFrom = now;
    return now - this.countdownFrom > timeout;
  }
}
