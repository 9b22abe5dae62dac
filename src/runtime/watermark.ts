import { MIN_TIMESTAMP } from '../time/timestamps.ts';

/**
 * The watermark of a multi-input operator: the minimum over its inputs (M2). `advance` records one input's new
 * watermark and returns the combined one when it rose, else `undefined`, so a stage publishes only increases (M1).
 */
export class MinWatermark {
  private readonly inputs: number[];
  private published = MIN_TIMESTAMP;

  constructor(ports: number) {
    this.inputs = new Array<number>(ports).fill(MIN_TIMESTAMP);
  }

  /** The combined watermark of the inputs (not necessarily published yet). */
  get current(): number {
    let m = this.inputs[0];
    for (const w of this.inputs) if (w < m) m = w;
    return m;
  }

  /** A port's watermark; a step back is ignored (T6). */
  port(p: number): number {
    return this.inputs[p];
  }

  /** Records a port's watermark without publishing. */
  set(port: number, wm: number): void {
    if (wm > this.inputs[port]) this.inputs[port] = wm;
  }

  advance(port: number, wm: number): number | undefined {
    this.set(port, wm);
    return this.publish(this.current);
  }

  /** Publishes `wm` if it is above what was published; lets an operator hold its output below {@link current}. */
  publish(wm: number): number | undefined {
    if (wm <= this.published) return undefined;
    this.published = wm;
    return wm;
  }
}
