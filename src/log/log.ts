/**
 * napkin's embedded log: durable, partitioned, append-only, in a directory of the project's state folder.
 *
 *   dir/log.json                              { "format": "napkin-log", "version": 1, "partitions": N }
 *   dir/LOCK                                  pid of the process that has the log open
 *   dir/partition-<p>/<base offset>.seg       frames: records, and one commit frame per append (frame.ts)
 *   dir/partition-<p>/<base offset>.idx       sparse offset and time index of a sealed segment (segment-index.ts)
 *
 * An append is one write and, with `fsync: 'always'`, one fdatasync before it is acknowledged (spec reliability G5).
 */
import { dirname, join, resolve } from 'node:path';
import { type CompactionResult, compactSegments } from './compact.ts';
import { publish, syncDir } from './durable.ts';
import type { AppendRecord, LogRecord } from './frame.ts';
import { type LogIO, nodeIO } from './io.ts';
import { type DirLock, lockDir } from './lock.ts';
import type { AppendResult, Partition, PartitionContext, Retention } from './partition.ts';
import { applyPlan, type LogLogger, planPartition } from './recover.ts';

/**
 * `always`: every append is fsynced before it is acknowledged. `unsafe-none`: never fsynced; an acknowledged append
 * survives a crash of the process but is lost on a power cut or kernel crash. For tests and throwaway runs only.
 */
export type FsyncPolicy = 'always' | 'unsafe-none';

export interface LogOptions {
  /** Required to create a log; when opening an existing one, must match it if given. */
  readonly partitions?: number;
  readonly fsync?: FsyncPolicy;
  /** A segment is sealed and a new one started when an append would take it past this size. Default 64 MiB. */
  readonly segmentBytes?: number;
  /** Bytes between two entries of a segment's sparse index. Default 4 KiB. */
  readonly indexIntervalBytes?: number;
  /** Applied after each segment roll and by `enforceRetention()`; never to the active segment. */
  readonly retention?: Retention;
  readonly logger?: LogLogger;
  /** The file operations; tests inject faults here. */
  readonly io?: LogIO;
  /** Milliseconds since the epoch, for time retention. */
  readonly clock?: () => number;
}

export {
  LogCorruptionError,
  LogFailedError,
  LogLockedError,
  LogOffsetOutOfRangeError,
  LogWriteError,
} from './errors.ts';
export type { AppendRecord, AppendResult, CompactionResult, LogIO, LogLogger, LogRecord, Retention };

const META = 'log.json';
const stderrLogger: LogLogger = { warn: (m) => process.stderr.write(`${m}\n`) };

