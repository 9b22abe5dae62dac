/**
 * Strict parsers for the text form of napkin's scalar types, as CSV cells and JSON strings carry them. Each returns
 * the runtime value (see `expr/types.ts`) or `undefined` when the text is not of the type; none of them trims, guesses
 * a format or falls back to `Date.parse`/`Number` leniency, because a value read wrongly is worse than a refused one.
 */

/** Earliest and latest instants napkin represents (spec T1): the safe-integer range, less a day at the top. */
export const MIN_TIMESTAMP = -9_007_199_254_740_991;
export const GLOBAL_MAX = 9_007_199_168_340_991;

const MS_PER_DAY = 86_400_000;
const MAX_FOUND = 80;

/** Shortens a `found` text to the 80 characters a quarantine entry keeps, without splitting a surrogate pair. */
export function shortenFound(s: string): string {
  if (s.length <= MAX_FOUND) return s;
  let cut = MAX_FOUND - 1;
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--;
  return `${s.slice(0, cut)}…`;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

// Every parser reads the text `s[a, b)`: a whole cell (`parseX(s)` is `parseXAt(s, 0, s.length)`), or a cell inside
// a reader's chunk text, which spares the reader a string per cell. Reads are checked against `b` explicitly: past
// it lies the next cell, not the end of a string.

/** The character code at `i`, or -1 at or past `b`. */
function code(s: string, i: number, b: number): number {
  return i < b ? s.charCodeAt(i) : -1;
}

/**
 * The value of the unsigned digits `s[a, b)` `.` `s[c, d)`. With at most 15 digits both the digits and 10^(d-c)
 * are exact doubles, so one division gives the correctly rounded value `Number` would, without its string scan.
 */
function digitsValue(s: string, a: number, b: number, c: number, d: number): number {
  if (b - a + (d - c) > 15) return Number(`${s.slice(a, b)}.${s.slice(c, d)}0`);
  let m = 0;
  for (let i = a; i < b; i++) m = m * 10 + (s.charCodeAt(i) - 48);
  for (let i = c; i < d; i++) m = m * 10 + (s.charCodeAt(i) - 48);
  return m / POW10[d - c];
}

/** Optional sign and decimal digits only (no spaces, no `_`, no exponent); must be a safe integer. */
export function parseInt64(s: string): number | undefined {
  return parseInt64At(s, 0, s.length);
}

export function parseInt64At(s: string, a: number, b: number): number | undefined {
  let i = a;
  const c0 = code(s, a, b);
  if (c0 === 45 || c0 === 43) i++;
  if (i >= b) return undefined;
  let v = 0;
  // Intermediate sums only grow, so once one passes 2^53 the final value is out of range too.
  for (; i < b; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  if (v > Number.MAX_SAFE_INTEGER) return undefined;
  return c0 === 45 && v !== 0 ? -v : v;
}

/** Index after a run of ASCII digits starting at `i`, stopping at `b`. */
function skipDigits(s: string, i: number, b: number): number {
  while (i < b) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    i++;
  }
  return i;
}

/** Whether `s[i, b)` is an exponent, `[eE] [+-]? digits`. */
function isExponent(s: string, i: number, b: number): boolean {
  const e = code(s, i, b);
  if (e !== 101 && e !== 69) return false;
  const sign = code(s, i + 1, b);
  const from = sign === 45 || sign === 43 ? i + 2 : i + 1;
  const end = skipDigits(s, from, b);
  return end > from && end === b;
}

/** `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`: no hex, no `NaN`/`Infinity`, finite. */
export function parseFloat64(s: string): number | undefined {
  return parseFloat64At(s, 0, s.length);
}

export function parseFloat64At(s: string, a: number, b: number): number | undefined {
  const c0 = code(s, a, b);
  const intStart = c0 === 45 || c0 === 43 ? a + 1 : a;
  const intEnd = skipDigits(s, intStart, b);
  let fracStart = intEnd;
  let fracEnd = intEnd;
  if (code(s, intEnd, b) === 46) {
    fracStart = intEnd + 1;
    fracEnd = skipDigits(s, fracStart, b);
  }
  if (intEnd - intStart + (fracEnd - fracStart) === 0) return undefined;
  let v: number;
  if (fracEnd === b) {
    v = digitsValue(s, intStart, intEnd, fracStart, fracEnd);
    if (c0 === 45) v = -v;
  } else if (isExponent(s, fracEnd, b)) v = Number(a === 0 && b === s.length ? s : s.slice(a, b));
  else return undefined;
  return Number.isFinite(v) ? v : undefined;
}

/** Exactly `true`, `false`, `1`, `0`, `TRUE` or `FALSE`: other spellings (`yes`, `T`, `True`) are refused. */
export function parseBool(s: string): boolean | undefined {
  switch (s) {
    case 'true':
    case 'TRUE':
    case '1':
      return true;
    case 'false':
    case 'FALSE':
    case '0':
      return false;
    default:
      return undefined;
  }
}

export function parseBoolAt(s: string, a: number, b: number): boolean | undefined {
  return parseBool(a === 0 && b === s.length ? s : s.slice(a, b));
}

/**
 * `[+-]? (digits [. digits?] | . digits)` with at most `precision - scale` integer digits and `scale` fraction
 * digits, not counting leading zeros of the integer part or trailing zeros of the fraction (they do not change the
 * value). No exponent: a decimal is written out.
 */
export function parseDecimal(s: string, precision: number, scale: number): number | undefined {
  return parseDecimalAt(s, 0, s.length, precision, scale);
}

export function parseDecimalAt(s: string, a: number, b: number, precision: number, scale: number): number | undefined {
  let i = a;
  const c0 = code(s, a, b);
  if (c0 === 45 || c0 === 43) i++;
  const intStart = i;
  const intEnd = skipDigits(s, i, b);
  let fracStart = intEnd;
  let fracEnd = intEnd;
  if (code(s, intEnd, b) === 46) {
    fracStart = intEnd + 1;
    fracEnd = skipDigits(s, fracStart, b);
  }
  if (fracEnd !== b || intEnd - intStart + (fracEnd - fracStart) === 0) return undefined;
  let lead = intStart;
  while (lead < intEnd && s.charCodeAt(lead) === 48) lead++;
  let trail = fracEnd;
  while (trail > fracStart && s.charCodeAt(trail - 1) === 48) trail--;
  if (intEnd - lead > precision - scale || trail - fracStart > scale) return undefined;
  const v = digitsValue(s, lead, intEnd, fracStart, trail);
  return v === 0 ? 0 : c0 === 45 ? -v : v;
}

/** Two ASCII digits at `i` (before `b`) as a number, or -1. */
function twoDigits(s: string, i: number, b: number): number {
  if (i + 1 >= b) return -1;
  const x = s.charCodeAt(i) - 48;
  const y = s.charCodeAt(i + 1) - 48;
  if (!(x >= 0 && x <= 9 && y >= 0 && y <= 9)) return -1;
  return x * 10 + y;
}

function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). Integer arithmetic rather
 * than `Date.UTC`, which reads years 0–99 as 1900–1999.
 */
