/**
 * Test helpers for the log: a fault-injecting I/O layer (spec reliability §3), the seeded batches the crash tests
 * write and check, and a byte-exact snapshot of a directory.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AppendRecord } from './frame.ts';
import { type LogFile, type LogIO, nodeIO } from './io.ts';

/** Faults to inject; tests may change them while the log runs (to free disk space, say). */
export interface Faults {
  /** Writes fail with ENOSPC once this many bytes in all have been written (the last write is cut short). */
  spaceBytes: number;
  /** The k-th fdatasync (1-based) fails with EIO; 0 for never. */
  failDatasyncAt: number;
}

export interface FaultyIO extends LogIO {
  readonly faults: Faults;
  /** Bytes written so far. */
  written: number;
  datasyncs: number;
}

const errno = (code: string, syscall: string, path: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: injected fault, ${syscall} '${path}'`), { code, syscall, path });

export function faultyIO(faults: Partial<Faults> = {}, base: LogIO = nodeIO): FaultyIO {
  const io: FaultyIO = {
    ...base,
    faults: { spaceBytes: Number.POSITIVE_INFINITY, failDatasyncAt: 0, ...faults },
    written: 0,
    datasyncs: 0,
    async open(path, mode) {
      if (mode === 'create' && io.written >= io.faults.spaceBytes) throw errno('ENOSPC', 'open', path);
      return wrap(await base.open(path, mode), path);
    },
  };
  const wrap = (f: LogFile, path: string): LogFile => ({
    read: (b, o, l, p) => f.read(b, o, l, p),
    async write(b, o, l, p) {
      const room = io.faults.spaceBytes - io.written;
      if (room <= 0) throw errno('ENOSPC', 'write', path);
      const n = await f.write(b, o, Math.min(l, room), p);
      io.written += n;
      return n;
    },
    async datasync() {
      io.datasyncs++;
      if (io.datasyncs === io.faults.failDatasyncAt) throw errno('EIO', 'fdatasync', path);
      await f.datasync();
    },
    truncate: (n) => f.truncate(n),
    size: () => f.size(),
    close: () => f.close(),
  });
  return io;
}

/** A small deterministic PRNG (mulberry32), so that a seed reproduces a run. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Batch `n` of a crash run: where it goes and what it holds, a function of (seed, n) alone. */
export function crashBatch(
  seed: number,
  n: number,
  partitions: number,
): { partition: number; records: AppendRecord[] } {
  const r = rng(seed * 1_000_003 + n);
  const count = 1 + Math.floor(r() * 40);
  const records: AppendRecord[] = [];
  for (let i = 0; i < count; i++) {
    const len = Math.floor(r() * 300);
    const tag = `${seed}/${n}/${i}/`;
    records.push({
      key: r() < 0.1 ? null : `k${Math.floor(r() * 13)}`,
      value: tag + 'x'.repeat(len),
      timestamp: n * 1000 + i,
    });
  }
  return { partition: Math.floor(r() * partitions), records };
}

/** Every file under `dir` with its bytes, by relative path. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}
