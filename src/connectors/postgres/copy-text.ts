import type { DataType, FieldType, Value } from '../../expr/types.ts';
import type { Batch } from '../../runtime/batch.ts';

/**
 * Rows in PostgreSQL's COPY text format: tab between fields, newline after each row, `\N` for NULL, and backslash,
 * tab, newline and carriage return escaped inside values. Values travel as data in the COPY stream, never in
 * statement text, so no payload can change a statement.
 */
export type CellEncoder = (v: Value) => string;

const NULL = '\\N';
const SPECIAL = /[\\\t\n\r]/;
const SPECIALS = /[\\\t\n\r]/g;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

export function escapeCopy(s: string): string {
  return SPECIAL.test(s) ? s.replace(SPECIALS, (c) => ESCAPES[c]) : s;
}

/**
 * How a value is written for a column of this field's type (see `columnType`). Every value is checked here, so the
 * server never refuses a row in the middle of a COPY: a bad value fails the write before its batch is sent.
 */
export function encoderFor(f: FieldType): CellEncoder {
  const encode = valueEncoder(f.type);
  if (f.nullable) return (v) => (v === null ? NULL : encode(v));
  return (v) => {
    if (v === null) throw new Error('null in a required column');
    return encode(v);
  };
}

/**
 * Appends the rows of `batch` (columns in `encoders` order), each led by the staging tag and its sequence number
 * (`seq` for the first row), which orders the rows of one transaction for "last row per key wins". A value the column
 * cannot take throws, naming the column and the row.
 */
export function encodeRows(
  batch: Batch,
  encoders: readonly CellEncoder[],
  names: readonly string[],
  tag: string,
  seq: number,
): string {
  const lead = `${escapeCopy(tag)}\t`;
  const lines: string[] = new Array(batch.length);
  const cols = batch.columns;
  let r = 0;
  let c = 0;
  try {
    for (r = 0; r < batch.length; r++) {
      let line = lead + String(seq + r);
      for (c = 0; c < encoders.length; c++) line += `\t${encoders[c](cols[c][r])}`;
      lines[r] = line;
    }
  } catch (e) {
    throw new Error(`column '${names[c]}', row ${seq + r + 1} of the epoch: ${(e as Error).message}`);
  }
  return batch.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Earliest instant PostgreSQL's timestamp and date types hold (4713 BC, where the Julian day count starts). */
const MIN_MS = Date.UTC(-4712, 0, 1);
/** The last instant a JavaScript date holds; PostgreSQL goes further. */
const MAX_MS = 8.64e15;

function valueEncoder(t: DataType): (v: Value) => string {
  switch (t.kind) {
    case 'string':
    case 'enum':
      return (v) => escapeCopy(noNul(expect(v, 'string') as string));
    case 'int64':
      return (v) => {
        if (!Number.isSafeInteger(v)) throw new Error(`${show(v)} is not an int64 napkin holds exactly`);
        return String(v);
      };
    case 'decimal':
      return decimalEncoder(t.precision, t.scale);
    case 'float64':
      return (v) => (Object.is(v, -0) ? '-0' : String(expect(v, 'number')));
    case 'bool':
      return (v) => (expect(v, 'boolean') ? 't' : 'f');
    case 'timestamp':
      return (v) => formatTimestamp(inRange(v));
    case 'date':
      return (v) => formatDate(inRange((expect(v, 'number') as number) * 86_400_000) / 86_400_000);
    case 'list':
    case 'struct':
      return (v) => {
        const json = JSON.stringify(v);
        // jsonb refuses the \u0000 escape.
        if (json.includes('\\u0000')) throw new Error('a NUL character cannot be stored in jsonb');
        return escapeCopy(json);
      };
    case 'null':
      return () => NULL;
    default:
      return t satisfies never;
  }
}

/**
 * Rounded to the scale here, so the server gets exactly what was checked against the precision (like the DuckDB
 * sink's CAST, this rounds the binary value).
 */
function decimalEncoder(precision: number, scale: number): (v: Value) => string {
  const limit = 10 ** (precision - scale);
  const misfit = (v: Value) => new Error(`${show(v)} does not fit decimal(${precision},${scale})`);
  return (v) => {
    const n = expect(v, 'number') as number;
    if (!Number.isFinite(n) || Math.abs(n) >= 1e21) throw misfit(v);
    const text = scale <= 100 ? n.toFixed(scale) : String(n);
    if (Math.abs(Number(text)) >= limit) throw misfit(v);
    return text;
  };
}

function expect(v: Value, type: 'string' | 'number' | 'boolean'): Value {
  if (typeof v !== type) throw new Error(`${show(v)} is not a ${type}`);
  return v;
}

function noNul(s: string): string {
  if (s.includes('\0')) throw new Error('a NUL character cannot be stored in PostgreSQL text');
  return s;
}

function inRange(v: Value): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < MIN_MS || v > MAX_MS)
    throw new Error(`${show(v)} is outside the range of PostgreSQL timestamps and dates`);
  return v;
}

/** A value's kind (and a string's length) for an error, never the value: it may be personal data. */
function show(v: Value): string {
  if (typeof v === 'number') return Number.isFinite(v) ? 'a number' : String(v);
  return typeof v === 'string' ? `a string of length ${v.length}` : `a ${typeof v}`;
}

/** 0001-01-01 and 10000-01-01: between them ISO 8601 text is PostgreSQL's, and the fast path applies. */
const ISO_FROM = new Date('0001-01-01T00:00:00Z').getTime();
const ISO_TO = new Date('+010000-01-01T00:00:00Z').getTime();

/** Milliseconds since the epoch (UTC) as a timestamptz literal; years before 1 AD in PostgreSQL's `BC` form. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  if (ms >= ISO_FROM && ms < ISO_TO) {
    const iso = d.toISOString();
    return `${iso.slice(0, 10)} ${iso.slice(11, 23)}+00`;
  }
  const time = `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`;
  return withEra(d, `${ymd(d)} ${time}+00`);
}

/** Days since 1970-01-01 as a date literal. */
export function formatDate(days: number): string {
  const d = new Date(days * 86_400_000);
  return withEra(d, ymd(d));
}

function ymd(d: Date): string {
  const y = d.getUTCFullYear();
  // Year 0 is 1 BC, year −1 is 2 BC, …
  const year = y > 0 ? y : 1 - y;
  return `${pad(year, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

function withEra(d: Date, text: string): string {
  return d.getUTCFullYear() > 0 ? text : `${text} BC`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
