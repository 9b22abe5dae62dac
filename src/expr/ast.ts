import type { DataType, Value } from './types.ts';

/**
 * The expression tree. Nodes are plain data (they can be stored, printed and compared); the compiler in
 * `compile.ts` turns a bound tree into one JavaScript loop per stage.
 */
export type ExprNode =
  | { readonly kind: 'col'; readonly name: string }
  | { readonly kind: 'lit'; readonly value: Value; readonly type: DataType }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly ExprNode[] }
  | {
      readonly kind: 'case';
      readonly branches: readonly { readonly when: ExprNode; readonly then: ExprNode }[];
      readonly otherwise: ExprNode;
    }
  | { readonly kind: 'cast'; readonly arg: ExprNode; readonly to: DataType };

/** Aggregate functions of `groupBy().agg()`; `combine` is a user-defined combine function ({@link UserCombine}). */
export type AggFn = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'countDistinct' | 'combine';

/**
 * A user-defined combine function, the general form of an aggregate: how values fold into an accumulator, how
 * accumulators merge (when session windows merge) and how a result is read out. Accumulators must be plain data
 * (they are stored per key and window and will be checkpointed); `add` may update its accumulator in place and returns
 * the one to keep; `merge` returns a new accumulator; `extract` returns a value of the declared `result` type.
 */
export interface UserCombine<A = unknown> {
  /** Shown in plans, errors and lineage. */
  readonly name: string;
  /** The type of `extract`'s value; results are always nullable. */
  readonly result: DataType;
  /** The source text of the user's functions, so a plan's fingerprint changes when their code does. */
  readonly source?: string;
  create(): A;
  add(acc: A, value: Value): A;
  merge(accs: readonly A[]): A;
  extract(acc: A): Value;
}

/** One aggregate: `count()` has no argument (counts rows); every other aggregate ignores nulls. */
export interface AggNode {
  readonly fn: AggFn;
  readonly arg?: ExprNode;
  /** The function of `fn: 'combine'`. */
  readonly udf?: UserCombine;
}

/** Renders an expression as napkin DSL text, used in error messages and `napkin draw`. */
export function exprToString(e: ExprNode): string {
  switch (e.kind) {
    case 'col':
      return `col('${e.name}')`;
    case 'lit':
      return typeof e.value === 'string' ? `'${e.value}'` : JSON.stringify(e.value);
    case 'call':
      return callToString(e.fn, e.args);
    case 'case':
      return `${e.branches.map((b) => `when(${exprToString(b.when)}, ${exprToString(b.then)})`).join('.')}.otherwise(${exprToString(e.otherwise)})`;
    case 'cast':
      return `${exprToString(e.arg)}.cast('${e.to.kind}')`;
    default:
      return assertNever(e);
  }
}

/** Calls print as the DSL's method chains: `col('a').mul(col('b')).round(2)`, `col('s').isIn(['x', 'y'])`. */
function callToString(fn: string, args: readonly ExprNode[]): string {
  if (args.length === 0) return `${fn}()`;
  if (fn === 'dateTrunc' && args.length === 2) return `${exprToString(args[1])}.dateTrunc(${exprToString(args[0])})`;
  const [recv, ...rest] = args.map(exprToString);
  const receiver = args[0].kind === 'lit' ? `lit(${recv})` : recv;
  if (fn === 'in') return `${receiver}.isIn([${rest.join(', ')}])`;
  return `${receiver}.${fn}(${rest.join(', ')})`;
}

export function aggToString(a: AggNode): string {
  return `${a.fn === 'combine' ? `combine:${a.udf?.name ?? '?'}` : a.fn}(${a.arg === undefined ? '' : exprToString(a.arg)})`;
}

/** Names of the columns an expression reads, in first-seen order. */
export function columnsOf(e: ExprNode, out: string[] = []): string[] {
  switch (e.kind) {
    case 'col':
      if (!out.includes(e.name)) out.push(e.name);
      return out;
    case 'lit':
      return out;
    case 'call':
      for (const a of e.args) columnsOf(a, out);
      return out;
    case 'case':
      for (const b of e.branches) {
        columnsOf(b.when, out);
        columnsOf(b.then, out);
      }
      return columnsOf(e.otherwise, out);
    case 'cast':
      return columnsOf(e.arg, out);
    default:
      return assertNever(e);
  }
}

export function assertNever(x: never): never {
  throw new Error(`unexpected value: ${JSON.stringify(x)}`);
}
