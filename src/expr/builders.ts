import type { AggNode, ExprNode, UserCombine } from './ast.ts';
import type { DataType, Value } from './types.ts';

/** Anything an operator accepts where an expression is expected: an `Expr` or a plain literal. */
export type ExprLike = Expr | string | number | boolean | null;

/** Units `dateTrunc` accepts. */
export type DateUnit = 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second';

/** Type names `cast` accepts. */
export type CastTarget = 'string' | 'int64' | 'float64' | 'bool' | 'timestamp' | 'date' | DataType;

/**
 * A column expression: an immutable wrapper over an {@link ExprNode} with chainable operators.
 * Expressions are checked against the input schema by `napkin check` and compiled once per stage.
 * @example col('amount').mul(col('fx_rate')).round(2)
 */
export class Expr {
  /** @internal */
  constructor(readonly node: ExprNode) {}

  add(o: ExprLike): Expr {
    return call('add', this, o);
  }
  sub(o: ExprLike): Expr {
    return call('sub', this, o);
  }
  mul(o: ExprLike): Expr {
    return call('mul', this, o);
  }
  /** Division; always float64. Division by zero gives null. */
  div(o: ExprLike): Expr {
    return call('div', this, o);
  }
  mod(o: ExprLike): Expr {
    return call('mod', this, o);
  }
  neg(): Expr {
    return call('neg', this);
  }

  eq(o: ExprLike): Expr {
    return call('eq', this, o);
  }
  ne(o: ExprLike): Expr {
    return call('ne', this, o);
  }
  lt(o: ExprLike): Expr {
    return call('lt', this, o);
  }
  le(o: ExprLike): Expr {
    return call('le', this, o);
  }
  gt(o: ExprLike): Expr {
    return call('gt', this, o);
  }
  ge(o: ExprLike): Expr {
    return call('ge', this, o);
  }
  /** True when the value equals one of `values` (SQL `IN`). */
  isIn(values: readonly (string | number | boolean)[]): Expr {
    return call('in', this, ...values);
  }

  and(o: ExprLike): Expr {
    return call('and', this, o);
  }
  or(o: ExprLike): Expr {
    return call('or', this, o);
  }
  not(): Expr {
    return call('not', this);
  }

  isNull(): Expr {
    return call('isNull', this);
  }
  isNotNull(): Expr {
    return call('isNotNull', this);
  }
  /** The first non-null of this and `others`. */
  coalesce(...others: ExprLike[]): Expr {
    return call('coalesce', this, ...others);
  }

  lower(): Expr {
    return call('lower', this);
  }
  upper(): Expr {
    return call('upper', this);
  }
  trim(): Expr {
    return call('trim', this);
  }
  length(): Expr {
    return call('length', this);
  }
  concat(...others: ExprLike[]): Expr {
    return call('concat', this, ...others);
  }
  /** Substring from 1-based `start`, `len` characters (SQL `substr`). */
  substr(start: number, len?: number): Expr {
    return len === undefined ? call('substr', this, start) : call('substr', this, start, len);
  }
  contains(s: ExprLike): Expr {
    return call('contains', this, s);
  }
  startsWith(s: ExprLike): Expr {
    return call('startsWith', this, s);
  }
  endsWith(s: ExprLike): Expr {
    return call('endsWith', this, s);
  }
  replace(search: string, replacement: string): Expr {
    return call('replace', this, search, replacement);
  }

  abs(): Expr {
    return call('abs', this);
  }
  /** Rounds half away from zero to `digits` decimals. */
  round(digits = 0): Expr {
    return call('round', this, digits);
  }
  floor(): Expr {
    return call('floor', this);
  }
  ceil(): Expr {
    return call('ceil', this);
  }

  year(): Expr {
    return call('year', this);
  }
  month(): Expr {
    return call('month', this);
  }
  day(): Expr {
    return call('day', this);
  }
  hour(): Expr {
    return call('hour', this);
  }
  /** ISO day of week, Monday = 1 … Sunday = 7. */
  dayOfWeek(): Expr {
    return call('dayOfWeek', this);
  }
  /** The UTC calendar date of a timestamp. */
  toDate(): Expr {
    return call('toDate', this);
  }
  /** Truncates a timestamp (or date) to the start of its `unit`, in UTC. */
  dateTrunc(unit: DateUnit): Expr {
    return call('dateTrunc', unit, this);
  }

  /** Converts to another type; a value that does not convert gives null (use a contract to reject such input). */
  cast(to: CastTarget): Expr {
    return new Expr({ kind: 'cast', arg: this.node, to: typeof to === 'string' ? { kind: to } : to });
  }
}

/** A reference to a column of the stage's input. */
export function col(name: string): Expr {
  if (typeof name !== 'string' || name.length === 0) throw new Error('col: give a column name');
  return new Expr({ kind: 'col', name });
}

/** A literal. Strings, numbers (int64 when integral, else float64), booleans and null. */
export function lit(value: string | number | boolean | null): Expr {
  return new Expr(litNode(value));
}

/** A typed literal, e.g. `typedLit(1, t.float64())` or a timestamp in ms. */
export function typedLit(value: Value, type: DataType): Expr {
  return new Expr({ kind: 'lit', value, type });
}

