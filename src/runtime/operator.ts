import type { Batch } from './batch.ts';

/**
 * Where an operator sends its output: the next operator's input port, or several (fan-out).
 * `end` says the stream is complete; with event time (a later layer) it is the watermark reaching +∞.
 */
export interface Output {
  push(batch: Batch): void;
  end(): void;
}

/**
 * A physical operator. The runtime pushes whole batches into numbered input ports and tells it when each input has
 * ended. Operators are synchronous: no Promise on the data path, so one batch flows from source to sink in one call.
 */
export interface Operator {
  push(port: number, batch: Batch): void;
  end(port: number): void;
}

/** Counts of one stage in one run. `in = out + quarantined + filtered` holds for sources and filters. */
export interface StageMetrics {
  in: number;
  out: number;
  quarantined: number;
  filtered: number;
  /** Wall-clock milliseconds spent inside this stage's own code. */
  ms: number;
}

export function newMetrics(): StageMetrics {
  return { in: 0, out: 0, quarantined: 0, filtered: 0, ms: 0 };
}

/** Sends each batch to several outputs; ends when told once. */
export function fanOut(outputs: readonly Output[]): Output {
  if (outputs.length === 1) return outputs[0];
  return {
    push(batch) {
      for (const o of outputs) o.push(batch);
    },
    end() {
      for (const o of outputs) o.end();
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
    end() {
      const t0 = performance.now();
      output.end();
      metrics.ms -= performance.now() - t0;
    },
  };
}
