import type { UserCombine } from '../../expr/ast.ts';
import type { Value } from '../../expr/types.ts';
import type { CombineFn } from '../window/combine.ts';
import type { AggSpec } from './aggregate.ts';

/**
 * The accumulator of one aggregate in one window. Plain data (the combine contract): `n` counts non-null inputs,
 * `s` and `c` are a compensated (Neumaier) sum and its correction, `best` the min or max so far, `seen` the distinct
 * values (by their JSON text) for countDistinct.
 */
export interface AggAcc {
  n: number;
  s: number;
  c: number;
  best: Value;
  seen: Record<string, true> | null;
  /** The accumulator of a user-defined combine function (plain data by its contract). */
  u: unknown;
}

/** One row's aggregate inputs, in the order of the aggregates; `count()` gets a non-null placeholder. */
export type RowInputs = readonly Value[];

/**
 * A combine function over all aggregates of a row at once, so a windowed aggregate keeps one accumulator per
 * (key, window) whatever the number of aggregates. Results match `aggregate.ts`: compensated sums rounded back to a
 * decimal's scale, and null for sum, min, max and avg of no non-null input.
 */
export function rowCombine(aggs: readonly AggSpec[]): CombineFn<RowInputs, AggAcc[], Value[]> {
  const factors = aggs.map((a) => (a.fn === 'sum' && a.type.kind === 'decimal' ? 10 ** a.type.scale : 0));
  const create = (): AggAcc[] =>
    aggs.map((a) => ({
      n: 0,
      s: 0,
      c: 0,
      best: null,
      seen: a.fn === 'countDistinct' ? {} : null,
      u: a.udf === undefined ? null : a.udf.create(),
    }));
  return {
    create,
    add(acc, row) {
      for (let a = 0; a < aggs.length; a++) {
        const v = row[a];
        if (v !== null) addValue(aggs[a], acc[a], v);
      }
      return acc;
    },
    merge(accs) {
      const out = create();
      for (const acc of accs) {
        for (let a = 0; a < aggs.length; a++) mergeInto(aggs[a], out[a], acc[a]);
      }
      return out;
    },
    extract(acc) {
      return aggs.map((spec, a) => extractValue(spec, acc[a], factors[a]));
    },
  };
}

function addValue(spec: AggSpec, acc: AggAcc, v: Value): void {
  acc.n++;
  switch (spec.fn) {
    case 'count':
      return;
    case 'sum':
    case 'avg':
      addCompensated(acc, v as number);
      return;
    case 'min':
      if (acc.best === null || (v as number) < (acc.best as number)) acc.best = v;
      return;
    case 'max':
      if (acc.best === null || (v as number) > (acc.best as number)) acc.best = v;
      return;
    case 'countDistinct':
      (acc.seen as Record<string, true>)[JSON.stringify(v)] = true;
      return;
    case 'combine':
      acc.u = (spec.udf as UserCombine).add(acc.u, v);
      return;
    default:
      spec.fn satisfies never;
  }
}

function addCompensated(acc: AggAcc, x: number): void {
  const t = acc.s + x;
  acc.c += Math.abs(acc.s) >= Math.abs(x) ? acc.s - t + x : x - t + acc.s;
  acc.s = t;
}

function mergeInto(spec: AggSpec, into: AggAcc, from: AggAcc): void {
  into.n += from.n;
  addCompensated(into, from.s);
  addCompensated(into, from.c);
  const b = from.best as number | null;
  const cur = into.best as number | null;
  if (b !== null && (cur === null || (spec.fn === 'min' ? b < cur : b > cur))) into.best = b;
  if (from.seen !== null) into.seen = { ...(into.seen ?? {}), ...from.seen };
  if (spec.udf !== undefined) into.u = spec.udf.merge([into.u, from.u]);
}

function extractValue(spec: AggSpec, acc: AggAcc, factor: number): Value {
  switch (spec.fn) {
    case 'count':
      return acc.n;
    case 'countDistinct':
      return Object.keys(acc.seen ?? {}).length;
    case 'sum': {
      if (acc.n === 0) return null;
      const total = acc.s + acc.c;
      return factor === 0 ? total : Math.round(total * factor) / factor;
    }
    case 'avg':
      return acc.n === 0 ? null : (acc.s + acc.c) / acc.n;
    case 'min':
    case 'max':
      return acc.best;
    case 'combine':
      return (spec.udf as UserCombine).extract(acc.u);
    default:
      return spec.fn satisfies never;
  }
}
