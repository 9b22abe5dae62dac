import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform } from 'node:os';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { type BenchRecord, benchQuery } from '../../nexmark/bench.ts';
import { loadQuery } from '../../nexmark/catalog.ts';
import { QUERY_NAMES } from '../../nexmark/query.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';
import { UsageError } from './nexmark-flags.ts';

interface BenchFlags {
  readonly query: string;
  readonly events?: string;
  readonly rate?: string;
  readonly mode: string;
  readonly warmup?: string;
  readonly repeat: string;
  readonly out?: string;
  readonly check?: string;
}

/** §6: at least 10M events for the stateless queries and the generator, 2M for the stateful and windowed ones. */
function defaultEvents(query: string): number {
  return ['generator', 'q0', 'q1', 'q2'].includes(query) ? 10_000_000 : 2_000_000;
}

/** `napkin bench nexmark`: per-core throughput of each query, generator included, as the public Flink suite counts. */
export function registerBench(program: Command, _globals: Globals, set: SetOutcome): void {
  const bench = program.command('bench').description('measure napkin on standard workloads');
  bench
    .command('nexmark')
    .description('Nexmark throughput: one JSON object per query (events/s, events per CPU-second, peak RSS)')
    .option('-q, --query <qN|all>', `one of ${QUERY_NAMES.join(', ')}, generator, or all`, 'all')
    .option('-n, --events <N>', 'events per measured run (default 10M for q0–q2, 2M for the others)')
    .option('--rate <R>', 'events per second of event time (default 10000)')
    .option('--mode <mode>', 'stream (the headline figures) or batch', 'stream')
    .option('--warmup <W>', 'events of a warm-up run in the same process (default min(N, 1M))')
    .option('--repeat <K>', 'runs per query, each in a fresh process; the median is reported', '1')
    .option('--out <file.json>', 'also write the records, with the machine and versions, to this file')
    .option(
      '--check <baseline.json>',
      'fail (exit 1) when a query falls more than 30% below the baseline, as a ratio to the generator-only line',
    )
    .action((flags: BenchFlags) =>
      guarded(set, async () => {
        let plan: { queries: string[]; repeat: number };
        try {
          plan = planOf(flags);
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          process.stderr.write(`napkin bench nexmark: ${e.message}\n`);
          return { code: EXIT.usage };
        }
        if (plan.queries.length === 1 && plan.repeat === 1 && flags.out === undefined && flags.check === undefined) {
          const r = await measureHere(plan.queries[0], flags);
          process.stdout.write(`${JSON.stringify(r)}\n`);
          // A child of `--query all` reports to its parent through stdout; people get the table.
          if (process.stdout.isTTY) process.stderr.write(table([r]));
          return { code: EXIT.ok };
        }
        const records: BenchRecord[] = [];
        for (const q of plan.queries) {
          const r = median(Array.from({ length: plan.repeat }, () => inChild(q, flags)));
          process.stdout.write(`${JSON.stringify(r)}\n`);
          records.push(r);
        }
        process.stderr.write(table(records));
        if (flags.out !== undefined) {
          mkdirSync(dirname(flags.out), { recursive: true });
          writeFileSync(flags.out, `${JSON.stringify({ ...provenance(), records }, null, 2)}\n`);
        }
        if (flags.check === undefined) return { code: EXIT.ok };
        const regressions = compareToBaseline(records, readBaseline(flags.check));
        for (const line of regressions) process.stderr.write(`napkin bench nexmark: ${line}\n`);
        if (regressions.length === 0) process.stderr.write(`no query fell more than 30% below ${flags.check}\n`);
        return { code: regressions.length === 0 ? EXIT.ok : EXIT.failure };
      }),
    );
}

function planOf(flags: BenchFlags): { queries: string[]; repeat: number } {
  const all = ['generator', ...QUERY_NAMES];
  const queries = flags.query === 'all' ? all : [flags.query];
  if (!all.includes(queries[0])) throw new UsageError(`--query takes ${all.join(', ')} or all, got ${flags.query}`);
  if (flags.mode !== 'stream' && flags.mode !== 'batch') throw new UsageError(`--mode takes stream or batch`);
  const repeat = Number(flags.repeat);
  if (!Number.isSafeInteger(repeat) || repeat < 1) throw new UsageError(`--repeat takes a positive integer`);
  for (const [flag, v] of [
    ['--events', flags.events],
    ['--rate', flags.rate],
    ['--warmup', flags.warmup],
  ] as const) {
    if (v !== undefined && !(Number.isSafeInteger(Number(v)) && Number(v) >= 0))
      throw new UsageError(`${flag} takes a non-negative integer, got ${v}`);
  }
  return { queries, repeat };
}

