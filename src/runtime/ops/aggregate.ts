import type { AggFn, UserCombine } from '../../expr/ast.ts';
import type { CompiledProjection } from '../../expr/compile.ts';
import type { DataType, Value } from '../../expr/types.ts';
import { GroupIndex } from '../../state/group-index.ts';
import type { Column } from '../batch.ts';
import { isComplete, type Operator, type Output, type StageMetrics } from '../operator.ts';

/** One aggregate as the operator runs it: which function, which computed argument column, the result type. */
export interface AggSpec {
  readonly fn: AggFn;
  /** Index into the compiled argument projection; -1 for `count()`. */
  readonly arg: number;
  readonly type: DataType;
  /** The user's function, for `fn: 'combine'`. */
  readonly udf?: UserCombine;
}

const OUT_BATCH = 65_536;

/**
 * Hash aggregation. Groups live in a {@link GroupIndex} (keyed state); accumulators are flat arrays indexed by group,
 * updated one column at a time per batch. Results are emitted when the input ends: for the global window with the
 * default trigger that is the only firing.
 */
export function aggregateOperator(
  keyColumns: readonly number[],
  args: CompiledProjection,
  aggs: readonly AggSpec[],
  out: Output,
  m: StageMetrics,
): Operator {
  let groups = new GroupIndex(keyColumns.length);
  const accs = aggs.map((a) => newAccumulator(a));
  let rowGroups = new Int32Array(1024);
  let done = false;
  if (keyColumns.length === 0) groups.groupOf([], 0);
  return {
    push(_port, batch) {
      const n = batch.length;
      m.in += n;
      if (rowGroups.length < n) rowGroups = new Int32Array(n * 2);
      groups.assign(
        keyColumns.map((k) => batch.columns[k]),
        n,
        rowGroups,
      );
      const argCols = args.run(batch.columns, n);
      for (let a = 0; a < aggs.length; a++) {
        const spec = aggs[a];
        accs[a].update(rowGroups, n, spec.arg < 0 ? null : argCols[spec.arg], groups.size);
      }
    },
    watermark(_port, wm) {
      // The global window with the default trigger fires once, at the end of input (M5); until then it holds the
      // output watermark at −∞.
      if (!isComplete(wm) || done) return;
      done = true;
      const total = groups.size;
      for (let start = 0; start < total; start += OUT_BATCH) {
        const len = Math.min(OUT_BATCH, total - start);
        const columns: Column[] = groups.keyColumns(start, len);
        for (const acc of accs) columns.push(acc.extract(start, len));
        out.push({ length: len, columns });
      }
      out.watermark(wm);
    },
    snapshot: () => ({ groups, accs: accs.map((a) => a.state()), done }),
    restore(state) {
      const s = state as { groups: GroupIndex; accs: unknown[]; done: boolean };
      groups = s.groups;
      for (let i = 0; i < accs.length; i++) accs[i].restore(s.accs[i]);
      done = s.done;
    },
  };
}

interface Accumulator {
  update(rowGroups: Int32Array, n: number, arg: Column | null, groupCount: number): void;
  extract(start: number, len: number): Column;
  /** Its arrays, for a snapshot, and their restore. */
  state(): unknown;
  restore(state: unknown): void;
}

function newAccumulator(spec: AggSpec): Accumulator {
  switch (spec.fn) {
    case 'count':
      return countAcc();
    case 'sum':
      return sumAcc(spec.type.kind === 'decimal' ? spec.type.scale : undefined, false);
    case 'avg':
      return sumAcc(undefined, true);
    case 'min':
      return extremeAcc(true);
    case 'max':
      return extremeAcc(false);
    case 'countDistinct':
      return distinctAcc();
    case 'combine':
      return userAcc(spec.udf as UserCombine);
    default:
      return spec.fn satisfies never;
  }
}

function grow(a: Float64Array<ArrayBuffer>, size: number): Float64Array<ArrayBuffer> {
  if (a.length >= size) return a;
  const b = new Float64Array(Math.max(size, a.length * 2));
  b.set(a);
  return b;
}

