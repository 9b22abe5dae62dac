import type { FunctionDef, LiteralArg } from '../functions.ts';
import {
  dayOfDays,
  floorTo,
  hourOfMs,
  isoDayOfWeek,
  monthOfDays,
  truncMonthDays,
  truncMonthMs,
  truncYearDays,
  truncYearMs,
  yearOfDays,
} from '../runtime.ts';
import type { FieldType } from '../types.ts';
import { arityError, DATE, ft, INT64, isKind, takesError } from '../typing.ts';

/** Day number of a timestamp argument, or the date argument itself. */
function days(arg: string, t: FieldType): string {
  return t.type.kind === 'timestamp' ? `Math.floor(${arg} / 86400000)` : arg;
}

/** A calendar field of a timestamp (ms) or date (days), in UTC. */
function field(name: string, helper: string, description: string): FunctionDef {
  return {
    name,
    description: `${description} (UTC), of a timestamp or date.`,
    example: `col('placed_at').${name}()`,
    signature: `${name}(timestamp | date) → int64`,
    nulls: 'propagate',
    infer: (args) => {
      const bad = arityError(name, args, 1, 1);
      if (bad !== undefined) return bad;
      return isKind(args[0].type, 'timestamp', 'date') ? ft(INT64) : takesError(name, 'a timestamp or date', args);
    },
    emit: ([a], [t]) => `f.${helper}(${days(a, t)})`,
  };
}

const hour: FunctionDef = {
  name: 'hour',
  description: 'Hour of the day 0–23 (UTC) of a timestamp.',
  example: "col('placed_at').hour()",
  signature: 'hour(timestamp) → int64',
  nulls: 'propagate',
  infer: (args) => {
    const bad = arityError('hour', args, 1, 1);
    if (bad !== undefined) return bad;
    return isKind(args[0].type, 'timestamp') ? ft(INT64) : takesError('hour', 'a timestamp', args);
  },
  emit: ([a]) => `f.hourOfMs(${a})`,
  helpers: { hourOfMs },
};

const toDate: FunctionDef = {
  name: 'toDate',
  description: 'The UTC calendar date of a timestamp (a date stays as it is).',
  example: "col('placed_at').toDate()",
  signature: 'toDate(timestamp | date) → date',
  nulls: 'propagate',
  infer: (args) => {
    const bad = arityError('toDate', args, 1, 1);
    if (bad !== undefined) return bad;
    return isKind(args[0].type, 'timestamp', 'date') ? ft(DATE) : takesError('toDate', 'a timestamp or date', args);
  },
  emit: ([a], [t]) => days(a, t),
};

const MS_UNITS: Readonly<Record<string, number>> = { day: 86_400_000, hour: 3_600_000, minute: 60_000, second: 1000 };
const UNITS = ['year', 'month', 'day', 'hour', 'minute', 'second'];
const DATE_UNITS = ['year', 'month', 'day'];

function inferTrunc(args: readonly FieldType[], literals: readonly (LiteralArg | undefined)[]): FieldType | string {
  const bad = arityError('dateTrunc', args, 2, 2);
  if (bad !== undefined) return bad;
  const unit = literals[0]?.value;
  if (typeof unit !== 'string' || !UNITS.includes(unit))
    return `dateTrunc takes a unit literal (${UNITS.map((u) => `'${u}'`).join(', ')}) first, got ${literals[0] === undefined ? 'an expression' : JSON.stringify(unit)}`;
  const t = args[1].type;
  if (t.kind === 'date' && !DATE_UNITS.includes(unit))
    return `dateTrunc('${unit}') takes a timestamp; a date only truncates to year, month or day`;
  return isKind(t, 'timestamp', 'date') ? ft(t) : takesError('dateTrunc', 'a unit and a timestamp or date', args);
}

function emitTrunc(a: string, unit: string, isDate: boolean): string {
  if (unit === 'year') return isDate ? `f.truncYearDays(${a})` : `f.truncYearMs(${a})`;
  if (unit === 'month') return isDate ? `f.truncMonthDays(${a})` : `f.truncMonthMs(${a})`;
  return isDate ? a : `f.floorTo(${a}, ${MS_UNITS[unit]})`;
}

const dateTrunc: FunctionDef = {
  name: 'dateTrunc',
  description: 'Truncates a timestamp (or date) to the start of its unit, in UTC; the result has the input type.',
  example: "col('placed_at').dateTrunc('month')",
  signature: "dateTrunc('year' | 'month' | 'day' | 'hour' | 'minute' | 'second', timestamp | date) → same type",
  nulls: 'propagate',
  infer: inferTrunc,
  emit: ([, a], types, literals) => emitTrunc(a, String(literals[0]?.value), types[1].type.kind === 'date'),
  helpers: { truncYearDays, truncYearMs, truncMonthDays, truncMonthMs, floorTo },
};

export const timeFunctions: readonly FunctionDef[] = [
  { ...field('year', 'yearOfDays', 'The year'), helpers: { yearOfDays } },
  { ...field('month', 'monthOfDays', 'The month 1–12'), helpers: { monthOfDays } },
  { ...field('day', 'dayOfDays', 'The day of the month 1–31'), helpers: { dayOfDays } },
  hour,
  {
    ...field('dayOfWeek', 'isoDayOfWeek', 'ISO day of week, Monday = 1 … Sunday = 7'),
    helpers: { isoDayOfWeek },
  },
  toDate,
  dateTrunc,
];
