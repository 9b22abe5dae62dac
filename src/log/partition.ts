/**
 * One partition of the log: its segments, oldest first, the last one open for appending. Every operation runs
 * through one queue per partition, so an append, a read, a retention pass and a compaction never overlap.
 */
import { datasync, publish, syncDir, unlinkIfPresent, writeAll } from './durable.ts';
import { LogFailedError, LogOffsetOutOfRangeError, LogWriteError } from './errors.ts';
import { type AppendRecord, encodeBatch, type LogRecord, RECORD_TYPE, readI64, readU64, recordOf } from './frame.ts';
import type { LogFile, LogIO } from './io.ts';
import { Segment } from './segment.ts';
import { SegmentIndex } from './segment-index.ts';

export interface Retention {
  /** Delete a sealed segment once its newest record is older than this many milliseconds (by the clock). */
  readonly ms?: number;
  /** Delete the oldest sealed segments while the partition is larger than this many bytes. */
  readonly bytes?: number;
}

/** What every partition of one log shares. */
export interface PartitionContext {
  readonly io: LogIO;
  readonly fsync: boolean;
  readonly segmentBytes: number;
  readonly indexInterval: number;
  readonly retention: Retention;
  readonly clock: () => number;
  /** Set by the first failed fsync; from then on every operation fails with it. */
  readonly health: { failure?: LogFailedError };
}

export interface AppendResult {
  readonly firstOffset: number;
  readonly lastOffset: number;
}

