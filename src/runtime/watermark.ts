import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../time/timestamps.ts';
import type { Output } from './operator.ts';

/** Counted in the minimum. */
const ACTIVE = 0;
/** Left out of the minimum (M7.3). */
const IDLE = 1;
/** Active again, but left out until its watermark catches up with the combined one (M7.4). */
const REJOINING = 2;

/**
 * The watermark of a multi-input operator: the minimum over its inputs (M2), leaving out idle inputs (M7).
 * `advance` records one input's new watermark and returns the combined one when it rose, else `undefined`, so a stage
 * publishes only increases (M1).
 *
 * Idleness, napkin's choices within M7: an input that turns active again rejoins the minimum only once its watermark
 * has reached the combined one (M7.4); when every unfinished input is idle, the combined watermark is the largest of
 * their last watermarks (M7.5). A complete input (+∞) is never idle and never lets the combined watermark reach +∞
 * while another input is merely idle: +∞ says the input is complete (M5), which an idle input has not promised.
 */
export class MinWatermark {
  private readonly inputs: number[];
  private status: Uint8Array;
  private combined = MIN_TIMESTAMP;
  private published = MIN_TIMESTAMP;

  constructor(ports: number) {
    this.inputs = new Array<number>(ports).fill(MIN_TIMESTAMP);
    this.status = new Uint8Array(ports);
  }

  /**
   * One more input, at −∞ and active: the combined watermark stays where it is (it never decreases) until the new
   * input passes it. Returns the new port.
   */
  addPort(): number {
    const port = this.inputs.length;
    this.inputs.push(MIN_TIMESTAMP);
    const status = new Uint8Array(port + 1);
    status.set(this.status);
    this.status = status;
    return port;
  }

  /** The combined watermark of the inputs (not necessarily published yet); it never decreases. */
  get current(): number {
    return this.combined;
  }

  /** A port's watermark; a step back is ignored (T6). */
  port(p: number): number {
    return this.inputs[p];
  }

  /** Records a port's watermark without publishing; returns whether the operator was idle before (for `sendStatus`). */
  set(port: number, wm: number): boolean {
    const wasIdle = this.allIdle;
    if (wm > this.inputs[port]) this.inputs[port] = wm;
    this.recompute();
    return wasIdle;
  }

  advance(port: number, wm: number): number | undefined {
    this.set(port, wm);
    return this.publish(this.current);
  }

  /**
   * A port's watermark for decisions about one side (a join's eviction and release): an input left out of the minimum
   * (idle, or active again but not caught up) counts as caught up with the combined watermark, since its records below
   * that are late (M7.3, M7.4). An active input's is its own.
   */
  effective(port: number): number {
    const w = this.inputs[port];
    return this.status[port] === ACTIVE || w >= this.combined ? w : this.combined;
  }

  /** Records that a port went idle or active again (M7.3, M7.4), without publishing; returns whether it was idle. */
  setIdle(port: number, idle: boolean): boolean {
    const wasIdle = this.allIdle;
    if (idle) this.status[port] = IDLE;
    else if (this.status[port] === IDLE) this.status[port] = REJOINING;
    this.recompute();
    return wasIdle;
  }

  /** Whether a port is idle (an active port still catching up is not). */
  isIdle(port: number): boolean {
    return this.status[port] === IDLE;
  }

  /** Whether the operator as a whole is idle: some input is idle and every other one is idle or complete. */
  get allIdle(): boolean {
    let idle = false;
    for (let p = 0; p < this.inputs.length; p++) {
      if (this.inputs[p] >= MAX_TIMESTAMP) continue;
      if (this.status[p] !== IDLE) return false;
      idle = true;
    }
    return idle;
  }

  /** Publishes `wm` if it is above what was published; lets an operator hold its output below {@link current}. */
  publish(wm: number): number | undefined {
    if (wm <= this.published) return undefined;
    this.published = wm;
    return wm;
  }

  private recompute(): void {
    let min = MAX_TIMESTAMP;
    let maxIdle = MIN_TIMESTAMP;
    let unfinished = false;
    let counted = false;
    let allIdle = true;
    for (let p = 0; p < this.inputs.length; p++) {
      const w = this.inputs[p];
      if (w >= MAX_TIMESTAMP) continue;
      unfinished = true;
      if (this.status[p] === REJOINING && w >= this.combined) this.status[p] = ACTIVE;
      const s = this.status[p];
      if (s === ACTIVE) {
        counted = true;
        if (w < min) min = w;
      }
      if (s === IDLE) {
        if (w > maxIdle) maxIdle = w;
      } else allIdle = false;
    }
    let next = this.combined;
    if (!unfinished) next = MAX_TIMESTAMP;
    else if (counted) next = min;
    else if (allIdle) next = maxIdle;
    if (next > this.combined) this.combined = next;
  }
}

/**
 * Sends a multi-input operator's status change and new watermark downstream. A stage that turns active says so before
 * its watermark moves and one that turns idle says so after, so downstream weighs each watermark under the status it
 * was computed with.
 */
export function sendStatus(out: Output, wasIdle: boolean, isIdle: boolean, wm: number | undefined): void {
  if (wasIdle && !isIdle) out.idle?.(false);
  if (wm !== undefined) out.watermark(wm);
  if (!wasIdle && isIdle) out.idle?.(true);
}
