/**
 * `npm run bench [-- --rows N] [--only csv|parquet|window|nexmark|log|kafka|recovery] [--repeat K] [--profile]`
 *
 * Generates (once, cached under .bench/) an events dataset of N rows (default 10 million) as CSV and Parquet, writes
 * a napkin project over it to .bench/project/, then for each format runs the flow read → filter → withColumns →
 * groupBy/agg → DuckDB table through the library API, and DuckDB running the same query on the same file. The
 * `window` case reads its own N-event Parquet file and counts events per key in sliding 10 s windows every 2 s
 * (read → window(sliding) → groupBy/agg → DuckDB table), against DuckDB's SQL for the same counts; its rows are
 * events, so `rowsPerSecond` is events/s. Each case
 * runs in a fresh child process, so one case's peak RSS is not another's. Prints one JSON object per benchmark on
 * stdout and a table for people on stderr.
 *
 * The `nexmark` case runs `napkin bench nexmark --query all` (spec nexmark.md §6: the generator-only line and every
 * query, per-core throughput with the generator included) at the spec's sizes, or at `--rows` events when given, and
 * records the results under bench/results/; `--nexmark-check FILE` fails the bench when a query falls more than 30%
 * below that baseline, as a ratio to the generator-only line of the same run.
 *
 * The `log` case runs bench/log.ts in its own process: append and read throughput of the embedded log (fsync per
 * batch of 1,000) and its recovery time after SIGKILL, over N × 100 B of log (1 GB by default); its JSON lines pass
 * through to stdout.
 *
 * The `kafka` case runs bench/kafka.ts in its own process: `napkin worker` processes (1, then 2) over a real broker
 * it starts, Kafka in → windowed sum → Kafka out on 4 partitions: catch-up throughput over N/50 preloaded orders
 * (checked exactly once) and end-to-end window latency under a steady 2,000 orders/s, against the flow's SLA; its
 * JSON lines pass through to stdout. Without Java or the broker jars it prints a `skipped` line and does not fail.
 *
 * The `recovery` case runs bench/recovery.ts in its own process: a keyed windowed sum over N/5 events in 200
 * epochs, then the time a new runner takes to take the flow up by replaying every epoch, and by restoring the state
 * snapshot of the last one (with the snapshot's size and cost); its JSON lines pass through to stdout.
 *
 * --repeat K runs every case K times and keeps the run with the median wall time. --profile writes V8 CPU profiles
 * of the napkin runs to .bench/prof/ (open them in Chrome DevTools or speedscope).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureData, ensureWindowData } from './data.ts';
import type { Measurement } from './measure.ts';
import { type Format, writeProject } from './project.ts';

type CaseName = Format | 'window' | 'nexmark' | 'log' | 'kafka' | 'recovery';
const CASES: readonly CaseName[] = ['csv', 'parquet', 'window', 'nexmark', 'log', 'kafka', 'recovery'];

interface Args {
  rows: number;
  /** `--rows` was given: the Nexmark suite then runs that many events per query instead of the spec's sizes. */
  rowsGiven: boolean;
  formats: CaseName[];
  repeat: number;
  profile: boolean;
  /** A Nexmark baseline to compare with (`napkin bench nexmark --check`). */
  nexmarkCheck?: string;
  /** Events per Nexmark query, overriding `--rows` for that case (short runs are noisy on a shared machine). */
  nexmarkEvents?: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { rows: 10_000_000, rowsGiven: false, formats: [...CASES], repeat: 1, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--rows') {
      args.rows = positiveInt(a, value().replaceAll('_', ''));
      args.rowsGiven = true;
    } else if (a === '--nexmark-check') args.nexmarkCheck = value();
    else if (a === '--nexmark-events') args.nexmarkEvents = positiveInt(a, value().replaceAll('_', ''));
    else if (a === '--repeat') args.repeat = positiveInt(a, value());
    else if (a === '--only') {
      const f = value();
      const c = CASES.find((x) => x === f);
      if (c === undefined) throw new Error(`--only takes ${CASES.join(', ')}; got ${f}`);
      args.formats = [c];
    } else if (a === '--profile') args.profile = true;
    else
      throw new Error(
        `unknown option ${a}; options: --rows N, --only csv|parquet|window|nexmark|log|kafka|recovery, --repeat K, --profile, --nexmark-check FILE, --nexmark-events N`,
      );
  }
  return args;
}

function positiveInt(name: string, s: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`${name} takes a positive integer, got ${s}`);
  return n;
}

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};

/** Runs bench/case.ts in a new Node process and reads its one JSON line. */
function child(caseArgs: readonly string[], nodeFlags: readonly string[] = []): Measurement {
  const r = spawnSync(
    process.execPath,
    [...nodeFlags, '--import', 'tsx', join(import.meta.dirname, 'case.ts'), ...caseArgs],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 16 << 20,
    },
  );
  if (r.status !== 0)
    throw new Error(`bench case ${caseArgs.slice(0, 2).join(' ')} failed (exit ${r.status ?? r.signal})`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as Measurement;
}

