import { type DataType, type FieldType, typeToString, type Value } from './types.ts';

/** Shared type constants and the small type algebra every built-in's `infer` leans on. */
export const INT64: DataType = { kind: 'int64' };
export const FLOAT64: DataType = { kind: 'float64' };
export const STRING: DataType = { kind: 'string' };
export const BOOL: DataType = { kind: 'bool' };
export const TIMESTAMP: DataType = { kind: 'timestamp' };
export const DATE: DataType = { kind: 'date' };
export const NULL: DataType = { kind: 'null' };

/** Precision of every decimal that arithmetic produces: the widest a decimal may be. */
export const MAX_PRECISION = 38;

export function ft(type: DataType, nullable = false): FieldType {
  return { type, nullable };
}

/** The untyped null literal stands for "any type" when a function checks its arguments. */
export function isNullType(t: DataType): boolean {
  return t.kind === 'null';
}

export function isNumber(t: DataType): boolean {
  return t.kind === 'int64' || t.kind === 'float64' || t.kind === 'decimal' || isNullType(t);
}

export function isText(t: DataType): boolean {
  return t.kind === 'string' || t.kind === 'enum' || isNullType(t);
}

export function isKind(t: DataType, ...kinds: DataType['kind'][]): boolean {
  return kinds.includes(t.kind) || isNullType(t);
}

/**
 * Which values compare with which: numbers with numbers, text with text, and otherwise only the same kind.
 * Timestamps and dates are different classes on purpose: comparing them needs an explicit `toDate()` or cast.
 */
export function compareClass(t: DataType): string | undefined {
  switch (t.kind) {
    case 'int64':
    case 'float64':
    case 'decimal':
      return 'number';
    case 'string':
    case 'enum':
      return 'text';
    case 'bool':
    case 'timestamp':
    case 'date':
    case 'null':
      return t.kind;
    default:
      return undefined;
  }
}

export function comparable(a: DataType, b: DataType): boolean {
  const ca = compareClass(a);
  const cb = compareClass(b);
  if (ca === undefined || cb === undefined) return false;
  return ca === cb || ca === 'null' || cb === 'null';
}

/** The result type of `add`/`sub`/`mul`, or undefined when an argument is not a number. */
export function numericResult(a: DataType, b: DataType): DataType | undefined {
  if (!isNumber(a) || !isNumber(b)) return undefined;
  if (isNullType(a)) return b;
  if (isNullType(b)) return a;
  if (a.kind === 'float64' || b.kind === 'float64') return FLOAT64;
  if (a.kind === 'decimal' || b.kind === 'decimal') {
    const scale = Math.max(a.kind === 'decimal' ? a.scale : 0, b.kind === 'decimal' ? b.scale : 0);
    return { kind: 'decimal', precision: MAX_PRECISION, scale };
  }
  return INT64;
}

/** The common type of values that meet in one column (`coalesce`, `case`), or undefined when there is none. */
export function unify(a: DataType, b: DataType): DataType | undefined {
  if (isNullType(a)) return b;
  if (isNullType(b)) return a;
  if (sameShape(a, b)) return a;
  if (isNumber(a) && isNumber(b)) return numericResult(a, b);
  if (isText(a) && isText(b)) return STRING;
  return undefined;
}

function sameShape(a: DataType, b: DataType): boolean {
  return typeToString(a) === typeToString(b);
}

export function unifyAll(types: readonly DataType[]): DataType | undefined {
  let acc: DataType | undefined = NULL;
  for (const t of types) {
    acc = acc === undefined ? undefined : unify(acc, t);
  }
  return acc;
}

/** `string and int64`, `string, int64 and bool`: how errors list the argument types they got. */
export function typeList(args: readonly FieldType[]): string {
  const names = args.map((a) => typeToString(a.type));
  if (names.length === 0) return 'no arguments';
  if (names.length === 1) return names[0];
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** The arity error of a function that takes `min` to `max` arguments (`max` Infinity for variadic ones). */
export function arityError(name: string, args: readonly FieldType[], min: number, max: number): string | undefined {
  if (args.length >= min && args.length <= max) return undefined;
  const want =
    min === max
      ? `${min} argument${min === 1 ? '' : 's'}`
      : max === Number.POSITIVE_INFINITY
        ? `at least ${min} argument${min === 1 ? '' : 's'}`
        : `${min} to ${max} arguments`;
  return `${name} takes ${want}, got ${args.length}`;
}

export function takesError(name: string, what: string, args: readonly FieldType[]): string {
  return `${name} takes ${what}, got ${typeList(args)}`;
}

/** Whether a runtime value is the representation of `t` (see the table in expr/types.ts). */
export function valueMatches(t: DataType, v: Value): boolean {
  if (v === null) return true;
  switch (t.kind) {
    case 'string':
      return typeof v === 'string';
    case 'enum':
      return typeof v === 'string' && t.symbols.includes(v);
    case 'bool':
      return typeof v === 'boolean';
    case 'int64':
    case 'timestamp':
    case 'date':
      return Number.isSafeInteger(v);
    case 'float64':
    case 'decimal':
      return typeof v === 'number';
    case 'list':
      return Array.isArray(v) && v.every((x) => valueMatches(t.item.type, x));
    case 'struct':
      return typeof v === 'object' && !Array.isArray(v);
    case 'null':
      return false;
  }
}