export function civilToDays(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

// Files hold runs of timestamps on one day: remembering the last date text read skips reading it again.
let lastDateText = '1970-01-01';
let lastDays = 0;

/** `YYYY-MM-DD` at `s[a]` (within `b`), a valid calendar date, as days since the epoch; -Infinity when not. */
function dateAt(s: string, a: number, b: number): number {
  if (b - a < 10) return Number.NEGATIVE_INFINITY;
  if (s.startsWith(lastDateText, a)) return lastDays;
  if (s.charCodeAt(a + 4) !== 45 || s.charCodeAt(a + 7) !== 45) return Number.NEGATIVE_INFINITY;
  const hi = twoDigits(s, a, b);
  const lo = twoDigits(s, a + 2, b);
  const m = twoDigits(s, a + 5, b);
  const d = twoDigits(s, a + 8, b);
  if (hi < 0 || lo < 0 || m < 1 || m > 12 || d < 1) return Number.NEGATIVE_INFINITY;
  const y = hi * 100 + lo;
  const last = m === 2 && isLeapYear(y) ? 29 : MONTH_DAYS[m - 1];
  if (d > last) return Number.NEGATIVE_INFINITY;
  lastDateText = s.slice(a, a + 10);
  lastDays = civilToDays(y, m, d);
  return lastDays;
}

/** Exactly `YYYY-MM-DD`, a valid calendar date, as days since 1970-01-01. */
export function parseDate(s: string): number | undefined {
  return parseDateAt(s, 0, s.length);
}

export function parseDateAt(s: string, a: number, b: number): number | undefined {
  if (b - a !== 10) return undefined;
  const days = dateAt(s, a, b);
  return days === Number.NEGATIVE_INFINITY ? undefined : days;
}

/** Zone offset in minutes east of UTC for `Z` or `±HH:MM` spanning `i` to `b`; NaN when malformed. */
function zoneAt(s: string, i: number, b: number): number {
  const c = code(s, i, b);
  if (c === 90 || c === 122) return i + 1 === b ? 0 : Number.NaN;
  if ((c !== 43 && c !== 45) || b !== i + 6 || s.charCodeAt(i + 3) !== 58) return Number.NaN;
  const h = twoDigits(s, i + 1, b);
  const m = twoDigits(s, i + 4, b);
  if (h < 0 || h > 23 || m < 0 || m > 59) return Number.NaN;
  return (c === 45 ? -1 : 1) * (h * 60 + m);
}

/** Where the clock {@link clockMsAt} last read ends: a second result, without allocating a pair per call. */
let clockStop = 0;

/** Milliseconds into the day of `HH:MM[:SS[.f…]]` at `i` (fractions truncated to ms), or -1; sets `clockStop`. */
function clockMsAt(s: string, i: number, b: number): number {
  const h = twoDigits(s, i, b);
  const m = twoDigits(s, i + 3, b);
  if (h < 0 || h > 23 || code(s, i + 2, b) !== 58 || m < 0 || m > 59) return -1;
  let ms = (h * 60 + m) * 60_000;
  clockStop = i + 5;
  if (code(s, i + 5, b) !== 58) return ms;
  const sec = twoDigits(s, i + 6, b);
  if (sec < 0 || sec > 59) return -1;
  ms += sec * 1000;
  clockStop = i + 8;
  if (code(s, i + 8, b) !== 46) return ms;
  let k = i + 9;
  for (let unit = 100; k < b; k++, unit /= 10) {
    const d = s.charCodeAt(k) - 48;
    if (!(d >= 0 && d <= 9)) break;
    if (unit >= 1) ms += d * unit;
  }
  clockStop = k;
  return k === i + 9 ? -1 : ms;
}

/**
 * ISO 8601 `YYYY-MM-DD[T| ]HH:MM[:SS[.f…]](Z|±HH:MM)`, or a bare date (midnight UTC), as ms since the epoch.
 * A time without a zone is refused: it names no instant. Fractions finer than a millisecond are truncated.
 */
export function parseTimestamp(s: string): number | undefined {
  return parseTimestampAt(s, 0, s.length);
}

export function parseTimestampAt(s: string, a: number, b: number): number | undefined {
  const days = dateAt(s, a, b);
  if (days === Number.NEGATIVE_INFINITY) return undefined;
  if (b - a === 10) return days * MS_PER_DAY;
  const sep = s.charCodeAt(a + 10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return undefined;
  const clock = clockMsAt(s, a + 11, b);
  if (clock < 0) return undefined;
  const zone = zoneAt(s, clockStop, b);
  if (Number.isNaN(zone)) return undefined;
  const ms = days * MS_PER_DAY + clock - zone * 60_000;
  return ms >= MIN_TIMESTAMP && ms <= GLOBAL_MAX ? ms : undefined;
}

/** An integer number of ms since the epoch within napkin's range, as JSON sources may give a timestamp. */
export function isTimestampMs(v: number): boolean {
  return Number.isInteger(v) && v >= MIN_TIMESTAMP && v <= GLOBAL_MAX;
}
