import type { Value } from '../expr/types.ts';
import { TimeHeap } from './time-heap.ts';

/** Column-major rows as they arrived: `columns[c][i]` is column c of row i. */
export type RowColumns = readonly (readonly Value[])[];

interface RowSet {
  readonly columns: RowColumns;
  pending: number;
}

/**
 * Rows held until an event time is safe to answer (the probe rows of an event-time temporal join that wait for the
 * table's watermark), released in event-time order, oldest arrival first among equal times. Rows are not copied: each
 * is a reference into the columns it arrived in, which are let go once their last waiting row is released.
 */
export class WaitingRows {
  private readonly heap = new TimeHeap();
  private readonly sets = new Map<number, RowSet>();
  private nextSet = 0;

  /** How many rows wait. */
  get size(): number {
    return this.heap.size;
  }

  /** The earliest event time among the waiting rows, or +Infinity when none waits. */
  get minTime(): number {
    return this.heap.minTime;
  }

  /** Column sets still referenced by a waiting row. */
  get retainedSets(): number {
    return this.sets.size;
  }

  /** Holds rows `rows[0..n)` of `columns`, with event times read from the column `times`. */
  add(columns: RowColumns, times: readonly Value[], rows: Int32Array, n: number): void {
    if (n === 0) return;
    const id = this.nextSet++;
    this.sets.set(id, { columns, pending: n });
    for (let i = 0; i < n; i++) this.heap.push(times[rows[i]] as number, id, rows[i]);
  }

  /**
   * Takes out every row with an event time below `before`, in time order, appending its columns and row index to
   * `sets` and `rows`; returns how many rows it took.
   */
  release(before: number, sets: RowColumns[], rows: number[]): number {
    let n = 0;
    while (this.heap.minTime < before) {
      const id = this.heap.topA;
      const set = this.sets.get(id) as RowSet;
      sets.push(set.columns);
      rows.push(this.heap.topB);
      this.heap.pop();
      set.pending--;
      if (set.pending === 0) this.sets.delete(id);
      n++;
    }
    return n;
  }
}
