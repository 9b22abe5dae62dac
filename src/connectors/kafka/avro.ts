import avsc from 'avsc';
import { dayOfDays, monthOfDays, yearOfDays } from '../../expr/runtime.ts';
import type { Field, Value } from '../../expr/types.ts';
import { deriveAvroSchema } from '../../flow/avro-schema.ts';
import { shortenFound } from '../../runtime/scalars.ts';

/**
 * Avro binary of a contract's record (`format: 'avro'`), through one avsc Type compiled per codec. Decoding yields
 * what the JSON formats carry, so the contract's JSON validator checks it: numbers, strings and booleans as they
 * are, timestamps as integer milliseconds, dates as `YYYY-MM-DD`, decimals as their text with `scale` digits (as the
 * JSON sink writes them). Encoding takes napkin's runtime values (dates as days, decimals as numbers).
 */

/** What {@link AvroCodec.decode} returns for bytes that are not a record; the codec's `failure` says why. */
export const UNDECODABLE: unique symbol = Symbol('undecodable Avro');

/** Avro binary carries no names, so the one given to the compiled record changes no byte. */
const RECORD_NAME = 'napkin.record';

export interface AvroFailure {
  errorClass: 'parse' | 'truncated';
  found: string;
}

export class AvroCodec {
  /** The fields a value holds, in order: the contract's, less the headers field. */
  readonly fields: readonly Field[];
  /** What a value must be, for quarantine entries. */
  readonly expected: string;
  /** Why the last decode returned {@link UNDECODABLE}. */
  readonly failure: AvroFailure = { errorClass: 'parse', found: '' };
  private readonly type: avsc.Type;
  private readonly valueTypes: readonly avsc.Type[];
  /** One object refilled per row: avsc reads it while encoding and keeps nothing. */
  private readonly row: Record<string, Value> = {};
  private out = Buffer.alloc(1024);

  constructor(fields: readonly Field[], headers: string | undefined) {
    this.fields = fields.filter((f) => f.name !== headers);
    const schema = deriveAvroSchema(RECORD_NAME, fields, headers);
    // avsc types schemas as mutable; it only reads them.
    this.type = avsc.Type.forSchema(schema as unknown as avsc.Schema, {
      logicalTypes: { date: DateText, decimal: DecimalText },
      wrapUnions: false,
      omitRecordMethods: true,
      typeHook: exactTypes,
    });
    this.valueTypes = (this.type as avsc.types.RecordType).fields.map((f) => f.type);
    const names = this.fields.map((f) => f.name).join(', ');
    this.expected = `Avro binary of the contract's record (${names.length <= 60 ? names : `${this.fields.length} fields`})`;
  }

  /** The record that fills `buf` from `start` to its end, or {@link UNDECODABLE} (see `failure`). */
  decode(buf: Buffer, start: number): unknown {
    let got: { value: unknown; offset: number };
    try {
      got = this.type.decode(buf, start);
    } catch (e) {
      return this.fail('parse', shortenFound(`bytes that are no such record (${(e as Error).message})`));
    }
    if (got.offset < 0) return this.fail('truncated', `${bytes(buf.length - start)}, cut inside the record`);
    if (got.offset < buf.length) return this.fail('parse', `${bytes(buf.length - got.offset)} after the record's end`);
    return got.value;
  }

  /** The value of row `i` (columns in contract order), after `prefix` (the wire framing). */
  encode(columns: readonly (readonly Value[])[], colOf: readonly number[], i: number, prefix: Buffer): Buffer {
    const row = this.row;
    for (let j = 0; j < colOf.length; j++) row[this.fields[j].name] = columns[colOf[j]][i];
    prefix.copy(this.out, 0);
    let end = this.write(prefix.length);
    while (end < 0) {
      this.out = Buffer.alloc(Math.max(2 * this.out.length, this.out.length - end));
      prefix.copy(this.out, 0);
      end = this.write(prefix.length);
    }
    const value = Buffer.allocUnsafe(end);
    this.out.copy(value, 0, 0, end);
    return value;
  }

