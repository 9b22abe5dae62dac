/**
 * One segment: a file of frames named by the offset of its first record (`00000000000000001000.seg`) and its sparse
 * index (`….idx`). Only the last segment of a partition is written to; the others are sealed.
 */
import { join } from 'node:path';
import { LogCorruptionError } from './errors.ts';
import { type DecodedFrame, decodeFrame } from './frame.ts';
import type { LogFile, LogIO } from './io.ts';
import type { SegmentIndex } from './segment-index.ts';

export const SEGMENT_EXT = '.seg';
export const INDEX_EXT = '.idx';
const READ_CHUNK = 256 << 10;

export type RecordFrame = DecodedFrame & { kind: 'record' };

export const segmentName = (baseOffset: number): string => String(baseOffset).padStart(20, '0');

/** Called for each record frame from a position on; returns false to stop. */
export type FrameVisitor = (buf: Buffer, at: number, f: RecordFrame) => boolean | Promise<boolean>;

export class Segment {
  readonly path: string;
  readonly indexPath: string;
  /** Open for reading once something reads it. */
  private reader: LogFile | undefined;

  constructor(
    readonly dir: string,
    readonly baseOffset: number,
    /** Bytes of committed (acknowledged) frames; nothing past them is ever read. */
    public bytes: number,
    public nextOffset: number,
    public index: SegmentIndex,
  ) {
    this.path = join(dir, segmentName(baseOffset) + SEGMENT_EXT);
    this.indexPath = join(dir, segmentName(baseOffset) + INDEX_EXT);
  }

  get maxTimestamp(): number {
    return this.index.maxTimestamp;
  }

  get summary(): { bytes: number; nextOffset: number; maxTimestamp: number } {
    return { bytes: this.bytes, nextOffset: this.nextOffset, maxTimestamp: this.maxTimestamp };
  }

  /**
   * Visits the committed record frames from byte `position` on, checking each frame again: a frame that fails
   * here was damaged after it was acknowledged.
   */
  async visit(io: LogIO, position: number, visitor: FrameVisitor): Promise<void> {
    this.reader ??= await io.open(this.path, 'read');
    let buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(this.bytes - position, 1)));
    let pos = position;
    while (pos < this.bytes) {
      const want = Math.min(buf.length, this.bytes - pos);
      const got = await readFully(this.reader, buf, want, pos);
      if (got < want) throw this.damaged(pos + got, `file ends before its committed length of ${this.bytes} bytes`);
      let at = 0;
      while (at < got) {
        const f = decodeFrame(buf, at, got);
        if (f.kind === 'short') {
          if (at > 0) break;
          if (pos + f.need > this.bytes) throw this.damaged(pos, 'frame runs past the committed end');
          buf = Buffer.allocUnsafe(f.need);
          break;
        }
        if (f.kind === 'bad') throw this.damaged(pos + at, f.check);
        if (f.kind === 'record') {
          const more = visitor(buf, at, f);
          if (!(typeof more === 'boolean' ? more : await more)) return;
        }
        at += f.size;
      }
      pos += at;
      // A chunk whose frames were all handed out stays with the records that point into it.
      if (at > 0) buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(this.bytes - pos, 1)));
    }
  }

  private damaged(position: number, check: string): LogCorruptionError {
    return new LogCorruptionError(this.path, position, check, 'in acknowledged data, found on read');
  }

  async closeReader(): Promise<void> {
    const r = this.reader;
    this.reader = undefined;
    await r?.close();
  }
}

async function readFully(file: LogFile, buf: Buffer, length: number, position: number): Promise<number> {
  let got = 0;
  while (got < length) {
    const n = await file.read(buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}
