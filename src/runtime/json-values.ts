import type { DataType, Field, FieldType, Value } from '../expr/types.ts';
import { typeToString } from '../expr/types.ts';
import type { ErrorClass } from './quarantine.ts';
import {
  GLOBAL_MAX,
  isTimestampMs,
  MIN_TIMESTAMP,
  parseDate,
  parseDecimal,
  parseTimestamp,
  shortenFound,
} from './scalars.ts';

/**
 * Checkers for values parsed from JSON (JSON Lines records, list and struct cells of a CSV file): each turns a JSON
 * value into napkin's runtime value (see `expr/types.ts`), or returns {@link BAD} and describes the problem in the
 * shared {@link Fault}. Checkers are built once per contract; paths are only built on failure, innermost first.
 */
export const BAD: unique symbol = Symbol('bad value');
export type Checked = Value | typeof BAD;
export type Checker = (v: unknown) => Checked;

/** What was wrong with the last value a checker refused. */
export interface Fault {
  /** JSON pointer below the checked value, e.g. `/lines/2/qty`; empty for the value itself. */
  pointer: string;
  errorClass: ErrorClass;
  expected: string;
  found: string;
}

export function newFault(): Fault {
  return { pointer: '', errorClass: 'type', expected: '', found: '' };
}

export const TIMESTAMP_TEXT = 'ISO 8601 timestamp with zone';
export const DATE_TEXT = 'date YYYY-MM-DD';

/** How a JSON value is shown in `found`: as JSON, so a string `"12"` reads differently from the number 12. */
export function showJson(v: unknown): string {
  if (v === undefined) return 'no value';
  return shortenFound(JSON.stringify(v) ?? String(v));
}

export function escapePointer(name: string): string {
  return name.replaceAll('~', '~0').replaceAll('/', '~1');
}

export function fail(f: Fault, errorClass: ErrorClass, expected: string, found: string): typeof BAD {
  f.pointer = '';
  f.errorClass = errorClass;
  f.expected = expected;
  f.found = found;
  return BAD;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An own property: a field named `constructor` must not find `Object.prototype.constructor`. */
export function ownValue(o: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

/** Sets a field, defining it when the name is `__proto__` (assignment would change the object's prototype). */
export function setField(o: Record<string, Value>, key: string, v: Value): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true });
  else o[key] = v;
}

/** Digits a finite number needs when written out: integer digits (no leading zeros) and fraction digits. */
function numberDigits(v: number): [number, number] {
  const [mantissa, exp = '0'] = Math.abs(v).toString().split('e');
  const [int, frac = ''] = mantissa.split('.');
  const e = Number(exp);
  const intDigits = int === '0' ? 0 : int.length;
  return [Math.max(0, intDigits + e), Math.max(0, frac.length - e)];
}

/** Whether a JSON number fits `decimal(precision, scale)` exactly as JavaScript prints it. */
export function numberFitsDecimal(v: number, precision: number, scale: number): boolean {
  if (!Number.isFinite(v)) return false;
  if (v === 0) return true;
  const [intDigits, fracDigits] = numberDigits(v);
  return intDigits <= precision - scale && fracDigits <= scale;
}

function timestampChecker(f: Fault): Checker {
  const numeric = `integer ms from ${MIN_TIMESTAMP} to ${GLOBAL_MAX}`;
  return (v) => {
    if (typeof v === 'string') return parseTimestamp(v) ?? fail(f, 'timestamp', TIMESTAMP_TEXT, showJson(v));
    if (typeof v === 'number') return isTimestampMs(v) ? v + 0 : fail(f, 'timestamp', numeric, showJson(v));
    return fail(f, 'timestamp', `${TIMESTAMP_TEXT} or ${numeric}`, showJson(v));
  };
}

function decimalChecker(f: Fault, precision: number, scale: number): Checker {
  const expected = `decimal(${precision},${scale})`;
  return (v) => {
    if (typeof v === 'number' && numberFitsDecimal(v, precision, scale)) return v + 0;
    if (typeof v === 'string') return parseDecimal(v, precision, scale) ?? fail(f, 'type', expected, showJson(v));
    return fail(f, 'type', expected, showJson(v));
  };
}