  /** Encodes `row` at `pos`: the end, or minus the bytes missing. */
  private write(pos: number): number {
    try {
      return this.type.encode(this.row, this.out, pos);
    } catch (e) {
      throw new Error(`Avro value: ${this.badField() ?? (e as Error).message}`);
    }
  }

  /** Which field avsc refused: its error names the value, not the field. */
  private badField(): string | undefined {
    const j = this.valueTypes.findIndex((t, k) => !t.isValid(this.row[this.fields[k].name]));
    if (j < 0) return undefined;
    return `field '${this.fields[j].name}' cannot hold ${JSON.stringify(this.row[this.fields[j].name])}`;
  }

  private fail(errorClass: AvroFailure['errorClass'], found: string): typeof UNDECODABLE {
    this.failure.errorClass = errorClass;
    this.failure.found = found;
    return UNDECODABLE;
  }
}

/**
 * A date: days since 1970-01-01 in Avro, `YYYY-MM-DD` decoded (the JSON text the validator parses). Past the end of
 * a truncated value avsc hands logical types undefined and goes on (the decode then reports the truncation), so
 * `_fromValue` must not throw on it.
 */
class DateText extends avsc.types.LogicalType {
  protected override _fromValue(days: number | undefined): string {
    if (days === undefined) return '';
    const y = yearOfDays(days);
    // Years past 9999 keep a sign and six digits, as toISOString writes them, which the validator refuses.
    const year = y >= 0 && y <= 9999 ? pad(y, 4) : (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
    return `${year}-${pad(monthOfDays(days), 2)}-${pad(dayOfDays(days), 2)}`;
  }

  protected override _toValue(v: unknown): number | undefined {
    return typeof v === 'number' ? v : undefined;
  }

  protected override _resolve(): undefined {
    return undefined;
  }
}

/**
 * A decimal: the unscaled integer as big-endian two's complement bytes in Avro, its text with `scale` digits decoded.
 * Encoding goes through the text `toFixed` writes, as the JSON sink does, so both formats round alike.
 */
class DecimalText extends avsc.types.LogicalType {
  private readonly scale: number;

  constructor(schema: avsc.Schema, opts?: object) {
    super(schema, opts);
    const scale = (schema as { scale?: unknown }).scale;
    this.scale = typeof scale === 'number' ? scale : 0;
  }

  protected override _fromValue(bytes: Buffer | undefined): string {
    return bytes === undefined ? '' : decimalText(unscaledOf(bytes), this.scale);
  }

  protected override _toValue(v: unknown): Buffer | undefined {
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    return bytesOf(unscaled(v, this.scale));
  }