/** Runs a case `repeat` times; keeps the run with the median wall time (the lower middle for an even count). */
function median(repeat: number, run: () => Measurement): Measurement {
  const runs = Array.from({ length: repeat }, run).sort((a, b) => a.seconds - b.seconds);
  return runs[Math.floor((runs.length - 1) / 2)];
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

const args = parseArgs(process.argv.slice(2));

/** The Nexmark suite, through the CLI that users run; its JSON lines pass through to stdout. */
function nexmarkSuite(a: Args): void {
  const events = a.nexmarkEvents ?? (a.rowsGiven ? a.rows : undefined);
  const size = events === undefined ? '' : `-${events}`;
  const out = join(import.meta.dirname, 'results', `nexmark-${new Date().toISOString().slice(0, 10)}${size}.json`);
  const cli = [join(import.meta.dirname, '..', 'bin', 'napkin.js'), 'bench', 'nexmark', '--query', 'all'];
  cli.push('--repeat', String(a.repeat), '--out', out);
  if (events !== undefined) cli.push('--events', String(events));
  if (a.nexmarkCheck !== undefined) cli.push('--check', a.nexmarkCheck);
  log(`nexmark: generator and every query${events === undefined ? '' : `, ${events.toLocaleString('en')} events`} ...`);
  const r = spawnSync(process.execPath, cli, { stdio: 'inherit' });
  if (r.status !== 0) process.exitCode = 1;
}

/** A case script (bench/log.ts, bench/kafka.ts) in its own process; its JSON lines pass through to stdout. */
function scriptSuite(name: string, a: Args): void {
  const script = join(import.meta.dirname, name);
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', script, '--rows', String(a.rows), '--repeat', String(a.repeat)],
    {
      stdio: 'inherit',
    },
  );
  if (r.status !== 0) process.exitCode = 1;
}

/** The file-based cases (CSV, Parquet, windowed) against DuckDB on the same files. */
async function fileCases(formats: readonly CaseName[]): Promise<void> {
  const root = resolve(import.meta.dirname, '..', '.bench');
  const data = await ensureData(join(root, 'data'), args.rows, log);
  const windowData = await ensureWindowData(join(root, 'data'), args.rows, log);
  const projectDir = join(root, 'project');
  writeProject(projectDir, data, windowData);
  const profDir = join(root, 'prof');
  if (args.profile) mkdirSync(profDir, { recursive: true });

  const table: string[][] = [
    ['bench', 'rows', 'napkin s', 'CPU s', 'rows/s', 'peak RSS', 'DuckDB s', 'DuckDB RSS', 'ratio', 'same result'],
  ];
  for (const format of formats) {
    const bench = format === 'window' ? 'sliding-window-count' : `${format}-filter-project-aggregate`;
    const file = format === 'window' ? windowData : format === 'csv' ? data.csv : data.parquet;
    log(`${bench}: ${args.rows.toLocaleString('en')} rows, napkin${args.repeat > 1 ? ` x${args.repeat}` : ''} ...`);
    const flags = args.profile
      ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${format}-${Date.now()}.cpuprofile`]
      : [];
    const napkin = median(args.repeat, () => child(['napkin', format, projectDir], flags));
    log(`${bench}: DuckDB ...`);
    const warehouse = join(projectDir, 'warehouse.duckdb');
    const duck = median(args.repeat, () =>
      child(['duckdb', format, file, join(root, `duckdb-${format}.duckdb`), warehouse]),
    );
    const result = {
      bench,
      rows: args.rows,
      seconds: round(napkin.seconds, 3),
      cpuSeconds: round(napkin.cpuSeconds, 3),
      rowsPerSecond: Math.round(args.rows / napkin.seconds),
      peakRssBytes: napkin.peakRssBytes,
      duckdbSeconds: round(duck.seconds, 3),
      ratioToDuckdb: round(napkin.seconds / duck.seconds, 2),
      duckdbCpuSeconds: round(duck.cpuSeconds, 3),
      duckdbPeakRssBytes: duck.peakRssBytes,
      resultsMatch: duck.detail?.resultsMatch === true,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
    table.push([
      bench,
      args.rows.toLocaleString('en'),
      result.seconds.toFixed(2),
      result.cpuSeconds.toFixed(2),
      result.rowsPerSecond.toLocaleString('en'),
      mib(result.peakRssBytes),
      result.duckdbSeconds.toFixed(2),
      mib(result.duckdbPeakRssBytes),
      `${result.ratioToDuckdb.toFixed(1)}x`,
      result.resultsMatch ? 'yes' : 'NO',
    ]);
    if (!result.resultsMatch) {
      log(`${bench}: napkin and DuckDB disagree: ${JSON.stringify(duck.detail?.comparison)}`);
      // A fast wrong answer is a failure: CI runs the bench as a check too.
      process.exitCode = 1;
    }
  }

  const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
  log('');
  for (const r of table)
    log(r.map((cell, c) => (c < 1 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));
  log(`(${process.platform} ${process.arch}, node ${process.version}; CPU s counts every thread, DuckDB's included)`);
}

const fileFormats = args.formats.filter((f) => f !== 'nexmark' && f !== 'log' && f !== 'kafka' && f !== 'recovery');
if (fileFormats.length > 0) await fileCases(fileFormats);
if (args.formats.includes('nexmark')) nexmarkSuite(args);
if (args.formats.includes('log')) scriptSuite('log.ts', args);
if (args.formats.includes('kafka')) scriptSuite('kafka.ts', args);
if (args.formats.includes('recovery')) scriptSuite('recovery.ts', args);
