import type { FunctionDef } from '../functions.ts';
import { checkedInt64, roundHalfAway } from '../runtime.ts';
import type { DataType, FieldType } from '../types.ts';
import { arityError, FLOAT64, ft, INT64, isKind, isNumber, numericResult, takesError } from '../typing.ts';

/**
 * int64 with int64 gives int64 (an overflow past ±(2^53 − 1) throws), decimal with int64 or decimal gives decimal
 * (the larger scale, precision 38), anything with float64 gives float64.
 */
function binary(name: string, op: string, description: string, example: string): FunctionDef {
  return {
    name,
    description,
    example,
    signature: `${name}(number, number) → number`,
    nulls: 'propagate',
    infer: (args) => {
      const bad = arityError(name, args, 2, 2);
      if (bad !== undefined) return bad;
      const t = numericResult(args[0].type, args[1].type);
      return t === undefined ? takesError(name, 'numbers', args) : ft(t);
    },
    emit: ([a, b], [ta, tb]) =>
      ta.type.kind === 'int64' && tb.type.kind === 'int64' ? `f.checkedInt64(${a} ${op} ${b})` : `(${a} ${op} ${b})`,
    helpers: { checkedInt64 },
  };
}

/** Functions of one number that keep its type (int64 stays int64, decimal keeps its scale). */
function unary(name: string, description: string, example: string, emit: (a: string) => string): FunctionDef {
  return {
    name,
    description,
    example,
    signature: `${name}(number) → same type`,
    nulls: 'propagate',
    infer: (args) => {
      const bad = arityError(name, args, 1, 1);
      if (bad !== undefined) return bad;
      return isNumber(args[0].type) ? ft(args[0].type) : takesError(name, 'a number', args);
    },
    emit: ([a]) => emit(a),
  };
}

const div: FunctionDef = {
  name: 'div',
  description: 'Division; always float64. Division by zero gives null.',
  example: "col('revenue').div(col('orders'))",
  signature: 'div(number, number) → float64?',
  nulls: 'propagate',
  infer: (args) => {
    const bad = arityError('div', args, 2, 2);
    if (bad !== undefined) return bad;
    return isNumber(args[0].type) && isNumber(args[1].type) ? ft(FLOAT64, true) : takesError('div', 'numbers', args);
  },
  emit: ([a, b]) => `(${b} === 0 ? null : (${a} / ${b}))`,
};

const mod: FunctionDef = {
  name: 'mod',
  description: 'Remainder of integer division, with the sign of the dividend (SQL %). Modulo zero gives null.',
  example: "col('order_no').mod(10)",
  signature: 'mod(int64, int64) → int64?',
  nulls: 'propagate',
  infer: (args) => {
    const bad = arityError('mod', args, 2, 2);
    if (bad !== undefined) return bad;
    return isKind(args[0].type, 'int64') && isKind(args[1].type, 'int64')
      ? ft(INT64, true)
      : takesError('mod', 'two int64 values (cast floats first)', args);
  },
  emit: ([a, b]) => `(${b} === 0 ? null : (${a} % ${b}))`,
};

function roundType(args: readonly FieldType[]): DataType | string {
  const bad = arityError('round', args, 1, 2);
  if (bad !== undefined) return bad;
  if (!isNumber(args[0].type) || (args.length === 2 && !isKind(args[1].type, 'int64')))
    return takesError('round', 'a number and optional int64 digits', args);
  return args[0].type;
}

const round: FunctionDef = {
  name: 'round',
  description: 'Rounds half away from zero to `digits` decimals (default 0); negative digits round to tens, hundreds …',
  example: "col('amount').round(2)",
  signature: 'round(number, digits?: int64) → same type',
  nulls: 'propagate',
  infer: (args) => {
    const t = roundType(args);
    return typeof t === 'string' ? t : ft(t);
  },
  emit: ([a, digits], types, literals) => {
    const d = literals[1]?.value;
    const keepsInteger = types[0].type.kind === 'int64' && (digits === undefined || (typeof d === 'number' && d >= 0));
    return keepsInteger ? a : `f.roundHalfAway(${a}, ${digits ?? '0'})`;
  },
  helpers: { roundHalfAway },
};

export const arithmeticFunctions: readonly FunctionDef[] = [
  binary('add', '+', 'Sum of two numbers.', "col('net').add(col('tax'))"),
  binary('sub', '-', 'Difference of two numbers.', "col('gross').sub(col('discount'))"),
  binary('mul', '*', 'Product of two numbers.', "col('qty').mul(col('price'))"),
  div,
  mod,
  unary('neg', 'The number negated.', "col('amount').neg()", (a) => `(-${a})`),
  unary('abs', 'Absolute value.', "col('delta').abs()", (a) => `Math.abs(${a})`),
  unary('floor', 'Largest integer not above the number.', "col('score').floor()", (a) => `Math.floor(${a})`),
  unary('ceil', 'Smallest integer not below the number.', "col('score').ceil()", (a) => `Math.ceil(${a})`),
  round,
];
