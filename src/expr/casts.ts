import {
  dayOfDays,
  daysFromCivil,
  daysInMonth,
  daysToMs,
  floorMod,
  MS_PER_DAY,
  monthOfDays,
  msToDays,
  roundHalfAway,
  yearOfDays,
} from './runtime.ts';
import { type DataType, typeToString, type Value } from './types.ts';

/**
 * How a value of one type converts to another. `helper` absent: the representation is already right (identity).
 * `params` are extra helper arguments bound as literals. `fallible`: some inputs give null.
 */
export interface CastRule {
  readonly helper?: keyof typeof castHelpers;
  readonly params?: readonly Value[];
  readonly fallible: boolean;
}

const SAME: CastRule = { fallible: false };

/** The rule for casting `from` to `to`, or an error saying what the target type converts from. */
export function castRule(from: DataType, to: DataType): CastRule | string {
  if (from.kind === 'null' || typeToString(from) === typeToString(to)) return SAME;
  const rule = ruleFor(from, to);
  return rule ?? `cannot cast ${typeToString(from)} to ${typeToString(to)}; ${SOURCES[to.kind]}`;
}

const SOURCES: Record<DataType['kind'], string> = {
  string: 'anything casts to string',
  int64: 'int64 casts from numbers, strings, bool and timestamps (epoch milliseconds)',
  float64: 'float64 casts from numbers, strings and bool',
  decimal: 'decimal casts from numbers and strings',
  bool: 'bool casts from strings and int64',
  timestamp: 'timestamp casts from ISO 8601 strings, int64 milliseconds and dates',
  date: "date casts from 'YYYY-MM-DD' strings and timestamps",
  enum: 'enum casts from strings and enums',
  list: 'lists only cast to the same list type',
  struct: 'structs only cast to the same struct type',
  null: 'nothing casts to the null type',
};

function ruleFor(from: DataType, to: DataType): CastRule | undefined {
  switch (to.kind) {
    case 'string':
      return toStringRule(from);
    case 'int64':
      // A timestamp is its milliseconds since the epoch (T1): the cast only changes the type.
      if (from.kind === 'timestamp') return SAME;
      return pick(from, {
        float64: 'floatToInt64',
        decimal: 'floatToInt64',
        string: 'parseInt64',
        bool: 'boolToNumber',
      });
    case 'float64':
      if (from.kind === 'int64' || from.kind === 'decimal') return SAME;
      return pick(from, { string: 'parseFloat64', bool: 'boolToNumber' });
    case 'decimal': {
      const params = [to.precision, to.scale];
      if (from.kind === 'string') return { helper: 'parseDecimal', params, fallible: true };
      if (from.kind === 'int64' || from.kind === 'float64' || from.kind === 'decimal')
        return { helper: 'toDecimal', params, fallible: true };
      return undefined;
    }
    case 'bool':
      return pick(from, { string: 'parseBool', int64: 'numberToBool' });
    case 'timestamp':
      if (from.kind === 'int64') return SAME;
      return pick(from, { string: 'parseTimestamp', date: 'daysToMs' });
    case 'date':
      return pick(from, { string: 'parseDate', timestamp: 'msToDays' });
    case 'enum':
      if (from.kind === 'enum' && from.symbols.every((s) => to.symbols.includes(s))) return SAME;
      if (from.kind === 'string' || from.kind === 'enum')
        return { helper: 'toEnum', params: [to.symbols], fallible: true };
      return undefined;
    default:
      return undefined;
  }
}

function toStringRule(from: DataType): CastRule {
  switch (from.kind) {
    case 'enum':
      return SAME;
    case 'decimal':
      return { helper: 'decimalToString', params: [from.scale], fallible: false };
    case 'timestamp':
      return { helper: 'formatTimestamp', fallible: false };
    case 'date':
      return { helper: 'formatDate', fallible: false };
    case 'list':
    case 'struct':
      return { helper: 'jsonToString', fallible: false };
    default:
      return { helper: 'valueToString', fallible: false };
  }
}

type HelperName = keyof typeof castHelpers;

function pick(from: DataType, helpers: Partial<Record<DataType['kind'], HelperName>>): CastRule | undefined {
  const helper = helpers[from.kind];
  return helper === undefined ? undefined : { helper, fallible: FALLIBLE.has(helper) };
}

const FALLIBLE = new Set<HelperName>([
  'floatToInt64',
  'parseInt64',
  'parseFloat64',
  'parseBool',
  'parseTimestamp',
  'parseDate',
  'toDecimal',
  'parseDecimal',
  'toEnum',
]);