function countAcc(): Accumulator {
  let counts = new Float64Array(64);
  return {
    update(rg, n, arg, size) {
      counts = grow(counts, size);
      if (arg === null) for (let i = 0; i < n; i++) counts[rg[i]]++;
      else for (let i = 0; i < n; i++) if (arg[i] !== null) counts[rg[i]]++;
    },
    extract(start, len) {
      return Array.from(counts.subarray(start, start + len));
    },
    state: () => counts,
    restore(state) {
      counts = state as Float64Array<ArrayBuffer>;
    },
  };
}

/**
 * Sum and average; a group with no non-null input gives null. Sums are compensated (Neumaier), so adding many
 * two-decimal amounts gives the correctly rounded total a decimal engine gives, not a drifted one; decimal sums are
 * then rounded back to their scale.
 */
function sumAcc(scale: number | undefined, average: boolean): Accumulator {
  let sums = new Float64Array(64);
  let comps = new Float64Array(64);
  let counts = new Float64Array(64);
  const factor = scale === undefined ? 0 : 10 ** scale;
  return {
    update(rg, n, arg, size) {
      sums = grow(sums, size);
      comps = grow(comps, size);
      counts = grow(counts, size);
      const col = arg as Column;
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (v !== null) {
          const g = rg[i];
          const x = v as number;
          const s = sums[g];
          const t = s + x;
          comps[g] += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
          sums[g] = t;
          counts[g]++;
        }
      }
    },
    extract(start, len) {
      const out: Value[] = new Array(len);
      for (let i = 0; i < len; i++) {
        const g = start + i;
        const total = sums[g] + comps[g];
        if (counts[g] === 0) out[i] = null;
        else if (average) out[i] = total / counts[g];
        else out[i] = factor === 0 ? total : Math.round(total * factor) / factor;
      }
      return out;
    },
    state: () => ({ sums, comps, counts }),
    restore(state) {
      ({ sums, comps, counts } = state as Record<'sums' | 'comps' | 'counts', Float64Array<ArrayBuffer>>);
    },
  };
}

function extremeAcc(isMin: boolean): Accumulator {
  let best: Value[] = [];
  return {
    update(rg, n, arg, size) {
      while (best.length < size) best.push(null);
      const col = arg as Column;
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (v === null) continue;
        const g = rg[i];
        const b = best[g];
        if (b === null || (isMin ? (v as number) < (b as number) : (v as number) > (b as number))) best[g] = v;
      }
    },
    extract(start, len) {
      const out = best.slice(start, start + len);
      while (out.length < len) out.push(null);
      return out;
    },
    state: () => best,
    restore(state) {
      best = state as Value[];
    },
  };
}

function distinctAcc(): Accumulator {
  let sets: Set<Value>[] = [];
  return {
    update(rg, n, arg, size) {
      while (sets.length < size) sets.push(new Set());
      const col = arg as Column;
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (v !== null) sets[rg[i]].add(typeof v === 'object' ? JSON.stringify(v) : v);
      }
    },
    extract(start, len) {
      const out: Value[] = new Array(len);
      for (let i = 0; i < len; i++) out[i] = sets[start + i]?.size ?? 0;
      return out;
    },
    state: () => sets,
    restore(state) {
      sets = state as Set<Value>[];
    },
  };
}

/** A user-defined combine function: one accumulator per group, created at the group's first non-null value. */
function userAcc(fn: UserCombine): Accumulator {
  let accs: unknown[] = [];
  const none = {};
  return {
    update(rg, n, arg, size) {
      while (accs.length < size) accs.push(none);
      const col = arg as Column;
      for (let i = 0; i < n; i++) {
        const v = col[i];
        if (v === null) continue;
        const g = rg[i];
        const acc = accs[g];
        accs[g] = fn.add(acc === none ? fn.create() : acc, v);
      }
    },
    extract(start, len) {
      const out: Value[] = new Array(len);
      for (let i = 0; i < len; i++) {
        const acc = accs[start + i];
        out[i] = fn.extract(acc === undefined || acc === none ? fn.create() : acc);
      }
      return out;
    },
    // `none` is this operator's own marker object: a snapshot stores it as undefined, which means the same here.
    state: () => accs.map((a) => (a === none ? undefined : a)),
    restore(state) {
      accs = (state as unknown[]).map((a) => (a === undefined ? none : a));
    },
  };
}
