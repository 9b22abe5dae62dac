/**
 * Column-at-a-time access to DuckDB data chunks through the C API bindings, for the connectors' hot paths. The
 * node-api conveniences (`getColumns`, `setColumnValues`) convert value by value through generic vector objects:
 * a `BigInt` per BIGINT, a `TextDecoder` call per string, a validity test built from `BigInt`s per value. Here a
 * column's data comes over in one copy as a typed array, the validity mask as bytes, and short strings (DuckDB keeps
 * up to 12 bytes inline) are decoded once per distinct value.
 */
import type { DuckDBDataChunk } from '@duckdb/node-api';
import duckdb from '@duckdb/node-bindings';
import type { Value } from '../../expr/types.ts';

/** Whether this host stores the low 32 bits of an int64 first (all platforms Node ships for but s390x). */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const TWO_32 = 2 ** 32;

/** Bytes of the validity mask of `n` rows: 64-bit words, one bit per row, least significant bit first. */
function maskBytes(n: number): number {
  return Math.ceil(n / 64) * 8;
}

export function vectorOf(chunk: DuckDBDataChunk, column: number): duckdb.Vector {
  return duckdb.data_chunk_get_vector(chunk.chunk, column);
}

/** The validity mask of a vector's first `n` rows; null when every row is valid. */
function validityOf(vector: duckdb.Vector, n: number): Uint8Array | null {
  const mask: Uint8Array | null = duckdb.vector_get_validity(vector, maskBytes(n));
  return mask;
}

/** Whether every one of the first `n` rows of the vector is NULL. */
export function allNull(vector: duckdb.Vector, n: number): boolean {
  const mask = validityOf(vector, n);
  if (mask === null) return n === 0;
  for (let i = 0; i < n >> 3; i++) if (mask[i] !== 0) return false;
  for (let i = n & ~7; i < n; i++) if ((mask[i >> 3] >> (i & 7)) & 1) return false;
  return true;
}

/** Copies `n` DOUBLE values into `out` from index `at`. */
export function readDoubles(vector: duckdb.Vector, n: number, out: Value[], at: number): void {
  const data = duckdb.vector_get_data(vector, n * 8);
  const values = new Float64Array(data.buffer, data.byteOffset, n);
  const mask = validityOf(vector, n);
  if (mask === null) for (let i = 0; i < n; i++) out[at + i] = values[i];
  else for (let i = 0; i < n; i++) out[at + i] = (mask[i >> 3] >> (i & 7)) & 1 ? values[i] : null;
}

/** Copies `n` INTEGER values into `out` from index `at`. */
export function readIntegers(vector: duckdb.Vector, n: number, out: Value[], at: number): void {
  const data = duckdb.vector_get_data(vector, n * 4);
  const values = new Int32Array(data.buffer, data.byteOffset, n);
  const mask = validityOf(vector, n);
  if (mask === null) for (let i = 0; i < n; i++) out[at + i] = values[i];
  else for (let i = 0; i < n; i++) out[at + i] = (mask[i >> 3] >> (i & 7)) & 1 ? values[i] : null;
}

/** Copies `n` BOOLEAN values into `out` from index `at`. */
export function readBooleans(vector: duckdb.Vector, n: number, out: Value[], at: number): void {
  const values = duckdb.vector_get_data(vector, n);
  const mask = validityOf(vector, n);
  for (let i = 0; i < n; i++) out[at + i] = mask === null || (mask[i >> 3] >> (i & 7)) & 1 ? values[i] !== 0 : null;
}

/** Slots of a string cache; it stops taking new strings when half full (a column of many distinct values). */
const CACHE_SLOTS = 4096;
const decoder = new TextDecoder();

/**
 * Reads VARCHAR vectors of one column. A DuckDB string is 16 bytes: its length, then up to 12 bytes inline, or a
 * prefix and a pointer. Inline strings are looked up by those 16 bytes in a small open-addressing cache, so a column
 * of few distinct values (codes, enums, flags) decodes each of them once and hands out the same string after, which
 * also makes later comparisons and hash lookups of them cheap. Longer strings are fetched and decoded one by one.
 */
export class StringReader {
  private readonly keys = new Int32Array(CACHE_SLOTS * 4);
  private readonly strings: (string | undefined)[] = new Array(CACHE_SLOTS);
  private cached = 0;

  read(vector: duckdb.Vector, n: number, out: Value[], at: number): void {
    const data = duckdb.vector_get_data(vector, n * 16);
    const words = new Int32Array(data.buffer, data.byteOffset, n * 4);
    const mask = validityOf(vector, n);
    for (let i = 0; i < n; i++) {
      if (mask !== null && ((mask[i >> 3] >> (i & 7)) & 1) === 0) out[at + i] = null;
      else {
        const len = words[i * 4];
        out[at + i] =
          len <= 12
            ? this.inline(data, words, i * 4, len)
            : decoder.decode(
                duckdb.get_data_from_pointer(data.buffer as ArrayBuffer, data.byteOffset + i * 16 + 8, len),
              );
      }
    }
  }

