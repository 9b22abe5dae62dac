/**
 * The sparse index of one segment: every `interval` bytes, the offset and byte position of the record that starts
 * there and the greatest timestamp of the records before it. It serves both look-ups: by offset (last entry at or
 * below the offset) and by timestamp (last entry whose predecessors are all older than the timestamp; the first
 * record at or after the timestamp cannot lie before it). It is rebuilt by scanning the segment whenever its file is
 * missing or does not match the segment.
 */
import { crc32c } from './crc32c.ts';

const MAGIC = 0x4e504b49; // 'NPKI'
const VERSION = 1;
const HEADER_BYTES = 40;
const ENTRY_BYTES = 24;

/** What the index file also remembers of its segment, so that opening a sealed segment reads no data. */
export interface SegmentSummary {
  /** The segment's length in bytes: the index is valid only for a segment file of exactly this length. */
  readonly bytes: number;
  /** One past the last record's offset (the base offset when empty). */
  readonly nextOffset: number;
  readonly maxTimestamp: number;
}

export class SegmentIndex {
  private readonly offsets: number[] = [];
  private readonly positions: number[] = [];
  private readonly maxBefore: number[] = [];
  private lastEntryPosition = 0;
  /** Greatest timestamp of every record observed (−∞ when none). */
  maxTimestamp = Number.NEGATIVE_INFINITY;

  constructor(private readonly interval: number) {}

  /** Feeds the next record of the segment, in order. */
  observe(offset: number, position: number, timestamp: number): void {
    if (position - this.lastEntryPosition >= this.interval) {
      this.offsets.push(offset);
      this.positions.push(position);
      this.maxBefore.push(this.maxTimestamp);
      this.lastEntryPosition = position;
    }
    if (timestamp > this.maxTimestamp) this.maxTimestamp = timestamp;
  }

  /** Byte position from which a scan finds `offset` (or the first record after it). */
  positionForOffset(offset: number): number {
    const i = lastAtMost(this.offsets, offset);
    return i < 0 ? 0 : this.positions[i];
  }

  /** Byte position from which a scan finds the first record with a timestamp at or after `ts`. */
  positionForTimestamp(ts: number): number {
    // maxBefore never decreases, so the entries whose predecessors are all older than ts form a prefix.
    let lo = 0;
    let hi = this.maxBefore.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.maxBefore[mid] < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : this.positions[lo - 1];
  }

  get entries(): number {
    return this.offsets.length;
  }

  serialize(summary: SegmentSummary): Buffer {
    const n = this.offsets.length;
    const buf = Buffer.alloc(HEADER_BYTES + n * ENTRY_BYTES + 4);
    buf.writeUInt32LE(MAGIC, 0);
    buf.writeUInt32LE(VERSION, 4);
    buf.writeDoubleLE(summary.bytes, 8);
    buf.writeDoubleLE(summary.nextOffset, 16);
    buf.writeDoubleLE(summary.maxTimestamp, 24);
    buf.writeDoubleLE(n, 32);
    for (let i = 0; i < n; i++) {
      const at = HEADER_BYTES + i * ENTRY_BYTES;
      buf.writeDoubleLE(this.offsets[i], at);
      buf.writeDoubleLE(this.positions[i], at + 8);
      buf.writeDoubleLE(this.maxBefore[i], at + 16);
    }
    buf.writeUInt32LE(crc32c(buf, 0, buf.length - 4), buf.length - 4);
    return buf;
  }

  /** Reads an index file; undefined when it is damaged or of another version (the caller rebuilds it). */
  static parse(buf: Buffer, interval: number): { index: SegmentIndex; summary: SegmentSummary } | undefined {
    if (buf.length < HEADER_BYTES + 4 || buf.readUInt32LE(0) !== MAGIC || buf.readUInt32LE(4) !== VERSION) return;
    const n = buf.readDoubleLE(32);
    if (buf.length !== HEADER_BYTES + n * ENTRY_BYTES + 4) return;
    if (crc32c(buf, 0, buf.length - 4) !== buf.readUInt32LE(buf.length - 4)) return;
    const index = new SegmentIndex(interval);
    for (let i = 0; i < n; i++) {
      const at = HEADER_BYTES + i * ENTRY_BYTES;
      index.offsets.push(buf.readDoubleLE(at));
      index.positions.push(buf.readDoubleLE(at + 8));
      index.maxBefore.push(buf.readDoubleLE(at + 16));
    }
    const summary = {
      bytes: buf.readDoubleLE(8),
      nextOffset: buf.readDoubleLE(16),
      maxTimestamp: buf.readDoubleLE(24),
    };
    index.maxTimestamp = summary.maxTimestamp;
    index.lastEntryPosition = n === 0 ? 0 : index.positions[n - 1];
    return { index, summary };
  }
}

function lastAtMost(xs: readonly number[], x: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (xs[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
