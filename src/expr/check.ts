import { type AggNode, aggToString, assertNever, type ExprNode, exprToString } from './ast.ts';
import { type CastRule, castRule } from './casts.ts';
import type { FunctionDef, LiteralArg, Registry } from './functions.ts';
import { suggest } from './suggest.ts';
import { type FieldType, fieldIndex, type Schema, typeToString, type Value } from './types.ts';
import { ft, isKind, MAX_PRECISION, unify, valueMatches } from './typing.ts';

/** An expression whose columns are resolved to input positions and whose every node carries its type. */
export type BoundExpr =
  | { readonly kind: 'col'; readonly name: string; readonly index: number; readonly type: FieldType }
  | { readonly kind: 'lit'; readonly value: Value; readonly type: FieldType }
  | {
      readonly kind: 'call';
      readonly def: FunctionDef;
      readonly args: readonly BoundExpr[];
      readonly type: FieldType;
    }
  | {
      readonly kind: 'case';
      readonly branches: readonly { readonly when: BoundExpr; readonly then: BoundExpr }[];
      readonly otherwise: BoundExpr;
      readonly type: FieldType;
    }
  | { readonly kind: 'cast'; readonly arg: BoundExpr; readonly rule: CastRule; readonly type: FieldType };

/** A problem with an expression; `path` points at the offending node (`/args/0`, `/branches/1/when`). */
export interface CheckError {
  readonly message: string;
  readonly path?: string;
}

/**
 * `type` is present exactly when `errors` is empty; so is `bound` (for an aggregate, the bound argument, absent for
 * `count()`).
 */
export interface CheckResult {
  readonly type?: FieldType;
  readonly bound?: BoundExpr;
  readonly errors: readonly CheckError[];
}

interface Ctx {
  readonly schema: Schema;
  readonly registry: Registry;
  readonly errors: CheckError[];
}

/** Binds column names against `schema` and infers the expression's type, collecting every error it finds. */
export function checkExpr(node: ExprNode, schema: Schema, registry: Registry): CheckResult {
  const ctx: Ctx = { schema, registry, errors: [] };
  const bound = bind(node, '', ctx);
  if (bound === undefined || ctx.errors.length > 0) return { errors: ctx.errors };
  return { type: bound.type, bound, errors: [] };
}

/** Checks an aggregate: its argument as an expression, then the aggregate's own type rule. */
export function checkAgg(agg: AggNode, schema: Schema, registry: Registry): CheckResult {
  if (agg.arg === undefined) {
    if (agg.fn === 'count') return { type: ft({ kind: 'int64' }), errors: [] };
    return { errors: [{ message: `${aggToString(agg)}: ${agg.fn} needs an argument` }] };
  }
  const arg = checkExpr(agg.arg, schema, registry);
  if (arg.type === undefined) return { errors: arg.errors.map((e) => ({ ...e, path: `/arg${e.path ?? ''}` })) };
  if (agg.fn === 'combine') {
    if (agg.udf === undefined) return { errors: [{ message: `${aggToString(agg)}: combine needs its function` }] };
    return { type: ft(agg.udf.result, true), bound: arg.bound, errors: [] };
  }
  const t = checkAggType(agg.fn, arg.type);
  if (typeof t === 'string') return { errors: [{ message: `${aggToString(agg)}: ${t}`, path: '/arg' }] };
  return { type: t, bound: arg.bound, errors: [] };
}

/**
 * The result type of an aggregate over values of type `arg`. sum keeps the kind (decimal widens to the maximum
 * precision), avg is float64, min/max keep the type; all but the counts are null over a group without values.
 */
function checkAggType(fn: AggNode['fn'], arg: FieldType): FieldType | string {
  const t = arg.type;
  switch (fn) {
    case 'count':
      return ft({ kind: 'int64' });
    case 'countDistinct':
      return t.kind === 'list' || t.kind === 'struct'
        ? `countDistinct takes a scalar value, got ${typeToString(t)}`
        : ft({ kind: 'int64' });
    case 'sum':
      if (t.kind === 'decimal') return ft({ kind: 'decimal', precision: MAX_PRECISION, scale: t.scale }, true);
      return t.kind === 'int64' || t.kind === 'float64' ? ft(t, true) : `sum takes numbers, got ${typeToString(t)}`;
    case 'avg':
      return t.kind === 'int64' || t.kind === 'float64' || t.kind === 'decimal'
        ? ft({ kind: 'float64' }, true)
        : `avg takes numbers, got ${typeToString(t)}`;
    case 'min':
    case 'max':
      return ORDERED.has(t.kind)
        ? ft(t, true)
        : `${fn} takes numbers, strings, timestamps or dates, got ${typeToString(t)}`;
    case 'combine':
      return 'combine is typed by its function';
    default:
      return assertNever(fn);
  }
}

const ORDERED = new Set(['int64', 'float64', 'decimal', 'string', 'enum', 'timestamp', 'date']);

