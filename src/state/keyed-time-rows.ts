import type { Value } from '../expr/types.ts';
import { RowArena } from './row-arena.ts';
import { TimeHeap } from './time-heap.ts';

/**
 * Rows by join key, each with its event time, evicted oldest first once no future partner can match them: one side
 * of an interval join. Keys are encoded join keys (`rowKey`); a key goes away with its last row, so the state is
 * bounded by the rows of the retention interval, not by the keys ever seen.
 */
export class KeyedTimeRows {
  readonly rows: RowArena;
  private readonly byKey = new Map<Value, number[]>();
  /** The key of each slot, to find its list on eviction. */
  private readonly keyOfSlot: Value[] = [];
  private readonly byTime = new TimeHeap();

  constructor(width: number) {
    this.rows = new RowArena(width);
  }

  /** Rows held now. */
  get size(): number {
    return this.rows.size;
  }

  /** Keys holding at least one row. */
  get keyCount(): number {
    return this.byKey.size;
  }

  /** Stores row `i` of `columns` under `key` at event time `time`. */
  add(key: Value, columns: readonly (readonly Value[])[], i: number, time: number): void {
    const slot = this.rows.add(columns, i, time);
    this.keyOfSlot[slot] = key;
    const list = this.byKey.get(key);
    if (list === undefined) this.byKey.set(key, [slot]);
    else list.push(slot);
    this.byTime.push(time, slot);
  }

  /** The slots held under `key`, in arrival order; their times are `rows.times[slot]`. */
  slots(key: Value): readonly number[] | undefined {
    return this.byKey.get(key);
  }

  /** Drops every row whose event time is below `t`. */
  evictBefore(t: number): void {
    while (this.byTime.minTime < t) {
      const slot = this.byTime.topA;
      this.byTime.pop();
      const key = this.keyOfSlot[slot];
      const list = this.byKey.get(key) as number[];
      // Rows of a key arrive roughly in time order, so the one evicted is usually at the front.
      list.splice(list.indexOf(slot), 1);
      if (list.length === 0) this.byKey.delete(key);
      this.keyOfSlot[slot] = null;
      this.rows.release(slot);
    }
  }
}
