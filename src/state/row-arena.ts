import type { Value } from '../expr/types.ts';

/**
 * Rows kept by a stateful operator, column by column in numbered slots, each with its event time and a count of
 * references (a row in several sliding windows is stored once). A released slot is reused by the next row, so the
 * arena grows only to the most rows ever held at once, and rows are copied in and out by index: no per-row object.
 */
export class RowArena {
  readonly columns: Value[][];
  /** The event time of each slot. */
  readonly times: number[] = [];
  private readonly refs: number[] = [];
  private readonly free: number[] = [];
  /** Rows held now. */
  size = 0;

  constructor(readonly width: number) {
    this.columns = Array.from({ length: width }, () => []);
  }

  /** Copies row `i` of `columns` into a slot held by `refs` references; returns the slot. */
  add(columns: readonly (readonly Value[])[], i: number, time: number, refs = 1): number {
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.times.length;
    for (let c = 0; c < this.width; c++) this.columns[c][slot] = columns[c][i];
    this.times[slot] = time;
    this.refs[slot] = refs;
    this.size++;
    return slot;
  }

  /** Drops one reference to a slot; the last one frees it (its values are let go at once). */
  release(slot: number): void {
    if (--this.refs[slot] > 0) return;
    for (let c = 0; c < this.width; c++) this.columns[c][slot] = null;
    this.free.push(slot);
    this.size--;
  }
}