function fail(ctx: Ctx, path: string, message: string): undefined {
  ctx.errors.push({ message, path });
  return undefined;
}

function bind(node: ExprNode, path: string, ctx: Ctx): BoundExpr | undefined {
  switch (node.kind) {
    case 'col':
      return bindCol(node.name, path, ctx);
    case 'lit':
      if (!valueMatches(node.type, node.value))
        return fail(ctx, path, `${exprToString(node)} is not a valid ${typeToString(node.type)} literal`);
      return { kind: 'lit', value: node.value, type: ft(node.type, node.value === null) };
    case 'call':
      return bindCall(node, path, ctx);
    case 'case':
      return bindCase(node, path, ctx);
    case 'cast':
      return bindCast(node, path, ctx);
    default:
      return assertNever(node);
  }
}

function bindCol(name: string, path: string, ctx: Ctx): BoundExpr | undefined {
  const index = fieldIndex(ctx.schema, name);
  if (index >= 0)
    return { kind: 'col', name, index, type: ft(ctx.schema.fields[index].type, ctx.schema.fields[index].nullable) };
  const names = ctx.schema.fields.map((f) => f.name);
  const hint = suggest(name, names);
  const shown = names.length > 30 ? `${names.slice(0, 30).join(', ')}, … (${names.length} in all)` : names.join(', ');
  return fail(
    ctx,
    path,
    `unknown column '${name}'${hint === undefined ? '' : `; did you mean '${hint}'?`} available: ${shown || '(none)'}`,
  );
}

/** Binds every child before giving up, so one run reports all unknown columns, not just the first. */
function bindAll(nodes: readonly ExprNode[], path: (k: number) => string, ctx: Ctx): BoundExpr[] | undefined {
  const out = nodes.map((n, k) => bind(n, path(k), ctx));
  return out.every((b) => b !== undefined) ? (out as BoundExpr[]) : undefined;
}

function bindCall(node: Extract<ExprNode, { kind: 'call' }>, path: string, ctx: Ctx): BoundExpr | undefined {
  const def = ctx.registry.get(node.fn);
  const args = bindAll(node.args, (k) => `${path}/args/${k}`, ctx);
  if (def === undefined) {
    const hint = suggest(node.fn, ctx.registry.names());
    return fail(ctx, path, `unknown function '${node.fn}'${hint === undefined ? '' : `; did you mean '${hint}'?`}`);
  }
  if (args === undefined) return undefined;
  const types = args.map((a) => a.type);
  const literals = args.map((a): LiteralArg | undefined => (a.kind === 'lit' ? { value: a.value } : undefined));
  const inferred = def.infer(types, literals);
  if (typeof inferred === 'string') return fail(ctx, path, `${exprToString(node)}: ${inferred}`);
  const nullable = inferred.nullable || (def.nulls === 'propagate' && types.some((t) => t.nullable));
  return { kind: 'call', def, args, type: ft(inferred.type, nullable) };
}

function bindCase(node: Extract<ExprNode, { kind: 'case' }>, path: string, ctx: Ctx): BoundExpr | undefined {
  const whens = bindAll(
    node.branches.map((b) => b.when),
    (k) => `${path}/branches/${k}/when`,
    ctx,
  );
  const thens = bindAll(
    node.branches.map((b) => b.then),
    (k) => `${path}/branches/${k}/then`,
    ctx,
  );
  const otherwise = bind(node.otherwise, `${path}/otherwise`, ctx);
  if (whens === undefined || thens === undefined || otherwise === undefined) return undefined;
  const badWhen = whens.findIndex((w) => !isKind(w.type.type, 'bool'));
  if (badWhen >= 0)
    return fail(
      ctx,
      `${path}/branches/${badWhen}/when`,
      `${exprToString(node)}: a when condition must be bool, got ${typeToString(whens[badWhen].type.type)} (${exprToString(node.branches[badWhen].when)})`,
    );
  let type = otherwise.type.type;
  for (const t of thens) {
    const u = unify(type, t.type.type);
    if (u === undefined) {
      const all = [...thens, otherwise].map((b) => typeToString(b.type.type));
      return fail(ctx, path, `${exprToString(node)}: the branches must share one type, got ${all.join(', ')}`);
    }
    type = u;
  }
  const nullable = otherwise.type.nullable || thens.some((t) => t.type.nullable);
  const branches = whens.map((when, k) => ({ when, then: thens[k] }));
  return { kind: 'case', branches, otherwise, type: ft(type, nullable) };
}

function bindCast(node: Extract<ExprNode, { kind: 'cast' }>, path: string, ctx: Ctx): BoundExpr | undefined {
  const arg = bind(node.arg, `${path}/arg`, ctx);
  if (arg === undefined) return undefined;
  const rule = castRule(arg.type.type, node.to);
  if (typeof rule === 'string') return fail(ctx, path, `${exprToString(node)}: ${rule}`);
  const nullable = arg.type.nullable || rule.fallible;
  return { kind: 'cast', arg, rule, type: ft(node.to, nullable) };
}