  /**
   * The inline string at word `w`. The key is all 16 bytes, so bytes past the string's end (zero in practice)
   * can only cost a miss, never a wrong string.
   */
  private inline(data: Uint8Array, words: Int32Array, w: number, len: number): string {
    const a = words[w + 1];
    const b = words[w + 2];
    const c = words[w + 3];
    const keys = this.keys;
    let h = Math.imul(len ^ a, 0x9e3779b1) ^ b;
    h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ c;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    let s = (h ^ (h >>> 16)) & (CACHE_SLOTS - 1);
    for (;;) {
      const hit = this.strings[s];
      if (hit === undefined) break;
      const k = s * 4;
      if (keys[k] === len && keys[k + 1] === a && keys[k + 2] === b && keys[k + 3] === c) return hit;
      s = (s + 1) & (CACHE_SLOTS - 1);
    }
    const start = data.byteOffset + w * 4 + 4;
    const text = decoder.decode(new Uint8Array(data.buffer, start, len));
    if (this.cached * 2 < CACHE_SLOTS) {
      this.cached++;
      const k = s * 4;
      keys[k] = len;
      keys[k + 1] = a;
      keys[k + 2] = b;
      keys[k + 3] = c;
      this.strings[s] = text;
    }
    return text;
  }
}

/**
 * Writes `n` values of `col` from `start` into a vector of a chunk being appended, with the validity mask. `kind`
 * is the vector's type; the values must be of the matching JavaScript type (numbers, booleans, strings).
 */
export function writeColumn(
  vector: duckdb.Vector,
  kind: 'DOUBLE' | 'BIGINT' | 'INTEGER' | 'BOOLEAN' | 'VARCHAR',
  col: readonly unknown[],
  start: number,
  n: number,
  scratch: WriteScratch,
): void {
  const mask = scratch.mask(n);
  switch (kind) {
    case 'DOUBLE': {
      const out = scratch.float64(n);
      for (let i = 0; i < n; i++) {
        const v = col[start + i];
        if (v === null || v === undefined) {
          mask[i >> 3] &= ~(1 << (i & 7));
          out[i] = 0;
        } else out[i] = v as number;
      }
      duckdb.copy_data_to_vector(vector, 0, out.buffer, out.byteOffset, n * 8);
      break;
    }
    case 'BIGINT': {
      // Safe integers as two 32-bit halves: no BigInt per value.
      const out = scratch.uint32(2 * n);
      const lo = LITTLE_ENDIAN ? 0 : 1;
      for (let i = 0; i < n; i++) {
        const v = col[start + i];
        if (v === null || v === undefined) {
          mask[i >> 3] &= ~(1 << (i & 7));
          out[2 * i] = 0;
          out[2 * i + 1] = 0;
        } else {
          const x = v as number;
          const high = Math.floor(x / TWO_32);
          out[2 * i + lo] = x - high * TWO_32;
          out[2 * i + 1 - lo] = high >>> 0;
        }
      }
      duckdb.copy_data_to_vector(vector, 0, out.buffer, out.byteOffset, n * 8);
      break;
    }
    case 'INTEGER': {
      const out = scratch.int32(n);
      for (let i = 0; i < n; i++) {
        const v = col[start + i];
        if (v === null || v === undefined) {
          mask[i >> 3] &= ~(1 << (i & 7));
          out[i] = 0;
        } else out[i] = v as number;
      }
      duckdb.copy_data_to_vector(vector, 0, out.buffer, out.byteOffset, n * 4);
      break;
    }
    case 'BOOLEAN': {
      const out = scratch.uint8(n);
      for (let i = 0; i < n; i++) {
        const v = col[start + i];
        if (v === null || v === undefined) {
          mask[i >> 3] &= ~(1 << (i & 7));
          out[i] = 0;
        } else out[i] = v === true ? 1 : 0;
      }
      duckdb.copy_data_to_vector(vector, 0, out.buffer, out.byteOffset, n);
      break;
    }
    case 'VARCHAR': {
      for (let i = 0; i < n; i++) {
        const v = col[start + i];
        if (v === null || v === undefined) {
          mask[i >> 3] &= ~(1 << (i & 7));
        } else duckdb.vector_assign_string_element(vector, i, typeof v === 'string' ? v : JSON.stringify(v));
      }
      break;
    }
    default:
      throw new Error(`no vector writer for ${kind satisfies never}`);
  }
  // Written every time, all ones when there is no null: a reused chunk may still hold an earlier chunk's mask.
  duckdb.vector_ensure_validity_writable(vector);
  duckdb.copy_data_to_vector_validity(vector, 0, mask.buffer, mask.byteOffset, maskBytes(n));
}

/** Typed arrays reused by every `writeColumn` call of one appender, sized for one chunk. */
export class WriteScratch {
  private readonly bytes: ArrayBuffer;
  private readonly maskBuffer: Uint8Array<ArrayBuffer>;

  constructor(private readonly rows: number) {
    this.bytes = new ArrayBuffer(rows * 8);
    this.maskBuffer = new Uint8Array(maskBytes(rows));
  }

  /** A mask with all of the first `n` rows valid. */
  mask(n: number): Uint8Array<ArrayBuffer> {
    this.check(n);
    this.maskBuffer.fill(0xff);
    return this.maskBuffer;
  }

  float64(n: number): Float64Array<ArrayBuffer> {
    this.check(n);
    return new Float64Array(this.bytes, 0, n);
  }

  uint32(n: number): Uint32Array<ArrayBuffer> {
    this.check(n / 2);
    return new Uint32Array(this.bytes, 0, n);
  }

  int32(n: number): Int32Array<ArrayBuffer> {
    this.check(n);
    return new Int32Array(this.bytes, 0, n);
  }

  uint8(n: number): Uint8Array<ArrayBuffer> {
    this.check(n);
    return new Uint8Array(this.bytes, 0, n);
  }

  private check(n: number): void {
    if (n > this.rows) throw new RangeError(`a chunk holds at most ${this.rows} rows, got ${n}`);
  }
}
