import type { Value } from '../expr/types.ts';

/** How one aggregate folds into a window table's flat state. */
export type FlatAggKind = 'count' | 'countValues' | 'sum' | 'avg' | 'min' | 'max';

/**
 * The groups of one window: group key → slot, the key column values by slot, and per aggregate flat accumulators
 * indexed by slot (typed arrays for counts and compensated sums). Plain data a checkpoint can store as it is.
 */
export class WindowTable {
  readonly slots = new Map<Value, number>();
  readonly keys: Value[][];
  /** Per aggregate: non-null inputs seen (counts for `count`). */
  readonly n: Float64Array<ArrayBuffer>[];
  /** Per aggregate: the compensated sum (Neumaier) and its correction, for sum and avg. */
  readonly s: Float64Array<ArrayBuffer>[];
  readonly c: Float64Array<ArrayBuffer>[];
  /** Per aggregate: the best value so far, for min and max. */
  readonly best: Value[][];
  size = 0;

  constructor(
    readonly start: number,
    readonly end: number,
    keyWidth: number,
    aggs: number,
  ) {
    this.keys = Array.from({ length: keyWidth }, () => []);
    this.n = Array.from({ length: aggs }, () => new Float64Array(16));
    this.s = Array.from({ length: aggs }, () => new Float64Array(16));
    this.c = Array.from({ length: aggs }, () => new Float64Array(16));
    this.best = Array.from({ length: aggs }, () => []);
  }

  /** The slot of `key`, made on first sight from row `i` of the key columns. */
  slot(key: Value, keyCols: readonly (readonly Value[])[], i: number): number {
    const known = this.slots.get(key);
    if (known !== undefined) return known;
    const slot = this.size++;
    this.slots.set(key, slot);
    for (let k = 0; k < keyCols.length; k++) this.keys[k].push(keyCols[k][i]);
    if (slot === this.n[0]?.length) this.grow();
    for (const b of this.best) b.push(null);
    return slot;
  }

  add(kind: FlatAggKind, a: number, slot: number, v: Value): void {
    if (kind === 'count') {
      this.n[a][slot]++;
      return;
    }
    if (v === null) return;
    this.n[a][slot]++;
    if (kind === 'sum' || kind === 'avg') {
      const x = v as number;
      const sums = this.s[a];
      const s = sums[slot];
      const t = s + x;
      this.c[a][slot] += Math.abs(s) >= Math.abs(x) ? s - t + x : x - t + s;
      sums[slot] = t;
    } else if (kind !== 'countValues') {
      const b = this.best[a][slot];
      if (b === null || (kind === 'min' ? (v as number) < (b as number) : (v as number) > (b as number)))
        this.best[a][slot] = v;
    }
  }

  /** The aggregate's value for every slot; `factor` rounds a decimal sum back to its scale (0: no rounding). */
  extract(kind: FlatAggKind, a: number, factor: number): Value[] {
    const out: Value[] = new Array(this.size);
    const n = this.n[a];
    for (let i = 0; i < this.size; i++) {
      if (kind === 'count' || kind === 'countValues') out[i] = n[i];
      else if (n[i] === 0) out[i] = null;
      else if (kind === 'min' || kind === 'max') out[i] = this.best[a][i];
      else {
        const total = this.s[a][i] + this.c[a][i];
        if (kind === 'avg') out[i] = total / n[i];
        else out[i] = factor === 0 ? total : Math.round(total * factor) / factor;
      }
    }
    return out;
  }

  private grow(): void {
    const size = this.n[0].length * 4;
    const bigger = (a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> => {
      const b = new Float64Array(size);
      b.set(a);
      return b;
    };
    for (let a = 0; a < this.n.length; a++) {
      this.n[a] = bigger(this.n[a]);
      this.s[a] = bigger(this.s[a]);
      this.c[a] = bigger(this.c[a]);
    }
  }
}

/** The open windows of a stage by start; a window leaves once it has fired. */
export class WindowTables {
  private readonly open = new Map<number, WindowTable>();

  constructor(
    private readonly keyWidth: number,
    private readonly aggs: number,
  ) {}

  get(start: number, end: number): WindowTable {
    let t = this.open.get(start);
    if (t === undefined) {
      t = new WindowTable(start, end, this.keyWidth, this.aggs);
      this.open.set(start, t);
    }
    return t;
  }

  /** Removes and returns the windows whose end is at or below `wm` (M4), earliest end first. */
  takeEnded(wm: number): WindowTable[] {
    const ended: WindowTable[] = [];
    for (const t of this.open.values()) if (t.end <= wm) ended.push(t);
    for (const t of ended) this.open.delete(t.start);
    return ended.sort((x, y) => x.end - y.end);
  }

  /** Open windows and the groups in them, for tests and memory accounting. */
  get stateSize(): { windows: number; groups: number } {
    let groups = 0;
    for (const t of this.open.values()) groups += t.size;
    return { windows: this.open.size, groups };
  }
}
