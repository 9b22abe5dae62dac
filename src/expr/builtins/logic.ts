import type { FunctionDef, LiteralArg } from '../functions.ts';
import type { FieldType } from '../types.ts';
import { arityError, BOOL, comparable, ft, isKind, takesError, typeList, unifyAll } from '../typing.ts';

const COMPARES = 'two values of the same kind (numbers, text, bool, timestamp or date)';

function comparison(name: string, op: string, description: string, example: string): FunctionDef {
  return {
    name,
    description,
    example,
    signature: `${name}(a, b) → bool`,
    nulls: 'propagate',
    infer: (args) => {
      const bad = arityError(name, args, 2, 2);
      if (bad !== undefined) return bad;
      return comparable(args[0].type, args[1].type) ? ft(BOOL) : takesError(name, COMPARES, args);
    },
    emit: ([a, b]) => `(${a} ${op} ${b})`,
  };
}

function inferIn(args: readonly FieldType[], literals: readonly (LiteralArg | undefined)[]): FieldType | string {
  const bad = arityError('in', args, 2, Number.POSITIVE_INFINITY);
  if (bad !== undefined) return bad;
  for (let k = 1; k < args.length; k++) {
    const lit = literals[k];
    if (lit === undefined || lit.value === null)
      return `in takes a value and a list of non-null literals, but argument ${k + 1} is not one (use isNull for nulls)`;
    if (!comparable(args[0].type, args[k].type)) return takesError('in', 'a value and literals of the same kind', args);
  }
  return ft(BOOL);
}

/** SQL three-valued AND/OR: `decisive` wins over null, null wins over the other value. */
function logical(name: 'and' | 'or', decisive: boolean): FunctionDef {
  return {
    name,
    description: `Logical ${name.toUpperCase()} with SQL three-valued logic: ${decisive} if any argument is ${decisive}, else null if any is null.`,
    example: `col('paid').${name}(col('shipped'))`,
    signature: `${name}(bool, bool, …) → bool`,
    nulls: 'custom',
    infer: (args) => {
      const bad = arityError(name, args, 2, Number.POSITIVE_INFINITY);
      if (bad !== undefined) return bad;
      if (!args.every((a) => isKind(a.type, 'bool'))) return takesError(name, 'bool values', args);
      return ft(
        BOOL,
        args.some((a) => a.nullable),
      );
    },
    emit: (args, types) => {
      const nullable = args.filter((_, k) => types[k].nullable);
      if (nullable.length === 0) return `(${args.join(decisive ? ' || ' : ' && ')})`;
      const wins = args.map((a) => `${a} === ${decisive}`).join(' || ');
      const unknown = nullable.map((a) => `${a} === null`).join(' || ');
      return `((${wins}) ? ${decisive} : ((${unknown}) ? null : ${!decisive}))`;
    },
  };
}

const not: FunctionDef = {
  name: 'not',
  description: 'Logical negation; not(null) is null.',
  example: "not(col('cancelled'))",
  signature: 'not(bool) → bool',
  nulls: 'propagate',
  infer: (args) => {
    const bad = arityError('not', args, 1, 1);
    if (bad !== undefined) return bad;
    return isKind(args[0].type, 'bool') ? ft(BOOL) : takesError('not', 'a bool', args);
  },
  emit: ([a]) => `(!${a})`,
};

function nullTest(name: string, isNull: boolean): FunctionDef {
  return {
    name,
    description: isNull ? 'True when the value is null.' : 'True when the value is not null.',
    example: `col('coupon').${name}()`,
    signature: `${name}(any) → bool`,
    nulls: 'custom',
    infer: (args) => arityError(name, args, 1, 1) ?? ft(BOOL),
    emit: ([a], [t]) => (t.nullable ? `(${a} ${isNull ? '===' : '!=='} null)` : `${!isNull}`),
  };
}

const coalesce: FunctionDef = {
  name: 'coalesce',
  description: 'The first non-null argument; null only when every argument is null.',
  example: "coalesce(col('nickname'), col('name'), 'anonymous')",
  signature: 'coalesce(a, b, …) → common type',
  nulls: 'custom',
  infer: (args) => {
    const bad = arityError('coalesce', args, 1, Number.POSITIVE_INFINITY);
    if (bad !== undefined) return bad;
    const t = unifyAll(args.map((a) => a.type));
    if (t === undefined) return `coalesce takes values of one type, got ${typeList(args)}`;
    return ft(
      t,
      args.every((a) => a.nullable),
    );
  },
  emit: (args, types) => {
    // Arguments after the first non-nullable one are never reached; untyped null literals never win.
    const stop = types.findIndex((t) => !t.nullable);
    const reachable = args.slice(0, stop < 0 ? args.length : stop + 1);
    const live = reachable.filter((_, k) => types[k].type.kind !== 'null');
    if (live.length === 0) return 'null';
    return live.slice(0, -1).reduceRight((rest, a) => `(${a} !== null ? ${a} : ${rest})`, live[live.length - 1]);
  },
};

export const logicFunctions: readonly FunctionDef[] = [
  comparison('eq', '===', 'True when the values are equal.', "col('status').eq('paid')"),
  comparison('ne', '!==', 'True when the values differ.', "col('status').ne('cancelled')"),
  comparison('lt', '<', 'Less than.', "col('amount').lt(100)"),
  comparison('le', '<=', 'Less than or equal.', "col('amount').le(100)"),
  comparison('gt', '>', 'Greater than.', "col('amount').gt(100)"),
  comparison('ge', '>=', 'Greater than or equal.', "col('amount').ge(100)"),
  {
    name: 'in',
    description: 'True when the value equals one of the literals (SQL IN).',
    example: "col('country').isIn(['DE', 'FR'])",
    signature: 'in(a, literal, …) → bool',
    nulls: 'propagate',
    infer: inferIn,
    emit: ([a, ...values]) => `(${values.map((v) => `${a} === ${v}`).join(' || ')})`,
  },
  logical('and', false),
  logical('or', true),
  not,
  nullTest('isNull', true),
  nullTest('isNotNull', false),
  coalesce,
];
