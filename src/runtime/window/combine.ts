import type { Value } from '../../expr/types.ts';

/**
 * A combine function: how the values of one window are folded into an accumulator and read out as a pane value.
 * The built-ins below use this same interface; a user-defined combine function implements it too.
 *
 * Contract: accumulators are plain data (they are stored per window, merged when sessions merge, and will be
 * checkpointed). `add` may update `acc` in place and must return the accumulator to keep. `merge` returns a new
 * accumulator and must not be affected by later changes to its inputs. `extract` must return a value the caller may
 * keep: panes are emitted and, in retracting mode, remembered while the accumulator goes on changing. `create()`
 * read out by `extract` is the value of an empty pane (sum 0, count 0, list `[]`, A5).
 */
export interface CombineFn<V, A, O> {
  create(): A;
  add(acc: A, value: V): A;
  merge(accs: readonly A[]): A;
  extract(acc: A): O;
}

export const sum: CombineFn<number, number, number> = {
  create: () => 0,
  add: (acc, v) => acc + v,
  merge: (accs) => accs.reduce((a, b) => a + b, 0),
  extract: (acc) => acc,
};

export const count: CombineFn<unknown, number, number> = {
  create: () => 0,
  add: (acc) => acc + 1,
  merge: (accs) => accs.reduce((a, b) => a + b, 0),
  extract: (acc) => acc,
};

/** All values, sorted ascending (see {@link compareValues}) so that a pane does not depend on arrival order. */
export const list: CombineFn<Value, Value[], Value[]> = {
  create: () => [],
  add: (acc, v) => {
    acc.push(v);
    return acc;
  },
  merge: (accs) => accs.flat(),
  extract: (acc) => [...acc].sort(compareValues),
};

/** `null` for an empty window. */
export const min: CombineFn<number, number | null, number | null> = {
  create: () => null,
  add: (acc, v) => (acc === null || v < acc ? v : acc),
  merge: (accs) => accs.reduce((a, b) => (b !== null && (a === null || b < a) ? b : a), null),
  extract: (acc) => acc,
};

/** `null` for an empty window. */
export const max: CombineFn<number, number | null, number | null> = {
  create: () => null,
  add: (acc, v) => (acc === null || v > acc ? v : acc),
  merge: (accs) => accs.reduce((a, b) => (b !== null && (a === null || b > a) ? b : a), null),
  extract: (acc) => acc,
};

export interface MeanAcc {
  sum: number;
  count: number;
}

/** The arithmetic mean; `null` for an empty window. */
export const avg: CombineFn<number, MeanAcc, number | null> = {
  create: () => ({ sum: 0, count: 0 }),
  add: (acc, v) => {
    acc.sum += v;
    acc.count++;
    return acc;
  },
  merge: (accs) => ({ sum: sum.merge(accs.map((a) => a.sum)), count: sum.merge(accs.map((a) => a.count)) }),
  extract: (acc) => (acc.count === 0 ? null : acc.sum / acc.count),
};

/** The built-in combine functions by name, as transcripts (`"combine": "sum"`) and plans name them. */
export const BUILTIN_COMBINE = { sum, count, list, min, max, avg } as const;

export type BuiltinCombineName = keyof typeof BUILTIN_COMBINE;

const RANK: Readonly<Record<string, number>> = { boolean: 1, number: 2, string: 3, object: 4 };

/**
 * A total order on values: `null`, then booleans, numbers (numerically), strings (by UTF-16 code unit, not locale),
 * then lists and structs by their JSON text.
 */
export function compareValues(a: Value, b: Value): number {
  const ra = a === null ? 0 : RANK[typeof a];
  const rb = b === null ? 0 : RANK[typeof b];
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const sa = typeof a === 'string' ? a : JSON.stringify(a);
  const sb = typeof b === 'string' ? b : JSON.stringify(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}
