import { MAX_TIMESTAMP } from '../time/timestamps.ts';
import type { Batch } from './batch.ts';

/**
 * Where an operator sends its output: the next operator's input port, or several (fan-out).
 * `watermark(wm)` promises that no later row carries an event time below `wm` (spec M1); it never decreases, and
 * {@link MAX_TIMESTAMP} means the stream is complete (M5), so there is no separate end signal.
 */
export interface Output {
  push(batch: Batch): void;
  watermark(wm: number): void;
  /**
   * The stream turned idle (`true`) or active again (M7, after Flink's WatermarkStatus): while idle, a multi-input
   * operator downstream leaves it out of its minimum (M7.3). Optional: a stage that never goes idle need not say so.
   */
  idle?(idle: boolean): void;
}

/**
 * A physical operator. The runtime pushes whole batches into numbered input ports and advances each port's
 * watermark; a port whose watermark reaches {@link MAX_TIMESTAMP} has ended. Operators are synchronous: no Promise
 * on the data path, so one batch flows from source to sink in one call.
 */
export interface Operator {
  push(port: number, batch: Batch): void;
  watermark(port: number, wm: number): void;
  /**
   * Processing time advanced to `now` (ms). Not a per-port signal: the executor tells every operator that has this
   * method, from the run's clock, so processing-time triggers can fire (G2.3).
   */
  processingTime?(now: number): void;
  /**
   * Input `port` turned idle or active again (M7). Multi-input operators implement it (see `MinWatermark`); for a
   * single-input operator without it the executor forwards the status to the stage's output unchanged. A
   * multi-input operator without it keeps counting the port at its last watermark, which holds its output.
   */
  idle?(port: number, idle: boolean): void;
  /**
   * The operator's state between epochs, for a snapshot: live references, encoded at once by
   * `runtime/state-codec.ts`. Absent on a stateless operator. `restore` takes such state (decoded) back on a fresh
   * operator of the same stage, so that it goes on as the one that was snapshotted would have.
   */
  snapshot?(): unknown;
  restore?(state: unknown): void;
}

/** Whether a watermark says the input is complete (M5). */
export function isComplete(wm: number): boolean {
  return wm >= MAX_TIMESTAMP;
}

/** Counts of one stage in one run. `in = out + quarantined + filtered` holds for sources and filters. */
export interface StageMetrics {
  in: number;
  out: number;
  quarantined: number;
  filtered: number;
  /** (element, window) pairs a windowed aggregate or window join dropped because their window had expired (L3, L7). */
  lateDropped: number;
  /** Wall-clock milliseconds spent inside this stage's own code. */
  ms: number;
}

export function newMetrics(): StageMetrics {
  return { in: 0, out: 0, quarantined: 0, filtered: 0, lateDropped: 0, ms: 0 };
}

/** Sends each batch, watermark and status to several outputs. */
export function fanOut(outputs: readonly Output[]): Output {
  if (outputs.length === 1) return outputs[0];
  return {
    push(batch) {
      for (const o of outputs) o.push(batch);
    },
    watermark(wm) {
      for (const o of outputs) o.watermark(wm);
    },
    idle(idle) {
      for (const o of outputs) o.idle?.(idle);
    },
  };
}

/**
 * Wraps a stage's output: counts the rows it emits, and subtracts the time downstream stages spend from the stage's
 * own `ms` (the caller adds the inclusive time), so each stage reports only its own work.
 */
export function counted(output: Output, metrics: StageMetrics): Output {
  return {
    push(batch) {
      metrics.out += batch.length;
      if (batch.length === 0) return;
      const t0 = performance.now();
      output.push(batch);
      metrics.ms -= performance.now() - t0;
    },
    watermark(wm) {
      const t0 = performance.now();
      output.watermark(wm);
      metrics.ms -= performance.now() - t0;
    },
    idle(idle) {
      const t0 = performance.now();
      output.idle?.(idle);
      metrics.ms -= performance.now() - t0;
    },
  };
}
