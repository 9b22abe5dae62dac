import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { GENERATOR_VERSION, type GeneratorOptions, NexmarkGenerator } from './generator.ts';
import type { NexmarkQuery } from './query.ts';
import { DEFAULT_RATE, runNexmark } from './run.ts';
import { newTally, openResultSink } from './sinks.ts';

/** One measured run, as `napkin bench nexmark` prints it (spec nexmark.md §6). */
export interface BenchRecord {
  readonly query: string;
  readonly events: number;
  readonly seconds: number;
  readonly cpuSeconds: number;
  readonly eventsPerSecond: number;
  readonly eventsPerCpuSecond: number;
  readonly peakRssBytes: number;
  readonly rows: number;
  readonly checksum: number;
  readonly mode: 'batch' | 'stream';
  readonly rate: number;
  readonly warmup: number;
  readonly generatorVersion: string;
  readonly node: string;
  readonly cpu: string;
}

export interface BenchOptions {
  readonly events: number;
  readonly rate?: number;
  readonly mode?: 'batch' | 'stream';
  /** Events of the same query run first in the same process, result discarded (default min(N, 1,000,000)). */
  readonly warmup?: number;
}

/** The query, or `generator`: the generator alone into the discarding sink, the ceiling on this machine. */
export type BenchTarget = NexmarkQuery | 'generator';

/**
 * Measures one query in this process: a warm-up run, then a fresh run over events 0…N−1 from the in-process
 * generator into a discarding sink that still folds every row. CPU time is the whole process's (every thread, the
 * garbage collector and the generator included), as the public Flink method counts it.
 */
export async function benchQuery(target: BenchTarget, o: BenchOptions): Promise<BenchRecord> {
  const rate = o.rate ?? DEFAULT_RATE;
  const mode = o.mode ?? 'stream';
  const warmup = o.warmup ?? Math.min(o.events, 1_000_000);
  if (warmup > 0) await once(target, { events: warmup, rate }, mode);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { rows, checksum } = await once(target, { events: o.events, rate }, mode);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  return {
    query: target === 'generator' ? 'generator' : target.name,
    events: o.events,
    seconds: round(seconds, 3),
    cpuSeconds: round(cpuSeconds, 3),
    eventsPerSecond: Math.round(o.events / seconds),
    eventsPerCpuSecond: Math.round(o.events / cpuSeconds),
    peakRssBytes: peakRss(),
    rows,
    checksum,
    mode,
    rate,
    warmup,
    generatorVersion: GENERATOR_VERSION,
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`,
  };
}

async function once(
  target: BenchTarget,
  gen: GeneratorOptions,
  mode: 'batch' | 'stream',
): Promise<{ rows: number; checksum: number }> {
  if (target !== 'generator')
    return runNexmark({ query: target, mode, input: { generate: gen }, sink: { kind: 'discard' } });
  const tally = newTally();
  const sinks = (['person', 'auction', 'bid'] as const).map(
    (k) => [k, openResultSink({ kind: 'discard' }, [], tally)] as const,
  );
  const g = new NexmarkGenerator(gen);
  for (;;) {
    const c = g.next(16_384);
    for (const [k, sink] of sinks) sink.write(c[k]);
    if (c.done) break;
  }
  return { rows: tally.rows, checksum: tally.checksum };
}

/** The process's peak resident set: Linux's exact high-water mark, else `resourceUsage().maxRSS` (KiB). */
function peakRss(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m !== null) return Number(m[1]) * 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS * 1024;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));
