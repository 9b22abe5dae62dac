/**
 * The on-disk frames of a log segment (all integers little-endian):
 *
 *   record: crc32c u32 | length u32 | type 'R' u8 | flags u8 | 0 u16 | offset u64 | timestamp i64 |
 *           key length u32 | value length u32 | key | value
 *   commit: crc32c u32 | length u32 | type 'C' u8 | 0 u8 | 0 u16 | first offset u64 | last offset u64 | count u32
 *
 * `length` counts the bytes after itself; the CRC covers everything after itself, the length included, so a damaged
 * length cannot pass as a shorter valid frame. Flags say whether the key and the value are present (null otherwise).
 * Every append ends with one commit frame (spec reliability §2.9): bytes after the last valid commit frame were never
 * acknowledged.
 */
import { crc32c } from './crc32c.ts';

export const RECORD_TYPE = 0x52;
export const COMMIT_TYPE = 0x43;
export const RECORD_HEADER_BYTES = 36;
export const COMMIT_FRAME_BYTES = 32;
/** A frame longer than this is taken as a damaged length field, not allocated. */
export const MAX_FRAME_BYTES = 1 << 30;

const KEY_PRESENT = 1;
const VALUE_PRESENT = 2;
const TWO_32 = 2 ** 32;

/** One record to append. Strings are stored as UTF-8; a null value is a tombstone for its key. */
export interface AppendRecord {
  readonly key?: Uint8Array | string | null;
  readonly value: Uint8Array | string | null;
  /** Event time, integer milliseconds since the epoch (spec T1). */
  readonly timestamp: number;
}

/** One record read back, with the offset the log gave it. */
export interface LogRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
}

export type DecodedFrame =
  | {
      readonly kind: 'record';
      readonly size: number;
      readonly offset: number;
      readonly timestamp: number;
      /** Payload positions in the buffer; -1 length for null. */
      readonly keyStart: number;
      readonly keyLength: number;
      readonly valueStart: number;
      readonly valueLength: number;
    }
  | {
      readonly kind: 'commit';
      readonly size: number;
      readonly firstOffset: number;
      readonly lastOffset: number;
      readonly count: number;
    }
  /** The buffer ends before the frame does; `need` bytes from the frame's start would complete it. */
  | { readonly kind: 'short'; readonly need: number }
  | { readonly kind: 'bad'; readonly check: string };

const toBytes = (x: Uint8Array | string): Uint8Array => (typeof x === 'string' ? Buffer.from(x, 'utf8') : x);

function checkRecord(r: AppendRecord, i: number): void {
  if (!Number.isSafeInteger(r.timestamp))
    throw new Error(`record ${i} of the batch: timestamp ${r.timestamp} is not an integer number of milliseconds`);
  if (r.value !== null && typeof r.value !== 'string' && !(r.value instanceof Uint8Array))
    throw new Error(`record ${i} of the batch: value must be a Uint8Array, a string or null`);
}

/** Encodes records with offsets `firstOffset…` followed by their commit frame, as one buffer for one write. */
export function encodeBatch(records: readonly AppendRecord[], firstOffset: number): Buffer {
  const keys: (Uint8Array | null)[] = [];
  const values: (Uint8Array | null)[] = [];
  let total = COMMIT_FRAME_BYTES;
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    checkRecord(r, i);
    const k = r.key === undefined || r.key === null ? null : toBytes(r.key);
    const v = r.value === null ? null : toBytes(r.value);
    const size = RECORD_HEADER_BYTES + (k?.length ?? 0) + (v?.length ?? 0);
    if (size > MAX_FRAME_BYTES) throw new Error(`record ${i} of the batch: ${size} bytes is over the 1 GiB limit`);
    keys.push(k);
    values.push(v);
    total += size;
  }
  const buf = Buffer.allocUnsafe(total);
  let at = 0;
  for (let i = 0; i < records.length; i++) {
    at = writeRecord(buf, at, firstOffset + i, records[i].timestamp, keys[i], values[i]);
  }
  writeCommit(buf, at, firstOffset, firstOffset + records.length - 1, records.length);
  return buf;
}

/** Writes one record frame at `at`; returns the position after it. */
export function writeRecord(
  buf: Buffer,
  at: number,
  offset: number,
  timestamp: number,
  key: Uint8Array | null,
  value: Uint8Array | null,
): number {
  const kLen = key?.length ?? 0;
  const vLen = value?.length ?? 0;
  const end = at + RECORD_HEADER_BYTES + kLen + vLen;
  buf.writeUInt32LE(end - at - 8, at + 4);
  buf[at + 8] = RECORD_TYPE;
  buf[at + 9] = (key === null ? 0 : KEY_PRESENT) | (value === null ? 0 : VALUE_PRESENT);
  buf.writeUInt16LE(0, at + 10);
  writeU64(buf, at + 12, offset);
  writeI64(buf, at + 20, timestamp);
  buf.writeUInt32LE(kLen, at + 28);
  buf.writeUInt32LE(vLen, at + 32);
  if (key !== null) buf.set(key, at + RECORD_HEADER_BYTES);
  if (value !== null) buf.set(value, at + RECORD_HEADER_BYTES + kLen);
  buf.writeUInt32LE(crc32c(buf, at + 4, end), at);
  return end;
}