export class Partition {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly id: number,
    readonly dir: string,
    private readonly ctx: PartitionContext,
    /** Oldest first; never empty. */
    readonly segments: Segment[],
    private writer: LogFile,
  ) {}

  get active(): Segment {
    return this.segments[this.segments.length - 1];
  }

  get startOffset(): number {
    return this.segments[0].baseOffset;
  }

  get endOffset(): number {
    return this.active.nextOffset;
  }

  /** Runs `fn` after every operation queued before it; an fsync failure poisons the whole log. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const health = this.ctx.health;
    const p = this.queue.then(async () => {
      if (health.failure !== undefined) throw health.failure;
      try {
        return await fn();
      } catch (e) {
        if (e instanceof LogFailedError) health.failure ??= e;
        throw e;
      }
    });
    this.queue = p.catch(() => undefined);
    return p;
  }

  append(records: readonly AppendRecord[]): Promise<AppendResult> {
    return this.run(async () => {
      const first = this.endOffset;
      if (records.length === 0) return { firstOffset: first, lastOffset: first - 1 };
      const buf = encodeBatch(records, first);
      if (this.active.bytes > 0 && this.active.bytes + buf.length > this.ctx.segmentBytes) await this.roll();
      const seg = this.active;
      try {
        await writeAll(this.writer, seg.path, buf, seg.bytes);
      } catch (e) {
        await this.undo(seg, e);
        throw e;
      }
      if (this.ctx.fsync) await datasync(this.writer, seg.path);
      indexBatch(seg.index, buf, seg.bytes);
      seg.bytes += buf.length;
      seg.nextOffset = first + records.length;
      return { firstOffset: first, lastOffset: seg.nextOffset - 1 };
    });
  }

  /** Cuts a failed write's partial bytes off again, so the log stays usable; if even that fails, stops it. */
  private async undo(seg: Segment, cause: unknown): Promise<void> {
    try {
      await this.writer.truncate(seg.bytes);
    } catch {
      throw new LogFailedError(seg.path, cause);
    }
  }

  read(fromOffset: number, maxRecords: number): Promise<LogRecord[]> {
    return this.run(async () => {
      this.checkRange(fromOffset);
      const out: LogRecord[] = [];
      for (let i = this.segmentFor(fromOffset); i < this.segments.length && out.length < maxRecords; i++) {
        const seg = this.segments[i];
        const from = seg.baseOffset <= fromOffset ? seg.index.positionForOffset(fromOffset) : 0;
        await seg.visit(this.ctx.io, from, (buf, _at, f) => {
          if (f.offset >= fromOffset) out.push(recordOf(buf, f));
          return out.length < maxRecords;
        });
      }
      return out;
    });
  }

  /** The first offset whose record's timestamp is at or after `ts`, or the end offset if there is none. */
  offsetForTimestamp(ts: number): Promise<number> {
    return this.run(async () => {
      for (const seg of this.segments) {
        if (!(seg.maxTimestamp >= ts)) continue;
        let found = -1;
        await seg.visit(this.ctx.io, seg.index.positionForTimestamp(ts), (_buf, _at, f) => {
          if (f.timestamp >= ts) found = f.offset;
          return found < 0;
        });
        if (found >= 0) return found;
      }
      return this.endOffset;
    });
  }

  private checkRange(offset: number): void {
    if (!Number.isSafeInteger(offset)) throw new Error(`offset ${offset} of partition ${this.id} is not an integer`);
    if (offset < this.startOffset || offset > this.endOffset)
      throw new LogOffsetOutOfRangeError(this.id, offset, this.startOffset, this.endOffset);
  }

  /** Index of the segment holding `offset`: the last one whose base offset is at or below it. */
  private segmentFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.segments[mid].baseOffset <= offset) lo = mid + 1;
      else hi = mid;
    }
    return Math.max(0, lo - 1);
  }

  /**
   * Seals the active segment (its index published first, so a sealed segment always has one unless a crash came
   * between) and starts a new one at the next offset; then applies retention.
   */
  async roll(): Promise<void> {
    const { io, fsync } = this.ctx;
    const old = this.active;
    await publish(io, old.indexPath, old.index.serialize(old.summary), fsync);
    const seg = new Segment(this.dir, old.nextOffset, 0, old.nextOffset, new SegmentIndex(this.ctx.indexInterval));
    let file: LogFile;
    try {
      file = await io.open(seg.path, 'create');
    } catch (e) {
      throw new LogWriteError(seg.path, 0, e);
    }
    try {
      if (fsync) await syncDir(io, this.dir);
    } catch (e) {
      await file.close();
      throw e;
    }
    await this.writer.close();
    this.writer = file;
    this.segments.push(seg);
    await this.retain();
  }

  /** Deletes whole sealed segments, oldest first, that retention no longer keeps. */
  async retain(): Promise<number> {
    const { ms, bytes } = this.ctx.retention;
    const cutoff = ms === undefined ? Number.NEGATIVE_INFINITY : this.ctx.clock() - ms;
    let total = this.segments.reduce((n, s) => n + s.bytes, 0);
    let deleted = 0;
    while (this.segments.length > 1) {
      const oldest = this.segments[0];
      if (!(oldest.maxTimestamp < cutoff) && !(bytes !== undefined && total > bytes)) break;
      // The data file goes first: an index left without its segment is removed on the next open.
      await oldest.closeReader();
      await this.ctx.io.unlink(oldest.path);
      await unlinkIfPresent(this.ctx.io, oldest.indexPath);
      this.segments.shift();
      total -= oldest.bytes;
      deleted++;
    }
    if (deleted > 0 && this.ctx.fsync) await syncDir(this.ctx.io, this.dir);
    return deleted;
  }

  async close(): Promise<void> {
    await this.queue;
    await this.writer.close();
    for (const s of this.segments) await s.closeReader();
  }
}

/** Adds the records of an encoded batch, written at byte `base` of the segment, to its index. */
function indexBatch(index: SegmentIndex, buf: Buffer, base: number): void {
  let at = 0;
  while (at < buf.length) {
    const size = buf.readUInt32LE(at + 4) + 8;
    if (buf[at + 8] === RECORD_TYPE) index.observe(readU64(buf, at + 12), base + at, readI64(buf, at + 20));
    at += size;
  }
}
