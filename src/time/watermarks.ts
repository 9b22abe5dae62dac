import { type Duration, durationMs, WindowingError } from './invalid.ts';

/**
 * How a source computes its watermark from the event times it reads (M6). A description only: the runtime
 * (`runtime/source-watermark.ts`) applies it to every source chunk, whatever the connector.
 */
export type WatermarkStrategy =
  | { readonly kind: 'boundedOutOfOrderness'; readonly boundMs: number; readonly idleTimeoutMs?: number }
  | { readonly kind: 'monotonic'; readonly idleTimeoutMs?: number };

export interface WatermarkOptions {
  /** M7: processing time without records after which the source counts as idle. */
  readonly idleTimeout?: Duration;
}

function idle(options: WatermarkOptions): { readonly idleTimeoutMs?: number } {
  if (options.idleTimeout === undefined) return {};
  const ms = durationMs('idleTimeout', options.idleTimeout);
  if (ms <= 0) throw new WindowingError('idleTimeout', `must be positive; got ${ms}`);
  return { idleTimeoutMs: ms };
}

/** `W = maxSeen − maxDelay` (M6): records up to `maxDelay` behind the newest one are still on time. */
export function boundedOutOfOrderness(maxDelay: Duration, options: WatermarkOptions = {}): WatermarkStrategy {
  const boundMs = durationMs('maxDelay', maxDelay);
  if (boundMs < 0) throw new WindowingError('maxDelay', `must be ≥ 0; got ${boundMs}`);
  return { kind: 'boundedOutOfOrderness', boundMs, ...idle(options) };
}

/** Event times never go back: the bound is 0, so any record older than the newest one is late. */
export function monotonic(options: WatermarkOptions = {}): WatermarkStrategy {
  return { kind: 'monotonic', ...idle(options) };
}

/** The allowed disorder of a strategy, in milliseconds. */
export function boundOf(s: WatermarkStrategy): number {
  switch (s.kind) {
    case 'boundedOutOfOrderness':
      return s.boundMs;
    case 'monotonic':
      return 0;
    default:
      return s satisfies never;
  }
}
