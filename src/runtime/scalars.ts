/**
 * Strict parsers for the text form of napkin's scalar types, as CSV cells and JSON strings carry them. Each returns
 * the runtime value (see `flow/types.ts`) or `undefined` when the text is not of the type; none of them trims, guesses
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
  const n = s.length;
  let i = 0;
  const c0 = s.charCodeAt(0);
  if (c0 === 45 || c0 === 43) i = 1;
  if (i === n) return undefined;
  let v = 0;
  // Intermediate sums only grow, so once one passes 2^53 the final value is out of range too.
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  if (v > Number.MAX_SAFE_INTEGER) return undefined;
  return c0 === 45 && v !== 0 ? -v : v;
}

/** Index after a run of ASCII digits starting at `i`. */
function skipDigits(s: string, i: number): number {
  while (i < s.length) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    i++;
  }
  return i;
}

/** Whether `s` from `i` to its end is an exponent, `[eE] [+-]? digits`. */
function isExponent(s: string, i: number): boolean {
  const e = s.charCodeAt(i);
  if (e !== 101 && e !== 69) return false;
  const sign = s.charCodeAt(i + 1);
  const from = sign === 45 || sign === 43 ? i + 2 : i + 1;
  const end = skipDigits(s, from);
  return end > from && end === s.length;
}

/** `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`: no hex, no `NaN`/`Infinity`, finite. */
export function parseFloat64(s: string): number | undefined {
  const c0 = s.charCodeAt(0);
  const intStart = c0 === 45 || c0 === 43 ? 1 : 0;
  const intEnd = skipDigits(s, intStart);
  let fracStart = intEnd;
  let fracEnd = intEnd;
  if (s.charCodeAt(intEnd) === 46) {
    fracStart = intEnd + 1;
    fracEnd = skipDigits(s, fracStart);
  }
  if (intEnd - intStart + (fracEnd - fracStart) === 0) return undefined;
  let v: number;
  if (fracEnd === s.length) {
    v = digitsValue(s, intStart, intEnd, fracStart, fracEnd);
    if (c0 === 45) v = -v;
  } else if (isExponent(s, fracEnd)) v = Number(s);
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

/**
 * `[+-]? (digits [. digits?] | . digits)` with at most `precision - scale` integer digits and `scale` fraction
 * digits, not counting leading zeros of the integer part or trailing zeros of the fraction (they do not change the
 * value). No exponent: a decimal is written out.
 */
export function parseDecimal(s: string, precision: number, scale: number): number | undefined {
  const n = s.length;
  let i = 0;
  const c0 = s.charCodeAt(0);
  if (c0 === 45 || c0 === 43) i = 1;
  const intStart = i;
  const intEnd = skipDigits(s, i);
  let fracStart = intEnd;
  let fracEnd = intEnd;
  if (s.charCodeAt(intEnd) === 46) {
    fracStart = intEnd + 1;
    fracEnd = skipDigits(s, fracStart);
  }
  if (fracEnd !== n || intEnd - intStart + (fracEnd - fracStart) === 0) return undefined;
  let lead = intStart;
  while (lead < intEnd && s.charCodeAt(lead) === 48) lead++;
  let trail = fracEnd;
  while (trail > fracStart && s.charCodeAt(trail - 1) === 48) trail--;
  if (intEnd - lead > precision - scale || trail - fracStart > scale) return undefined;
  const v = digitsValue(s, lead, intEnd, fracStart, trail);
  return v === 0 ? 0 : c0 === 45 ? -v : v;
}

/** Two ASCII digits at `i` as a number, or -1. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  // Written so that NaN (reading past the end) fails too.
  if (!(a >= 0 && a <= 9 && b >= 0 && b <= 9)) return -1;
  return a * 10 + b;
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

/** `YYYY-MM-DD` at the start of `s`, a valid calendar date, as days since the epoch; -Infinity when not. */
function dateAt(s: string): number {
  if (s.startsWith(lastDateText)) return lastDays;
  if (s.length < 10 || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return Number.NEGATIVE_INFINITY;
  const hi = twoDigits(s, 0);
  const lo = twoDigits(s, 2);
  const m = twoDigits(s, 5);
  const d = twoDigits(s, 8);
  if (hi < 0 || lo < 0 || m < 1 || m > 12 || d < 1) return Number.NEGATIVE_INFINITY;
  const y = hi * 100 + lo;
  const last = m === 2 && isLeapYear(y) ? 29 : MONTH_DAYS[m - 1];
  if (d > last) return Number.NEGATIVE_INFINITY;
  lastDateText = s.slice(0, 10);
  lastDays = civilToDays(y, m, d);
  return lastDays;
}

/** Exactly `YYYY-MM-DD`, a valid calendar date, as days since 1970-01-01. */
export function parseDate(s: string): number | undefined {
  if (s.length !== 10) return undefined;
  const days = dateAt(s);
  return days === Number.NEGATIVE_INFINITY ? undefined : days;
}

/** Zone offset in minutes east of UTC for `Z` or `±HH:MM` spanning `i` to the end of `s`; NaN when malformed. */
function zoneAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c === 90 || c === 122) return i + 1 === s.length ? 0 : Number.NaN;
  if ((c !== 43 && c !== 45) || s.length !== i + 6 || s.charCodeAt(i + 3) !== 58) return Number.NaN;
  const h = twoDigits(s, i + 1);
  const m = twoDigits(s, i + 4);
  if (h < 0 || h > 23 || m < 0 || m > 59) return Number.NaN;
  return (c === 45 ? -1 : 1) * (h * 60 + m);
}

/** Where the clock {@link clockMsAt} last read ends: a second result, without allocating a pair per call. */
let clockStop = 0;

/** Milliseconds into the day of `HH:MM[:SS[.f…]]` at `i` (fractions truncated to ms), or -1; sets `clockStop`. */
function clockMsAt(s: string, i: number): number {
  const h = twoDigits(s, i);
  const m = twoDigits(s, i + 3);
  if (h < 0 || h > 23 || s.charCodeAt(i + 2) !== 58 || m < 0 || m > 59) return -1;
  let ms = (h * 60 + m) * 60_000;
  clockStop = i + 5;
  if (s.charCodeAt(i + 5) !== 58) return ms;
  const sec = twoDigits(s, i + 6);
  if (sec < 0 || sec > 59) return -1;
  ms += sec * 1000;
  clockStop = i + 8;
  if (s.charCodeAt(i + 8) !== 46) return ms;
  let k = i + 9;
  for (let unit = 100; k < s.length; k++, unit /= 10) {
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
  const days = dateAt(s);
  if (days === Number.NEGATIVE_INFINITY) return undefined;
  if (s.length === 10) return days * MS_PER_DAY;
  const sep = s.charCodeAt(10);
  if (sep !== 84 && sep !== 116 && sep !== 32) return undefined;
  const clock = clockMsAt(s, 11);
  if (clock < 0) return undefined;
  const zone = zoneAt(s, clockStop);
  if (Number.isNaN(zone)) return undefined;
  const ms = days * MS_PER_DAY + clock - zone * 60_000;
  return ms >= MIN_TIMESTAMP && ms <= GLOBAL_MAX ? ms : undefined;
}

/** An integer number of ms since the epoch within napkin's range, as JSON sources may give a timestamp. */
export function isTimestampMs(v: number): boolean {
  return Number.isInteger(v) && v >= MIN_TIMESTAMP && v <= GLOBAL_MAX;
}
