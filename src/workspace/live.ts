import { setTimeout as sleep } from 'node:timers/promises';
import type { BoundFlow } from '../plan/bind.ts';
import type { StageMode } from '../time/duration.ts';
import type { EpochRunner } from './epoch-run.ts';
import type { FollowedSource } from './flow-topics.ts';

/** When a live flow's epochs run: its mode, and the interval between epochs (∞: only when the run ends). */
export interface Schedule {
  readonly mode: StageMode;
  readonly intervalMs: number;
}

const RANK: Readonly<Record<StageMode, number>> = { streaming: 0, 'micro-batch': 1, batch: 2 };

/**
 * A flow runs on the schedule of its most demanding stage. Streaming commits an epoch often enough that output lags
 * its SLA by a quarter of it at most (between 200 ms and 5 s); micro-batch wakes twice per SLA; batch commits once,
 * when the run ends. Processing is the same in every mode: only how often the sinks commit changes.
 */
export function scheduleOf(b: BoundFlow, overrideMs?: number): Schedule {
  let mode: StageMode = 'batch';
  let slaMs = Number.POSITIVE_INFINITY;
  for (const s of b.stages) {
    if (RANK[s.mode] < RANK[mode] || (s.mode === mode && s.slaMs < slaMs)) {
      mode = s.mode;
      slaMs = s.slaMs;
    }
  }
  if (overrideMs !== undefined) return { mode, intervalMs: overrideMs };
  if (mode === 'streaming') return { mode, intervalMs: Math.min(5000, Math.max(200, slaMs / 4)) };
  if (mode === 'micro-batch') return { mode, intervalMs: slaMs / 2 };
  return { mode, intervalMs: Number.POSITIVE_INFINITY };
}

/**
 * Runs a flow that reads unbounded sources (followed files): each is tailed into its topic while epochs read the topics on the
 * schedule. SIGINT or SIGTERM stops the tailing and commits a last epoch without ending the input, so the next run
 * goes on from there; a file quiet for its `stopAfterIdle` ends the input, and the last epoch takes the watermark
 * to +∞ (every window fires).
 */
export async function runLive(runner: EpochRunner, followed: readonly FollowedSource[], s: Schedule): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const clock = monotonicNow();
  let ended = false;
  let failure: { readonly error: unknown } | undefined;
  const ingestion = Promise.all(followed.map((f) => f.ingest(stop.signal, clock))).then(
    () => {
      ended = true;
    },
    (error: unknown) => {
      failure = { error };
      ended = true;
    },
  );
  try {
    for (;;) {
      const tick = new AbortController();
      const timer = Number.isFinite(s.intervalMs)
        ? sleep(s.intervalMs, undefined, { signal: tick.signal }).catch(() => undefined)
        : new Promise<void>(() => undefined);
      await Promise.race([timer, ingestion]);
      tick.abort();
      if (failure !== undefined) throw failure.error;
      if (ended) {
        await runner.epoch({ final: !stop.signal.aborted, clock: clock() });
        return;
      }
      await runner.epoch({ final: false, clock: clock() });
    }
  } finally {
    stop.abort();
    await ingestion;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `Date.now()`, clamped so it never goes back when the system clock is set back (T6). */
export function monotonicNow(): () => number {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const t = Date.now();
    if (t > last) last = t;
    return last;
  };
}
