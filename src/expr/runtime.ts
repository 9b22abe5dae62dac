/**
 * Runtime helpers of the built-in functions and casts. Compiled code calls them through the function table `f`;
 * they are pure, allocate nothing but their result, and never build a `Date` (calendar math is integer arithmetic).
 */

export const MS_PER_DAY = 86_400_000;
export const MS_PER_HOUR = 3_600_000;

/**
 * Guards the int64 invariant (a safe integer) after add/sub/mul. Overflow is an error, as in SQL engines: a silently
 * rounded integer key or count would be worse than a failed stage. Cast to float64 first for approximate results.
 */
export function checkedInt64(x: number): number {
  if (x > Number.MAX_SAFE_INTEGER || x < -Number.MAX_SAFE_INTEGER)
    throw new RangeError(
      `int64 overflow: ${x} is outside ±(2^53 − 1); cast to float64 first if an approximation is fine`,
    );
  return x;
}

/** Floor modulo: the remainder has the sign of the divisor, so negative times land in the right bucket. */
export function floorMod(x: number, m: number): number {
  return ((x % m) + m) % m;
}

/** `x` rounded down to a multiple of `unit` (toward minus infinity, also for negative `x`). */
export function floorTo(x: number, unit: number): number {
  return x - floorMod(x, unit);
}

export function msToDays(ms: number): number {
  return Math.floor(ms / MS_PER_DAY);
}

export function daysToMs(days: number): number {
  return days * MS_PER_DAY;
}

// Civil-calendar conversions after Howard Hinnant's `days_from_civil` / `civil_from_days` (proleptic Gregorian).
// The epoch is shifted to 0000-03-01 so leap days fall at the end of a 400-year era.

function dayOfEra(z: number): number {
  return z + 719_468 - Math.floor((z + 719_468) / 146_097) * 146_097;
}

function yearOfEra(doe: number): number {
  return Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
}

/** Month index counted from March (0 = March … 11 = February) and day of that year, of day-since-epoch `z`. */
function marchMonth(z: number): number {
  const doe = dayOfEra(z);
  const yoe = yearOfEra(doe);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  return Math.floor((5 * doy + 2) / 153);
}

export function yearOfDays(z: number): number {
  const doe = dayOfEra(z);
  const era = Math.floor((z + 719_468) / 146_097);
  const y = yearOfEra(doe) + era * 400;
  return marchMonth(z) >= 10 ? y + 1 : y;
}

export function monthOfDays(z: number): number {
  const mp = marchMonth(z);
  return mp < 10 ? mp + 3 : mp - 9;
}

export function dayOfDays(z: number): number {
  const doe = dayOfEra(z);
  const yoe = yearOfEra(doe);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  return doy - Math.floor((153 * mp + 2) / 5) + 1;
}

export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((month + 9) % 12) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** ISO day of week, Monday = 1 … Sunday = 7 (1970-01-01 was a Thursday). */
export function isoDayOfWeek(z: number): number {
  return floorMod(z + 3, 7) + 1;
}

export function hourOfMs(ms: number): number {
  return Math.floor(floorMod(ms, MS_PER_DAY) / MS_PER_HOUR);
}

export function truncMonthDays(z: number): number {
  return z - dayOfDays(z) + 1;
}

export function truncYearDays(z: number): number {
  return daysFromCivil(yearOfDays(z), 1, 1);
}

export function truncMonthMs(ms: number): number {
  return truncMonthDays(msToDays(ms)) * MS_PER_DAY;
}

export function truncYearMs(ms: number): number {
  return truncYearDays(msToDays(ms)) * MS_PER_DAY;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** `x` shifted by `digits` decimal places using its shortest decimal form, so 1.005 shifts to 100.5 exactly. */
function decimalShift(x: number, digits: number): number {
  const [mantissa, exponent] = x.toExponential().split('e');
  return Number(`${mantissa}e${Number(exponent) + digits}`);
}

/**
 * Rounds half away from zero to `digits` decimals (negative digits round to tens, hundreds …). A value whose
 * scaled form is within a hair of .5 is resolved on its decimal representation, so round(1.005, 2) is 1.01 as
 * people expect, although the double 1.005 is slightly below it.
 */
export function roundHalfAway(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const scale = 10 ** Math.abs(digits);
  const a = Math.abs(x);
  const y = digits >= 0 ? a * scale : a / scale;
  if (!Number.isFinite(y) || y >= 2 ** 52) return x;
  let r = Math.floor(y);
  const frac = y - r;
  // The scaled double can be off by about y·2^-52; only that close to .5 can it disagree with the decimal.
  if (Math.abs(frac - 0.5) <= 1e-9 + y * 1e-15) r = Math.round(decimalShift(a, digits));
  else if (frac > 0.5) r += 1;
  const out = digits >= 0 ? r / scale : r * scale;
  return out === 0 ? 0 : x < 0 ? -out : out;
}

/** SQL `substr`: 1-based `start`, positions before 1 count toward `len` but yield nothing (PostgreSQL rules). */
export function substr(s: string, start: number, len: number): string {
  if (len < 0) return '';
  const from = start - 1;
  return s.slice(Math.max(from, 0), Math.max(from + len, 0));
}

export function substrFrom(s: string, start: number): string {
  return s.slice(Math.max(start - 1, 0));
}

/** Replaces every occurrence literally (`String.replaceAll` would interpret `$&` in the replacement). */
export function replaceAll(s: string, search: string, replacement: string): string {
  if (search.length === 0) return s;
  let i = s.indexOf(search);
  if (i < 0) return s;
  let out = '';
  let from = 0;
  while (i >= 0) {
    out += s.slice(from, i) + replacement;
    from = i + search.length;
    i = s.indexOf(search, from);
  }
  return out + s.slice(from);
}
