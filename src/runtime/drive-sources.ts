import type { SourceRun } from './source-run.ts';

/**
 * How often, at most, sources are probed for idleness (M7.2) while no source has a chunk: Flink's default
 * watermark interval. Sources with a shorter idle timeout are probed at least twice per timeout.
 */
const PROBE_MS = 200;

export interface DriveOptions {
  /**
   * Reads the run's processing-time clock and tells the operators when it moved (G2.3); returns the time, or
   * undefined when the run has no clock (processing time never advances, so no source goes idle).
   */
  readonly now: () => number | undefined;
  /** Resolves after `ms` of processing time, or at once when `signal` aborts: the waiting loop's probe timer. */
  readonly wait?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * Drives the sources of a run to their end. `drainedFirst` sources (bounded ones feeding an operator's table side)
 * run alone first; the others run together. Unbounded sources run concurrently, each with one outstanding `next()`,
 * and the chunk processed next is the ready one from the source whose watermark is lowest (this keeps windows
 * progressing evenly and state small). Bounded sources run one at a time, in stage order, alongside them: their
 * batch results then do not depend on I/O timing, and connectors that share a warehouse connection never interleave
 * two scans. Sources are probed for idleness (M7.2) at every chunk and, while no chunk is ready, every probe period.
 * If anything throws, every reader still open is closed with `return()` before the error goes on.
 */
export async function driveSources(
  runs: readonly SourceRun[],
  drainedFirst: readonly SourceRun[],
  o: DriveOptions,
): Promise<void> {
  const stop = new AbortController();
  try {
    const rest = runs.filter((r) => !drainedFirst.includes(r));
    await driveTogether(drainedFirst, o, stop.signal);
    await driveTogether(rest, o, stop.signal);
  } finally {
    stop.abort();
    await Promise.all(runs.map((r) => r.close()));
  }
}

async function driveTogether(runs: readonly SourceRun[], o: DriveOptions, signal: AbortSignal): Promise<void> {
  const queued = runs.filter((r) => !r.unbounded);
  const running = runs.filter((r) => r.unbounded);
  // Every iterator exists before any reads, so sources that coordinate (test streams sharing a clock) see each other.
  for (const r of running) r.start();
  const lane = queued.shift();
  if (lane !== undefined) {
    lane.start();
    running.push(lane);
  }
  for (const r of running) r.request();
  const probe = new Prober(running, o, signal);
  while (running.length > 0) {
    const r = pick(running);
    if (r === undefined) {
      await probe.waitForChunk();
      continue;
    }
    const result = r.take();
    if (result.done === true) {
      r.finish();
      running.splice(running.indexOf(r), 1);
      const next = queued.shift();
      if (next === undefined) continue;
      next.start();
      running.push(next);
      next.request();
      continue;
    }
    const now = o.now();
    r.absorb(result.value);
    if (now !== undefined) probe.all(now);
    r.request();
  }
}

/** The ready source to process next: a failed one first, then the lowest watermark, then stage order. */
function pick(running: readonly SourceRun[]): SourceRun | undefined {
  let best: SourceRun | undefined;
  for (const r of running) {
    if (!r.ready) continue;
    if (r.failed) return r;
    if (best === undefined || r.published < best.published || (r.published === best.published && r.index < best.index))
      best = r;
  }
  return best;
}

/** Probes idle-capable sources, and waits for the next chunk with a probe timer when the run has one. */
class Prober {
  private timer: Promise<void> | undefined;
  private fired = false;
  private readonly fire = (): void => {
    this.fired = true;
  };
  private readonly period: number;

  constructor(
    private readonly running: readonly SourceRun[],
    private readonly o: DriveOptions,
    private readonly signal: AbortSignal,
  ) {
    let period = PROBE_MS;
    for (const r of running) {
      const t = r.idleTimeoutMs;
      if (t !== undefined) period = Math.min(period, Math.max(1, Math.floor(t / 2)));
    }
    this.period = period;
  }

  all(now: number): void {
    for (const r of this.running) r.probe(now);
  }

  /** Waits until some source has a chunk; probes (and moves processing time on) each time the timer fires. */
  async waitForChunk(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (const r of this.running) if (r.pending !== undefined) pending.push(r.pending);
    const wait = this.o.wait;
    if (wait !== undefined && this.running.some((r) => r.unbounded)) {
      // One timer at a time, kept across waits until it fires: no timer per chunk.
      this.timer ??= wait(this.period, this.signal).then(this.fire, this.fire);
      pending.push(this.timer);
    }
    await (pending.length === 1 ? pending[0] : Promise.race(pending));
    if (!this.fired) return;
    this.fired = false;
    this.timer = undefined;
    const now = this.o.now();
    if (now !== undefined) this.all(now);
  }
}