/** Writes a commit frame for the `count` records `firstOffset…lastOffset` just before it. */
export function writeCommit(buf: Buffer, at: number, firstOffset: number, lastOffset: number, count: number): number {
  buf.writeUInt32LE(COMMIT_FRAME_BYTES - 8, at + 4);
  buf[at + 8] = COMMIT_TYPE;
  buf[at + 9] = 0;
  buf.writeUInt16LE(0, at + 10);
  writeU64(buf, at + 12, firstOffset);
  writeU64(buf, at + 20, lastOffset);
  buf.writeUInt32LE(count, at + 28);
  buf.writeUInt32LE(crc32c(buf, at + 4, at + COMMIT_FRAME_BYTES), at);
  return at + COMMIT_FRAME_BYTES;
}

/** Decodes the frame at `buf[at…end)`, checking its length, CRC32C and layout (not its place in the log). */
export function decodeFrame(buf: Buffer, at: number, end: number): DecodedFrame {
  if (end - at < 8) return { kind: 'short', need: 8 };
  const length = buf.readUInt32LE(at + 4);
  if (length < COMMIT_FRAME_BYTES - 8 || length > MAX_FRAME_BYTES)
    return { kind: 'bad', check: `frame length ${length} is out of range` };
  const size = length + 8;
  if (end - at < size) return { kind: 'short', need: size };
  const expected = buf.readUInt32LE(at);
  const found = crc32c(buf, at + 4, at + size);
  if (expected !== found) return { kind: 'bad', check: `CRC32C expected ${hex(expected)}, found ${hex(found)}` };
  const type = buf[at + 8];
  if (type === COMMIT_TYPE) {
    if (size !== COMMIT_FRAME_BYTES) return { kind: 'bad', check: `commit frame of ${size} bytes` };
    const firstOffset = readU64(buf, at + 12);
    const lastOffset = readU64(buf, at + 20);
    return { kind: 'commit', size, firstOffset, lastOffset, count: buf.readUInt32LE(at + 28) };
  }
  if (type !== RECORD_TYPE || size < RECORD_HEADER_BYTES) return { kind: 'bad', check: `unknown frame type ${type}` };
  return decodeRecordHeader(buf, at, size);
}

function decodeRecordHeader(buf: Buffer, at: number, size: number): DecodedFrame {
  const flags = buf[at + 9];
  const kLen = buf.readUInt32LE(at + 28);
  const vLen = buf.readUInt32LE(at + 32);
  if (RECORD_HEADER_BYTES + kLen + vLen !== size) return { kind: 'bad', check: 'key and value lengths disagree' };
  const keyStart = at + RECORD_HEADER_BYTES;
  return {
    kind: 'record',
    size,
    offset: readU64(buf, at + 12),
    timestamp: readI64(buf, at + 20),
    keyStart,
    keyLength: flags & KEY_PRESENT ? kLen : -1,
    valueStart: keyStart + kLen,
    valueLength: flags & VALUE_PRESENT ? vLen : -1,
  };
}

/** The record a decoded frame describes; key and value are views into `buf`. */
export function recordOf(buf: Buffer, f: DecodedFrame & { kind: 'record' }): LogRecord {
  return {
    offset: f.offset,
    timestamp: f.timestamp,
    key: f.keyLength < 0 ? null : buf.subarray(f.keyStart, f.keyStart + f.keyLength),
    value: f.valueLength < 0 ? null : buf.subarray(f.valueStart, f.valueStart + f.valueLength),
  };
}

export const hex = (x: number): string => `0x${x.toString(16).padStart(8, '0')}`;

function writeU64(buf: Buffer, at: number, x: number): void {
  buf.writeUInt32LE(x % TWO_32, at);
  buf.writeUInt32LE(Math.floor(x / TWO_32), at + 4);
}

function writeI64(buf: Buffer, at: number, x: number): void {
  const hi = Math.floor(x / TWO_32);
  buf.writeUInt32LE(x - hi * TWO_32, at);
  buf.writeInt32LE(hi, at + 4);
}

export const readU64 = (buf: Buffer, at: number): number => buf.readUInt32LE(at) + buf.readUInt32LE(at + 4) * TWO_32;
export const readI64 = (buf: Buffer, at: number): number => buf.readUInt32LE(at) + buf.readInt32LE(at + 4) * TWO_32;