function enumChecker(f: Fault, symbols: readonly string[]): Checker {
  const set = new Set(symbols);
  const expected = `one of ${symbols.join('|')}`;
  return (v) => (typeof v === 'string' && set.has(v) ? v : fail(f, 'enum', expected, showJson(v)));
}

function listChecker(f: Fault, t: DataType, item: FieldType, content: Content): Checker {
  const check = fieldChecker(f, item, content);
  const expected = typeToString(t);
  return (v) => {
    if (!Array.isArray(v)) return fail(f, 'type', expected, showJson(v));
    const out: Value[] = new Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = check(v[i]);
      if (x === BAD) {
        f.pointer = `/${i}${f.pointer}`;
        return BAD;
      }
      out[i] = x;
    }
    return out;
  };
}

type Content = 'closed' | 'open';

function simpleChecker(f: Fault, expected: string, test: (v: unknown) => boolean): Checker {
  return (v) => (test(v) ? (v as Value) : fail(f, 'type', expected, showJson(v)));
}

function typeChecker(f: Fault, t: DataType, content: Content): Checker {
  switch (t.kind) {
    case 'string':
      return simpleChecker(f, 'string', (v) => typeof v === 'string');
    case 'int64':
      return (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? v + 0 : fail(f, 'type', 'int64', showJson(v)));
    case 'float64':
      return simpleChecker(f, 'float64', (v) => typeof v === 'number');
    case 'bool':
      return simpleChecker(f, 'bool', (v) => typeof v === 'boolean');
    case 'timestamp':
      return timestampChecker(f);
    case 'date':
      return (v) => (typeof v === 'string' ? parseDate(v) : undefined) ?? fail(f, 'timestamp', DATE_TEXT, showJson(v));
    case 'decimal':
      return decimalChecker(f, t.precision, t.scale);
    case 'enum':
      return enumChecker(f, t.symbols);
    case 'list':
      return listChecker(f, t, t.item, content);
    case 'struct':
      return structChecker(f, t.fields, content, typeToString(t));
    case 'null':
      return (v) => fail(f, 'type', 'null', showJson(v));
    default:
      return t satisfies never;
  }
}

/** A checker for a field's value, null or absent included. */
export function fieldChecker(f: Fault, ft: FieldType, content: Content): Checker {
  const check = typeChecker(f, ft.type, content);
  const expected = typeToString(ft.type);
  if (ft.nullable) return (v) => (v === null || v === undefined ? null : check(v));
  return (v) => (v === null || v === undefined ? fail(f, 'missing', expected, showJson(v)) : check(v));
}

/** Where a declared field's value is in a JSON object: its name, else the first former name present. */
export function keyIn(o: Record<string, unknown>, field: Field): string | undefined {
  if (Object.hasOwn(o, field.name)) return field.name;
  return field.formerly?.find((k) => Object.hasOwn(o, k));
}

/** The first key of `o` that is neither a declared field nor one of its former names. */
export function unknownKey(o: Record<string, unknown>, known: ReadonlySet<string>): string | undefined {
  for (const k of Object.keys(o)) if (!known.has(k)) return k;
  return undefined;
}

export function knownKeys(fields: readonly Field[]): Set<string> {
  return new Set(fields.flatMap((x) => [x.name, ...(x.formerly ?? [])]));
}

export function driftExpected(key: string, fields: readonly Field[]): string {
  return `no field ${key} (contract has: ${fields.map((x) => x.name).join(', ')})`;
}

function structChecker(f: Fault, fields: readonly Field[], content: Content, expected: string): Checker {
  const checks = fields.map((x) => fieldChecker(f, x, content));
  const known = knownKeys(fields);
  return (v) => {
    if (!isPlainObject(v)) return fail(f, 'type', expected, showJson(v));
    const out: Record<string, Value> = {};
    for (let i = 0; i < fields.length; i++) {
      const key = keyIn(v, fields[i]);
      const x = checks[i](key === undefined ? undefined : v[key]);
      if (x === BAD) {
        f.pointer = `/${escapePointer(key ?? fields[i].name)}${f.pointer}`;
        return BAD;
      }
      setField(out, fields[i].name, x);
    }
    const extra = content === 'closed' ? unknownKey(v, known) : undefined;
    if (extra === undefined) return out;
    fail(f, 'drift', driftExpected(extra, fields), showJson(v[extra]));
    f.pointer = `/${escapePointer(extra)}`;
    return BAD;
  };
}