function litNode(value: string | number | boolean | null): ExprNode {
  if (value === null) return { kind: 'lit', value, type: { kind: 'null' } };
  switch (typeof value) {
    case 'string':
      return { kind: 'lit', value, type: { kind: 'string' } };
    case 'boolean':
      return { kind: 'lit', value, type: { kind: 'bool' } };
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`lit: ${value} is not a finite number`);
      return { kind: 'lit', value, type: Number.isSafeInteger(value) ? { kind: 'int64' } : { kind: 'float64' } };
    default:
      throw new Error(`lit: unsupported literal ${String(value)}`);
  }
}

/** Converts an `ExprLike` to a node: strings become string literals (use `col()` for columns). */
export function toNode(e: ExprLike): ExprNode {
  return e instanceof Expr ? e.node : litNode(e);
}

function call(fn: string, ...args: ExprLike[]): Expr {
  return new Expr({ kind: 'call', fn, args: args.map(toNode) });
}

/** Logical AND of all arguments (SQL three-valued logic). */
export function and(first: ExprLike, ...rest: ExprLike[]): Expr {
  return rest.reduce<Expr>((acc, e) => acc.and(e), first instanceof Expr ? first : lit(first));
}

/** Logical OR of all arguments (SQL three-valued logic). */
export function or(first: ExprLike, ...rest: ExprLike[]): Expr {
  return rest.reduce<Expr>((acc, e) => acc.or(e), first instanceof Expr ? first : lit(first));
}

export function not(e: ExprLike): Expr {
  return call('not', e);
}

export function coalesce(first: ExprLike, ...rest: ExprLike[]): Expr {
  return call('coalesce', first, ...rest);
}

export function concat(first: ExprLike, ...rest: ExprLike[]): Expr {
  return call('concat', first, ...rest);
}

/** A conditional: `when(c1, v1).when(c2, v2).otherwise(v3)`; without `otherwise` the default is null. */
export function when(cond: ExprLike, then: ExprLike): CaseBuilder {
  return new CaseBuilder([{ when: toNode(cond), then: toNode(then) }]);
}

export class CaseBuilder extends Expr {
  /** @internal */
  constructor(private readonly branches: readonly { when: ExprNode; then: ExprNode }[]) {
    super({ kind: 'case', branches, otherwise: { kind: 'lit', value: null, type: { kind: 'null' } } });
  }
  when(cond: ExprLike, then: ExprLike): CaseBuilder {
    return new CaseBuilder([...this.branches, { when: toNode(cond), then: toNode(then) }]);
  }
  otherwise(value: ExprLike): Expr {
    return new Expr({ kind: 'case', branches: this.branches, otherwise: toNode(value) });
  }
}

/** An aggregate for `groupBy().agg()`. */
export class Agg {
  /** @internal */
  constructor(readonly node: AggNode) {}
}

/** Number of rows, or of non-null values of `e`. */
export function count(e?: ExprLike): Agg {
  return new Agg(e === undefined ? { fn: 'count' } : { fn: 'count', arg: toNode(e) });
}
export function sum(e: ExprLike): Agg {
  return new Agg({ fn: 'sum', arg: toNode(e) });
}
export function min(e: ExprLike): Agg {
  return new Agg({ fn: 'min', arg: toNode(e) });
}
export function max(e: ExprLike): Agg {
  return new Agg({ fn: 'max', arg: toNode(e) });
}
export function avg(e: ExprLike): Agg {
  return new Agg({ fn: 'avg', arg: toNode(e) });
}
export function countDistinct(e: ExprLike): Agg {
  return new Agg({ fn: 'countDistinct', arg: toNode(e) });
}

/**
 * A user-defined aggregate: `fn` folds the non-null values of `e` (create/add/merge/extract). `result` may be a data
 * type or a contract field such as `t.float64()`.
 * @example
 * const range = { name: 'range', result: t.float64(), create: () => ({ lo: null, hi: null }), add: ..., merge: ...,
 *   extract: (a) => (a.lo === null ? null : a.hi - a.lo) };
 * read(readings).window(sessions('5m')).groupBy('sensor').agg({ spread: combine(range, col('value')) })
 */
export function combine<A>(
  fn: Omit<UserCombine<A>, 'result'> & { readonly result: DataType | { readonly type: DataType } },
  e: ExprLike,
): Agg {
  if (typeof fn.name !== 'string' || fn.name.length === 0) throw new Error('combine: give the function a name');
  for (const m of ['create', 'add', 'merge', 'extract'] as const) {
    if (typeof fn[m] !== 'function') throw new Error(`combine(${fn.name}): ${m} must be a function`);
  }
  const result = 'kind' in fn.result ? fn.result : fn.result.type;
  // Methods are called through `fn`, so a class instance keeps its prototype and `this`.
  const udf: UserCombine<A> = {
    name: fn.name,
    result,
    source: [fn.create, fn.add, fn.merge, fn.extract].map((f) => f.toString()).join('\n'),
    create: () => fn.create(),
    add: (acc, v) => fn.add(acc, v),
    merge: (accs) => fn.merge(accs),
    extract: (acc) => fn.extract(acc),
  };
  return new Agg({ fn: 'combine', arg: toNode(e), udf: udf as unknown as UserCombine });
}