const INT_TEXT = /^\s*[+-]?\d+\s*$/;
const FLOAT_TEXT = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
const SPECIAL_FLOATS: Readonly<Record<string, number>> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '+Infinity': Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}:?\d{2})?)?$/;

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Years 0–9999 print with four digits, others with a sign and six, as `Date.prototype.toISOString` does. */
function formatYear(y: number): string {
  if (y >= 0 && y <= 9999) return pad(y, 4);
  return (y < 0 ? '-' : '+') + pad(Math.abs(y), 6);
}

function formatDate(days: number): string {
  return `${formatYear(yearOfDays(days))}-${pad(monthOfDays(days), 2)}-${pad(dayOfDays(days), 2)}`;
}

function formatTimestamp(ms: number): string {
  const t = floorMod(ms, MS_PER_DAY);
  const clock = `${pad(Math.floor(t / 3_600_000), 2)}:${pad(Math.floor(t / 60_000) % 60, 2)}:${pad(Math.floor(t / 1000) % 60, 2)}`;
  return `${formatDate(msToDays(ms))}T${clock}.${pad(t % 1000, 3)}Z`;
}

function civilDays(y: string, m: string, d: string): number | null {
  const year = Number(y);
  const month = Number(m);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  return daysFromCivil(year, month, day);
}

function parseDate(s: string): number | null {
  const m = DATE_TEXT.exec(s);
  return m === null ? null : civilDays(m[1], m[2], m[3]);
}

/** The zone offset in minutes east of UTC, or null when malformed. */
function zoneMinutes(zone: string): number | null {
  if (zone === 'Z' || zone === 'z') return 0;
  const digits = zone.replace(':', '');
  const h = Number(digits.slice(1, 3));
  const m = Number(digits.slice(3, 5));
  if (h > 23 || m > 59) return null;
  return (zone[0] === '-' ? -1 : 1) * (h * 60 + m);
}

/** ISO 8601: a date alone is midnight UTC; a date with a time must carry a zone, else the instant is ambiguous. */
function parseTimestamp(s: string): number | null {
  const m = TIMESTAMP_TEXT.exec(s);
  if (m === null) return null;
  const days = civilDays(m[1], m[2], m[3]);
  if (days === null) return null;
  if (m[4] === undefined) return days * MS_PER_DAY;
  if (m[8] === undefined) return null;
  const h = Number(m[4]);
  const min = Number(m[5]);
  const sec = m[6] === undefined ? 0 : Number(m[6]);
  const zone = zoneMinutes(m[8]);
  if (h > 23 || min > 59 || sec > 59 || zone === null) return null;
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  return days * MS_PER_DAY + ((h * 60 + min - zone) * 60 + sec) * 1000 + ms;
}

function parseFloat64(s: string): number | null {
  const special = SPECIAL_FLOATS[s.trim()];
  if (special !== undefined) return special;
  return FLOAT_TEXT.test(s) ? Number(s) : null;
}

function floatToInt64(x: number): number | null {
  const r = Math.trunc(x);
  return Number.isSafeInteger(r) ? r + 0 : null;
}

function toDecimal(x: number, precision: number, scale: number): number | null {
  const r = roundHalfAway(x, scale);
  return Number.isFinite(r) && Math.abs(r) < 10 ** (precision - scale) ? r : null;
}

/** Helpers of casts; always part of the function table, whatever functions are registered. */
export const castHelpers = {
  valueToString: (v: number | boolean | string): string => String(v),
  decimalToString: (v: number, scale: number): string => (Number.isFinite(v) ? v.toFixed(scale) : String(v)),
  jsonToString: (v: Value): string => JSON.stringify(v),
  formatTimestamp,
  formatDate,
  floatToInt64,
  parseInt64: (s: string): number | null => (INT_TEXT.test(s) ? floatToInt64(Number(s)) : null),
  parseFloat64,
  boolToNumber: (b: boolean): number => (b ? 1 : 0),
  toDecimal,
  parseDecimal: (s: string, precision: number, scale: number): number | null => {
    const x = parseFloat64(s);
    return x === null ? null : toDecimal(x, precision, scale);
  },
  parseBool: (s: string): boolean | null => {
    const t = s.trim().toLowerCase();
    return t === 'true' ? true : t === 'false' ? false : null;
  },
  numberToBool: (x: number): boolean => x !== 0,
  parseTimestamp,
  daysToMs,
  parseDate,
  msToDays,
  toEnum: (s: string, symbols: readonly string[]): string | null => (symbols.includes(s) ? s : null),
} as const;