  protected override _resolve(): undefined {
    return undefined;
  }
}

function bytes(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function unscaled(v: number, scale: number): bigint {
  const text = v.toFixed(scale);
  // From 1e21 on toFixed writes an exponent; such a double is an integer.
  if (text.includes('e')) return BigInt(v) * 10n ** BigInt(scale);
  return BigInt(scale === 0 ? text : text.replace('.', ''));
}

export function bytesOf(n: bigint): Buffer {
  const magnitude = n < 0n ? -n - 1n : n;
  const length = Math.floor(magnitude.toString(2).length / 8) + 1;
  const bits = BigInt(length * 8);
  const hex = (n < 0n ? (1n << bits) + n : n).toString(16).padStart(length * 2, '0');
  return Buffer.from(hex, 'hex');
}

export function unscaledOf(bytes: Buffer): bigint {
  if (bytes.length <= 6) return BigInt(bytes.length === 0 ? 0 : bytes.readIntBE(0, bytes.length));
  const n = BigInt(`0x${bytes.toString('hex')}`);
  return bytes[0] >= 0x80 ? n - (1n << BigInt(bytes.length * 8)) : n;
}

export function decimalText(n: bigint, scale: number): string {
  const digits = (n < 0n ? -n : n).toString().padStart(scale + 1, '0');
  const sign = n < 0n ? '-' : '';
  if (scale === 0) return sign + digits;
  return `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** avsc's internals that {@link GuardedArray} and {@link ExactLong} work with (avsc is pinned: 5.7.9). */
interface Tap {
  readonly buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  writeLong(n: number): void;
}

interface Reader {
  _read(tap: Tap): unknown;
}

/** Longs and arrays read and written by {@link ExactLong} and {@link GuardedArray} instead of avsc's own. */
function exactTypes(schema: avsc.Schema, opts: Partial<avsc.ForSchemaOptions>): avsc.Type | undefined {
  const type = typeof schema === 'string' ? schema : (schema as { type?: unknown }).type;
  if (type === 'long') return new ExactLong();
  return type === 'array' ? new GuardedArray(schema, opts) : undefined;
}

const TWO_27 = 2 ** 27;

/**
 * A long exact over napkin's whole int64 range, ±(2^53 − 1). avsc 5.7.9 zigzags beyond 2^30 in doubles, which for
 * negative longs past 2^52 rounds: -(2^52 + 1) is written, and a Java writer's bytes read, as +2^52. Here the zigzag
 * value is split at bit 28 so that every step is exact; longs past the range are refused, not rounded.
 */
class ExactLong extends avsc.types.LongType {
  _read(tap: Tap): number {
    const buf = tap.buf;
    let pos = tap.pos;
    let b = buf[pos++];
    let lo = b & 0x7f;
    for (let shift = 7; b & 0x80 && shift < 28; shift += 7) {
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
    }
    let hi = 0;
    for (let scale = 1; b & 0x80; scale *= 128) {
      b = buf[pos++];
      hi += (b & 0x7f) * scale;
    }
    tap.pos = pos;
    // The zigzag value is lo + hi·2^28: its half is exact below 2^53, and rounds to 2^53 or more above.
    const half = (lo >>> 1) + hi * TWO_27;
    if (half + (lo & 1) > Number.MAX_SAFE_INTEGER) throw new Error('a long beyond ±(2^53 − 1)');
    return lo & 1 ? -half - 1 : half;
  }

  _write(tap: Tap, n: unknown): void {
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new Error(`invalid "long": ${String(n)}`);
    if (n >= -0x40000000 && n < 0x40000000) {
      tap.writeLong(n); // avsc's integer arithmetic, exact here
      return;
    }
    // zigzag(n) = 2m + sign with m = |n| or |n| − 1: its low 28 bits come from m mod 2^27, the rest is m / 2^27.
    const m = n < 0 ? -n - 1 : n;
    let lo = 2 * (m % TWO_27) + (n < 0 ? 1 : 0);
    let hi = Math.floor(m / TWO_27);
    const buf = tap.buf;
    let pos = tap.pos;
    for (let k = 0; k < 4; k++, lo >>>= 7) buf[pos++] = (lo & 0x7f) | 0x80;
    for (; hi >= 0x80; hi = Math.floor(hi / 128)) buf[pos++] = (hi % 128) | 0x80;
    buf[pos++] = hi;
    tap.pos = pos; // past the end when the buffer was too small, which avsc's encode reports
  }

  _check(n: unknown): boolean {
    return typeof n === 'number' && Number.isSafeInteger(n);
  }
}

/**
 * An array that refuses a count larger than the bytes left. avsc allocates and loops over whatever count the bytes
 * spell, so one garbled record could take gigabytes and minutes; every item of napkin's types takes a byte or more.
 */
class GuardedArray extends avsc.types.ArrayType {
  _read(tap: Tap): unknown[] {
    const items = this.itemsType as unknown as Reader;
    const out: unknown[] = [];
    for (let n = tap.readLong(); n !== 0; n = tap.readLong()) {
      if (n < 0) {
        n = -n;
        tap.skipLong(); // the block's size in bytes
      }
      if (n > tap.buf.length - tap.pos) {
        tap.pos = tap.buf.length + 1; // what avsc does to mark a tap invalid
        return out;
      }
      for (; n > 0; n--) out.push(items._read(tap));
    }
    return out;
  }
}
