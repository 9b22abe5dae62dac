import { readFileSync } from 'node:fs';

/** What one measured case reports to the parent process (one JSON line on stdout). */
export interface Measurement {
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly peakRssBytes: number;
  /** RSS when the measured section started: the runtime, tsx and DuckDB loaded, before any data. */
  readonly startRssBytes: number;
  readonly detail?: Record<string, unknown>;
}

/**
 * The process's peak resident set so far. Linux keeps the high-water mark in /proc (exact, no sampling); elsewhere
 * `resourceUsage().maxRSS` is the same figure in KiB.
 */
export function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // Not Linux: fall through.
  }
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Runs `body` once and measures wall time, CPU time (user + system, every thread of the process, so DuckDB's
 * worker threads count too) and the process's peak RSS.
 */
export async function measure(body: () => Promise<Record<string, unknown> | undefined>): Promise<Measurement> {
  const startRssBytes = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const detail = await body();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    peakRssBytes: peakRss(),
    startRssBytes,
    ...(detail === undefined ? {} : { detail }),
  };
}
