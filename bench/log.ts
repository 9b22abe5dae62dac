/**
 * `node --import tsx bench/log.ts [--rows N] [--repeat K]` (or `npm run bench -- --only log`): the embedded log.
 *
 * - append: N/10 records (at most 1M) of 100 B and of 1 KiB values, in batches of 1,000, fsync 'always' (one write
 *   and one fdatasync per batch, acknowledged after it), one partition, 64 MiB segments;
 * - read: the same records read back from offset 0 in reads of 1,000, every frame's CRC checked (page cache warm);
 * - recovery: a child process fills a log with N × 100 B of 1 KiB records (1 GB at the default N = 10M) and is
 *   SIGKILLed while still appending; then `Log.open` is timed (it checks the active segment frame by frame and
 *   loads the sealed segments' indexes), and again with every index file deleted (each sealed segment rescanned).
 *
 * Prints one JSON object per measurement on stdout, a table on stderr. MB are 10^6 bytes of record values.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { Log } from '../src/log/log.ts';

const BATCH = 1000;
const ROOT = resolve(import.meta.dirname, '..', '.bench', 'log');

interface Result {
  readonly bench: string;
  readonly seconds: number;
  readonly [k: string]: unknown;
}

function args(argv: readonly string[]): { rows: number; repeat: number; fill?: { dir: string; bytes: number } } {
  const out: { rows: number; repeat: number; fill?: { dir: string; bytes: number } } = { rows: 10_000_000, repeat: 1 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rows') out.rows = Number(argv[++i].replaceAll('_', ''));
    else if (a === '--repeat') out.repeat = Number(argv[++i]);
    else if (a === '--fill') out.fill = { dir: argv[++i], bytes: Number(argv[++i]) };
    else throw new Error(`unknown option ${a}; options: --rows N, --repeat K`);
  }
  if (!Number.isSafeInteger(out.rows) || out.rows < 1000) throw new Error('--rows takes an integer of at least 1000');
  return out;
}

const batchOf = (value: Buffer, first: number) =>
  Array.from({ length: BATCH }, (_, i) => ({ key: null, value, timestamp: first + i }));

async function append(dir: string, valueBytes: number, records: number): Promise<Result> {
  rmSync(dir, { recursive: true, force: true });
  const log = await Log.open(dir, { partitions: 1, fsync: 'always' });
  const value = Buffer.alloc(valueBytes, 0x61);
  const t0 = performance.now();
  for (let n = 0; n < records; n += BATCH) await log.append(0, batchOf(value, n));
  const seconds = (performance.now() - t0) / 1000;
  await log.close();
  return {
    bench: 'log-append',
    valueBytes,
    records,
    batch: BATCH,
    fsync: 'always (one fdatasync per batch)',
    seconds: round(seconds, 3),
    mbPerSecond: round((records * valueBytes) / seconds / 1e6, 1),
    recordsPerSecond: Math.round(records / seconds),
    diskBytes: du(dir),
  };
}

async function read(dir: string, valueBytes: number, records: number): Promise<Result> {
  const log = await Log.open(dir);
  const t0 = performance.now();
  let n = 0;
  let check = 0;
  while (n < records) {
    const got = await log.read(0, n, BATCH);
    for (const r of got) check += r.value?.length ?? 0;
    n += got.length;
  }
  const seconds = (performance.now() - t0) / 1000;
  await log.close();
  if (check !== records * valueBytes) throw new Error(`read ${check} value bytes, expected ${records * valueBytes}`);
  return {
    bench: 'log-read',
    valueBytes,
    records,
    readSize: BATCH,
    seconds: round(seconds, 3),
    mbPerSecond: round((records * valueBytes) / seconds / 1e6, 1),
    recordsPerSecond: Math.round(records / seconds),
  };
}

/** The child of the recovery case: appends 1 KiB records until the log holds `bytes`, says so, and goes on. */
async function fill(dir: string, bytes: number): Promise<void> {
  const log = await Log.open(dir, { partitions: 1, fsync: 'always' });
  const value = Buffer.alloc(1024, 0x62);
  let said = false;
  for (let n = 0; ; n += BATCH) {
    await log.append(0, batchOf(value, n));
    if (!said && n * 1024 >= bytes) {
      process.stdout.write('filled\n');
      said = true;
    }
  }
}

async function recovery(dir: string, bytes: number, rebuild: boolean): Promise<Result> {
  if (!rebuild) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--fill', dir, String(bytes)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((r) => child.on('exit', r));
    for await (const line of createInterface({ input: child.stdout! })) {
      if (line === 'filled') child.kill('SIGKILL');
    }
    await exited;
  } else {
    const p = join(dir, 'partition-0');
    for (const f of readdirSync(p).filter((n) => n.endsWith('.idx'))) rmSync(join(p, f));
  }
  const segments = readdirSync(join(dir, 'partition-0')).filter((n) => n.endsWith('.seg')).length;
  const warnings: string[] = [];
  const t0 = performance.now();
  const log = await Log.open(dir, { logger: { warn: (m) => warnings.push(m) } });
  const seconds = (performance.now() - t0) / 1000;
  const records = log.endOffset(0);
  await log.close();
  return {
    bench: rebuild ? 'log-recovery-rebuild-indexes' : 'log-recovery-after-sigkill',
    logBytes: du(dir),
    segments,
    records,
    seconds: round(seconds, 3),
    tornTail: warnings.length > 0,
  };
}

function du(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const s = statSync(join(dir, name));
    if (s.isFile()) n += s.size;
  }
  return n;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Runs a measurement `repeat` times and keeps the median by seconds. */
async function median(repeat: number, run: () => Promise<Result>): Promise<Result> {
  const runs: Result[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await run());
  runs.sort((a, b) => a.seconds - b.seconds);
  return runs[Math.floor((runs.length - 1) / 2)];
}

const a = args(process.argv.slice(2));
if (a.fill !== undefined) await fill(a.fill.dir, a.fill.bytes);
else {
  const records = Math.min(1_000_000, Math.max(BATCH, Math.floor(a.rows / 10 / BATCH) * BATCH));
  const logBytes = a.rows * 100;
  const results: Result[] = [];
  const emit = (r: Result): void => {
    results.push(r);
    process.stdout.write(`${JSON.stringify(r)}\n`);
  };
  for (const size of [100, 1024]) {
    const dir = join(ROOT, `append-${size}`);
    process.stderr.write(`log: append and read ${records.toLocaleString('en')} records of ${size} B ...\n`);
    emit(await median(a.repeat, () => append(dir, size, records)));
    emit(await median(a.repeat, () => read(dir, size, records)));
    rmSync(dir, { recursive: true, force: true });
  }
  process.stderr.write(`log: recovery of a ${(logBytes / 1e9).toFixed(2)} GB log after SIGKILL ...\n`);
  const dir = join(ROOT, 'recovery');
  emit(await median(a.repeat, () => recovery(dir, logBytes, false)));
  emit(await recovery(dir, logBytes, true));
  rmSync(dir, { recursive: true, force: true });
  for (const r of results) {
    const rate = r.mbPerSecond === undefined ? '' : `  ${r.mbPerSecond} MB/s  ${r.recordsPerSecond} records/s`;
    const size = r.valueBytes === undefined ? `${((r.logBytes as number) / 1e9).toFixed(2)} GB` : `${r.valueBytes} B`;
    process.stderr.write(`${r.bench.padEnd(30)} ${size.padStart(8)}  ${r.seconds.toFixed(3)} s${rate}\n`);
  }
  process.stderr.write(`(${process.platform} ${process.arch}, node ${process.version}; fsync 'always' per batch)\n`);
}