export class Log {
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly parts: readonly Partition[],
    private readonly ctx: PartitionContext,
    private readonly lock: DirLock,
  ) {}

  /**
   * Opens (or creates) the log in `dir`, taking its lock and recovering each partition: a torn tail of the active
   * segment is truncated and logged; damaged committed data fails the open with a `LogCorruptionError`, leaving
   * every file as it was.
   */
  static async open(dir: string, options: LogOptions = {}): Promise<Log> {
    const ctx = context(options);
    await ctx.io.mkdir(dir);
    const lock = await lockDir(dir);
    const opened: Partition[] = [];
    try {
      for (const path of lock.removed)
        (options.logger ?? stderrLogger).warn(
          `napkin log: removed ${path}, left by a process killed while it took the log's lock`,
        );
      const existing = await readMeta(ctx.io, dir);
      const n = partitionCount(dir, existing, options.partitions);
      const plans = [];
      for (let p = 0; p < n; p++) plans.push(await planPartition(p, partitionDir(dir, p), ctx, existing === undefined));
      for (const plan of plans) opened.push(await applyPlan(plan, ctx, options.logger ?? stderrLogger));
      if (existing === undefined) await writeMeta(ctx, dir, n);
      // The log's own folder entry, when open created it.
      if (existing === undefined && ctx.fsync) await syncDir(ctx.io, dirname(resolve(dir)));
      return new Log(dir, opened, ctx, lock);
    } catch (e) {
      for (const p of opened) await p.close().catch(() => undefined);
      await lock.release();
      throw e;
    }
  }

  get partitions(): number {
    return this.parts.length;
  }

  /** Appends records as one batch; resolves once they are durable (per the fsync policy) with their offsets. */
  async append(partition: number, records: readonly AppendRecord[]): Promise<AppendResult> {
    return this.part(partition).append(records);
  }

  /** Up to `maxRecords` records from `fromOffset` on (offsets may skip where compaction removed records). */
  async read(partition: number, fromOffset: number, maxRecords = 1000): Promise<LogRecord[]> {
    if (!Number.isSafeInteger(maxRecords) || maxRecords < 1)
      throw new Error(`maxRecords must be a positive integer, got ${maxRecords}`);
    return this.part(partition).read(fromOffset, maxRecords);
  }

  /** The first offset whose record has a timestamp at or after `timestamp`; the end offset if none has. */
  async offsetForTimestamp(partition: number, timestamp: number): Promise<number> {
    if (Number.isNaN(timestamp)) throw new Error('offsetForTimestamp needs a timestamp in milliseconds, got NaN');
    return this.part(partition).offsetForTimestamp(timestamp);
  }

  /** The oldest offset still readable. */
  startOffset(partition: number): number {
    return this.part(partition).startOffset;
  }

  /** The offset the next append will get: one past the last acknowledged record. */
  endOffset(partition: number): number {
    return this.part(partition).endOffset;
  }

  /** Deletes whole sealed segments that retention no longer keeps; returns how many. */
  async enforceRetention(): Promise<number> {
    let n = 0;
    for (const p of this.parts) n += await p.run(() => p.retain());
    return n;
  }

  /** Keeps only the last record of each key appended so far; tombstones (null values) go with their key. */
  async compact(partition: number): Promise<CompactionResult> {
    const p = this.part(partition);
    return p.run(async () => {
      if (p.active.bytes > 0) await p.roll();
      return compactSegments(p.segments.slice(0, -1), this.ctx);
    });
  }

  /** Waits for queued operations, closes the files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.parts) await p.close();
    await this.lock.release();
  }

  private part(p: number): Partition {
    if (this.closed) throw new Error(`log ${this.dir} is closed; open it again`);
    const part = this.parts[p];
    if (part === undefined)
      throw new Error(`partition ${p} is not in log ${this.dir}, which has partitions 0…${this.parts.length - 1}`);
    return part;
  }
}

function context(o: LogOptions): PartitionContext {
  const fsync = o.fsync ?? 'always';
  if (fsync !== 'always' && fsync !== 'unsafe-none')
    throw new Error(`fsync must be 'always' or 'unsafe-none', got '${String(fsync)}'`);
  const segmentBytes = o.segmentBytes ?? 64 << 20;
  const indexInterval = o.indexIntervalBytes ?? 4096;
  positive('segmentBytes', segmentBytes);
  positive('indexIntervalBytes', indexInterval);
  if (o.retention?.ms !== undefined) positive('retention.ms', o.retention.ms);
  if (o.retention?.bytes !== undefined) positive('retention.bytes', o.retention.bytes);
  return {
    io: o.io ?? nodeIO,
    fsync: fsync === 'always',
    segmentBytes,
    indexInterval,
    retention: o.retention ?? {},
    clock: o.clock ?? Date.now,
    health: {},
  };
}

function positive(name: string, x: number): void {
  if (!Number.isSafeInteger(x) || x < 1) throw new Error(`log option ${name} must be a positive integer, got ${x}`);
}

export const partitionDir = (dir: string, p: number): string => join(dir, `partition-${p}`);

/** The partition count in `dir/log.json`, or undefined when there is none (a log whose creation did not finish). */
export async function readMeta(io: LogIO, dir: string): Promise<number | undefined> {
  const buf = await io.readFile(join(dir, META));
  if (buf === undefined) return undefined;
  let meta: unknown;
  try {
    meta = JSON.parse(buf.toString('utf8'));
  } catch {
    meta = undefined;
  }
  const m = meta as { format?: unknown; version?: unknown; partitions?: unknown } | undefined;
  if (m?.format !== 'napkin-log' || m.version !== 1 || !Number.isSafeInteger(m.partitions))
    throw new Error(
      `${join(dir, META)} is not a napkin log description (format napkin-log, version 1); check the path`,
    );
  return m.partitions as number;
}

function partitionCount(dir: string, existing: number | undefined, asked: number | undefined): number {
  if (asked !== undefined) positive('partitions', asked);
  if (existing === undefined) {
    if (asked === undefined) throw new Error(`no log in ${dir}: give the number of partitions to create one`);
    return asked;
  }
  if (asked !== undefined && asked !== existing)
    throw new Error(
      `log ${dir} has ${existing} partitions, not ${asked}; open it without 'partitions' or with ${existing}`,
    );
  return existing;
}

/** Written last when creating a log, so that a log without it is one whose creation did not finish. */
async function writeMeta(ctx: PartitionContext, dir: string, partitions: number): Promise<void> {
  const text = `${JSON.stringify({ format: 'napkin-log', version: 1, partitions })}\n`;
  await publish(ctx.io, join(dir, META), Buffer.from(text, 'utf8'), ctx.fsync);
}
