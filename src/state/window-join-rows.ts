import type { Value } from '../expr/types.ts';
import { RowArena } from './row-arena.ts';

/** One key's rows in one window: slots of the left and the right arena, in arrival order. */
export interface KeyRows {
  readonly left: number[];
  readonly right: number[];
}

/** The rows of one window `[start, end)`, by encoded join key. */
export interface WindowRows {
  readonly start: number;
  readonly end: number;
  readonly byKey: Map<Value, KeyRows>;
  /** Left rows with a null key part: they match nothing, and a left join still emits them. */
  readonly unkeyedLeft: number[];
  /** The smallest left event time held (+∞ when none): it holds the join's output watermark. */
  minLeftTime: number;
}

/**
 * The state of a window join: rows of both sides stored once in two arenas, and referenced from every open window
 * they fall in (several for sliding windows). A window is taken out whole when it closes, and its rows are released,
 * so the state is bounded by the windows still open.
 */
export class WindowJoinRows {
  readonly left: RowArena;
  readonly right: RowArena;
  private readonly windows = new Map<number, WindowRows>();
  /** Starts of the open windows, ascending: all windows have one length, so this is also their order of closing. */
  private readonly starts: number[] = [];

  constructor(
    leftWidth: number,
    rightWidth: number,
    private readonly length: number,
  ) {
    this.left = new RowArena(leftWidth);
    this.right = new RowArena(rightWidth);
  }

  /** Open windows. */
  get windowCount(): number {
    return this.windows.size;
  }

  /** Rows held, both sides. */
  get rowCount(): number {
    return this.left.size + this.right.size;
  }

  /** The window starting at `start`, opened when new. */
  window(start: number): WindowRows {
    const known = this.windows.get(start);
    if (known !== undefined) return known;
    const w: WindowRows = {
      start,
      end: start + this.length,
      byKey: new Map(),
      unkeyedLeft: [],
      minLeftTime: Number.POSITIVE_INFINITY,
    };
    this.windows.set(start, w);
    let i = this.starts.length;
    // Windows mostly open in time order: the insertion point is near the end.
    while (i > 0 && this.starts[i - 1] > start) i--;
    this.starts.splice(i, 0, start);
    return w;
  }

  /** Adds a left slot to a window; `key` null: the row matches nothing. */
  addLeft(w: WindowRows, key: Value, slot: number, time: number): void {
    if (time < w.minLeftTime) w.minLeftTime = time;
    if (key === null) w.unkeyedLeft.push(slot);
    else this.keyRows(w, key).left.push(slot);
  }

  addRight(w: WindowRows, key: Value, slot: number): void {
    this.keyRows(w, key).right.push(slot);
  }

  /** Takes out the windows whose end is at or below `wm` (M4), oldest first; release them once emitted. */
  takeClosed(wm: number): WindowRows[] {
    let n = 0;
    while (n < this.starts.length && this.starts[n] + this.length <= wm) n++;
    if (n === 0) return [];
    const closed = this.starts.splice(0, n).map((s) => this.windows.get(s) as WindowRows);
    for (const w of closed) this.windows.delete(w.start);
    return closed;
  }

  /** Lets go of the rows of a window taken out by {@link takeClosed}. */
  release(w: WindowRows): void {
    for (const rows of w.byKey.values()) {
      for (const s of rows.left) this.left.release(s);
      for (const s of rows.right) this.right.release(s);
    }
    for (const s of w.unkeyedLeft) this.left.release(s);
  }

  /** The smallest left event time in any open window, +∞ when none. */
  minLeftTime(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const s of this.starts) {
      // A window's rows are at or after its start, so later windows cannot go lower.
      if (s >= min) break;
      const t = (this.windows.get(s) as WindowRows).minLeftTime;
      if (t < min) min = t;
    }
    return min;
  }

  private keyRows(w: WindowRows, key: Value): KeyRows {
    let rows = w.byKey.get(key);
    if (rows === undefined) {
      rows = { left: [], right: [] };
      w.byKey.set(key, rows);
    }
    return rows;
  }
}
