/**
 * Compaction of a changelog partition: of each key only its last record stays, and a key whose last record is a
 * tombstone (null value) goes entirely. Records without a key are kept. Offsets do not change (a reader sees gaps).
 *
 * Segments are rewritten oldest first, each atomically (temporary file, fsync, rename, fsync of the folder), so a
 * crash between two leaves older values already gone before the tombstone that deleted them: a deleted key never
 * comes back.
 */
import { datasync, publish, syncDir, unlinkIfPresent, writeAll } from './durable.ts';
import { LogWriteError } from './errors.ts';
import { COMMIT_FRAME_BYTES, writeCommit } from './frame.ts';
import type { LogFile } from './io.ts';
import type { PartitionContext } from './partition.ts';
import type { RecordFrame, Segment } from './segment.ts';
import { SegmentIndex } from './segment-index.ts';

const FLUSH_BYTES = 1 << 20;

export interface CompactionResult {
  readonly segmentsRewritten: number;
  readonly recordsRemoved: number;
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

interface Last {
  offset: number;
  segment: number;
  tombstone: boolean;
}

/** Compacts sealed segments (the caller rolls the active one first). */
export async function compactSegments(segments: readonly Segment[], ctx: PartitionContext): Promise<CompactionResult> {
  const last = new Map<string, Last>();
  const removed = new Array<number>(segments.length).fill(0);
  for (let s = 0; s < segments.length; s++) {
    await segments[s].visit(ctx.io, 0, (buf, _at, f) => {
      if (f.keyLength < 0) return true;
      const key = keyOf(buf, f);
      const prev = last.get(key);
      if (prev !== undefined) removed[prev.segment]++;
      last.set(key, { offset: f.offset, segment: s, tombstone: f.valueLength < 0 });
      return true;
    });
  }
  for (const l of last.values()) if (l.tombstone) removed[l.segment]++;
  const bytesBefore = segments.reduce((n, s) => n + s.bytes, 0);
  let rewritten = 0;
  for (let s = 0; s < segments.length; s++) {
    if (removed[s] === 0) continue;
    await rewrite(segments[s], last, ctx);
    rewritten++;
  }
  return {
    segmentsRewritten: rewritten,
    recordsRemoved: removed.reduce((a, b) => a + b, 0),
    bytesBefore,
    bytesAfter: segments.reduce((n, s) => n + s.bytes, 0),
  };
}

const keyOf = (buf: Buffer, f: RecordFrame): string => buf.toString('latin1', f.keyStart, f.keyStart + f.keyLength);

function keeps(buf: Buffer, f: RecordFrame, last: ReadonlyMap<string, Last>): boolean {
  if (f.keyLength < 0) return true;
  const l = last.get(keyOf(buf, f));
  return l !== undefined && l.offset === f.offset && !l.tombstone;
}

/** Writes the kept frames of `seg` to a temporary file and swaps it in; the segment keeps its name and offsets. */
async function rewrite(seg: Segment, last: ReadonlyMap<string, Last>, ctx: PartitionContext): Promise<void> {
  const { io, fsync } = ctx;
  const tmp = `${seg.path}.tmp`;
  await unlinkIfPresent(io, tmp);
  let file: LogFile;
  try {
    file = await io.open(tmp, 'create');
  } catch (e) {
    throw new LogWriteError(tmp, 0, e);
  }
  const out = new Output(file, tmp, ctx.indexInterval);
  try {
    await seg.visit(io, 0, (buf, at, f) => (keeps(buf, f, last) ? out.add(buf, at, f) : true));
    await out.finish();
    if (fsync) await datasync(file, tmp);
  } catch (e) {
    await file.close();
    if (e instanceof LogWriteError) await unlinkIfPresent(io, tmp);
    throw e;
  }
  await file.close();
  // The old index would describe the old file: it goes before the swap, and is rebuilt if a crash comes between.
  await unlinkIfPresent(io, seg.indexPath);
  await seg.closeReader();
  await io.rename(tmp, seg.path);
  if (fsync) await syncDir(io, seg.dir);
  seg.bytes = out.position;
  seg.index = out.index;
  await publish(io, seg.indexPath, seg.index.serialize(seg.summary), fsync);
}

/** The compacted segment being written: frames copied as they are (their CRCs still hold), then one commit frame. */
class Output {
  readonly index: SegmentIndex;
  position = 0;
  private buf = Buffer.allocUnsafe(FLUSH_BYTES + COMMIT_FRAME_BYTES);
  private used = 0;
  private first = -1;
  private lastOffset = -1;
  private count = 0;

  constructor(
    private readonly file: LogFile,
    private readonly path: string,
    interval: number,
  ) {
    this.index = new SegmentIndex(interval);
  }

  add(buf: Buffer, at: number, f: RecordFrame): boolean | Promise<boolean> {
    if (this.used + f.size > this.buf.length) return this.flush(f.size).then(() => this.add(buf, at, f));
    this.index.observe(f.offset, this.position + this.used, f.timestamp);
    buf.copy(this.buf, this.used, at, at + f.size);
    this.used += f.size;
    if (this.first < 0) this.first = f.offset;
    this.lastOffset = f.offset;
    this.count++;
    return true;
  }

  private async flush(need = 0): Promise<boolean> {
    await writeAll(this.file, this.path, this.buf.subarray(0, this.used), this.position);
    this.position += this.used;
    this.used = 0;
    if (need + COMMIT_FRAME_BYTES > this.buf.length) this.buf = Buffer.allocUnsafe(need + COMMIT_FRAME_BYTES);
    return true;
  }

  async finish(): Promise<void> {
    if (this.count > 0) {
      if (this.used + COMMIT_FRAME_BYTES > this.buf.length) await this.flush();
      this.used = writeCommit(this.buf, this.used, this.first, this.lastOffset, this.count);
    }
    await this.flush();
  }
}