async function measureHere(query: string, flags: BenchFlags): Promise<BenchRecord> {
  const target = query === 'generator' ? 'generator' : await loadQuery(query);
  return benchQuery(target, {
    events: flags.events === undefined ? defaultEvents(query) : Number(flags.events),
    mode: flags.mode as 'stream' | 'batch',
    ...(flags.rate === undefined ? {} : { rate: Number(flags.rate) }),
    ...(flags.warmup === undefined ? {} : { warmup: Number(flags.warmup) }),
  });
}

/** Each measured run gets a fresh process, so one query's heap and peak RSS never count against the next. */
function inChild(query: string, flags: BenchFlags): BenchRecord {
  const bin = join(import.meta.dirname, '..', '..', '..', 'bin', 'napkin.js');
  const args = [bin, 'bench', 'nexmark', '--query', query, '--mode', flags.mode];
  for (const [flag, v] of [
    ['--events', flags.events],
    ['--rate', flags.rate],
    ['--warmup', flags.warmup],
  ] as const)
    if (v !== undefined) args.push(flag, v);
  process.stderr.write(`${query} ...\n`);
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench of ${query} failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as BenchRecord;
}

/** When and where the records were made, so figures can be compared over time (§6, record keeping). */
function provenance(): Record<string, unknown> {
  const git = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', cwd: import.meta.dirname });
  return {
    date: new Date().toISOString(),
    commit: git.status === 0 ? git.stdout.trim() : 'unknown',
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, platform: `${platform()} ${arch()}` },
    node: process.version,
  };
}

/** A query may fall this far below its recorded ratio to the generator before the check fails. */
const TOLERANCE = 0.7;

function readBaseline(file: string): readonly BenchRecord[] {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as { records?: BenchRecord[] };
  if (!Array.isArray(parsed.records)) throw new Error(`${file}: no \`records\`; write one with --out`);
  return parsed.records;
}

/**
 * Machines are noisy, so each query is compared as its events per CPU-second over the generator-only line's, measured
 * in the same run, against the same ratio in the baseline.
 */
export function compareToBaseline(run: readonly BenchRecord[], baseline: readonly BenchRecord[]): string[] {
  const ratio = (records: readonly BenchRecord[], query: string): number | undefined => {
    const gen = records.find((r) => r.query === 'generator');
    const q = records.find((r) => r.query === query);
    return gen === undefined || q === undefined ? undefined : q.eventsPerCpuSecond / gen.eventsPerCpuSecond;
  };
  const out: string[] = [];
  for (const r of run) {
    if (r.query === 'generator') continue;
    const now = ratio(run, r.query);
    const then = ratio(baseline, r.query);
    if (now === undefined || then === undefined) continue;
    if (now < then * TOLERANCE)
      out.push(
        `${r.query} regressed: ${now.toFixed(3)} of the generator's events/CPU-s, baseline ${then.toFixed(3)} (limit ${(then * TOLERANCE).toFixed(3)})`,
      );
  }
  return out;
}

/** The run with the median wall time (the lower middle for an even count). */
function median(runs: readonly BenchRecord[]): BenchRecord {
  return [...runs].sort((a, b) => a.seconds - b.seconds)[Math.floor((runs.length - 1) / 2)];
}

function table(records: readonly BenchRecord[]): string {
  const rows = [['query', 'events', 'seconds', 'CPU s', 'events/s', 'events/CPU-s', 'peak RSS', 'rows']];
  for (const r of records)
    rows.push([
      r.query,
      r.events.toLocaleString('en'),
      r.seconds.toFixed(2),
      r.cpuSeconds.toFixed(2),
      r.eventsPerSecond.toLocaleString('en'),
      r.eventsPerCpuSecond.toLocaleString('en'),
      `${(r.peakRssBytes / 2 ** 20).toFixed(0)} MiB`,
      r.rows.toLocaleString('en'),
    ]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return `${rows.map((r) => r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join('  ')).join('\n')}\n`;
}
