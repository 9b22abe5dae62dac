import type { Value } from '../../expr/types.ts';
import { WindowJoinRows, type WindowRows } from '../../state/window-join-rows.ts';
import { assignStarts, type FixedWindows, type SlidingWindows } from '../../time/windows.ts';
import type { Batch, Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';
import { restoreFields } from '../state-codec.ts';
import { MinWatermark, sendStatus } from '../watermark.ts';
import { keyOf } from './join.ts';
import { pickColumn } from './join-columns.ts';

/** Rows per output batch: the end of a bounded input closes every window at once. */
const OUT_BATCH = 65_536;

/** Port 0 is the left side, port 1 the right side. Columns are positions in each side's schema. */
export interface WindowJoinSpec {
  readonly how: 'inner' | 'left';
  readonly window: FixedWindows | SlidingWindows;
  readonly leftKeys: readonly number[];
  readonly rightKeys: readonly number[];
  /** The event-time column of each side (ms, non-null: bind checks it). */
  readonly leftTime: number;
  readonly rightTime: number;
  /** Right columns appended to the left ones in the output (shared key columns are not repeated). */
  readonly rightOutput: readonly number[];
  readonly leftWidth: number;
  readonly rightWidth: number;
}

/** An operator that keeps rows between calls; `stateSize` counts them, for tests that check the state is bounded. */
export interface StatefulOperator extends Operator {
  stateSize(): number;
}

/**
 * Window join: each side's rows go to the windows of their own event time; when the combined input watermark
 * reaches a window's end (M4) the window emits one row per pair of equal key (left columns, right columns,
 * `window_start`, `window_end`), plus, for a left join, each left row that found no partner there. A null key part
 * matches nothing. A row for a window already emitted is late: dropped and counted, per window, in `lateDropped`.
 * Output rows carry the left row's event time, so the output watermark is held at the earliest left row still
 * waiting in an open window (as the holds of spec §6 do).
 */
export function windowJoinOperator(spec: WindowJoinSpec, out: Output, m: StageMetrics): StatefulOperator {
  const state = new WindowJoinRows(spec.leftWidth, spec.rightWidth, spec.window.size);
  const wm = new MinWatermark(2);
  const starts: number[] = [];
  const advance = (wasIdle: boolean): void => {
    const closed = state.takeClosed(wm.current);
    if (closed.length > 0) {
      emitClosed(spec, state, closed, out);
      for (const c of closed) state.release(c);
    }
    sendStatus(out, wasIdle, wm.allIdle, wm.publish(Math.min(wm.current, state.minLeftTime())));
  };
  return {
    push(port, batch) {
      m.in += batch.length;
      addRows(spec, state, port === 0, batch, wm.current, starts, m);
    },
    watermark(port, w) {
      advance(wm.set(port, w));
    },
    // The combined watermark leaves idle inputs out (M7.3), so windows close without waiting for a silent side.
    idle(port, idle) {
      advance(wm.setIdle(port, idle));
    },
    stateSize: () => state.rowCount,
    snapshot: () => ({ state, wm }),
    restore(saved) {
      const s = saved as { state: WindowJoinRows; wm: MinWatermark };
      restoreFields(state, s.state, 'window join');
      restoreFields(wm, s.wm, 'window join');
    },
  };
}

/** Stores each row once, referenced from every window of its event time that is still open. */
function addRows(
  spec: WindowJoinSpec,
  state: WindowJoinRows,
  left: boolean,
  batch: Batch,
  closedUpTo: number,
  starts: number[],
  m: StageMetrics,
): void {
  const keyCols = (left ? spec.leftKeys : spec.rightKeys).map((k) => batch.columns[k]);
  const times = batch.columns[left ? spec.leftTime : spec.rightTime];
  const arena = left ? state.left : state.right;
  const keepUnkeyed = left && spec.how === 'left';
  const length = spec.window.size;
  for (let i = 0; i < batch.length; i++) {
    const key = keyOf(keyCols, i);
    if (key === null && !keepUnkeyed) continue;
    const t = times[i] as number;
    const n = assignStarts(spec.window, t, starts);
    // A sliding window with period > size leaves gaps (W5): counted as the windowed aggregate counts them.
    if (n === 0) m.filtered++;
    let open = 0;
    for (let k = 0; k < n; k++) {
      if (starts[k] + length <= closedUpTo) m.lateDropped++;
      else starts[open++] = starts[k];
    }
    if (open === 0) continue;
    const slot = arena.add(batch.columns, i, t, open);
    for (let k = 0; k < open; k++) {
      const w = state.window(starts[k]);
      if (left) state.addLeft(w, key, slot, t);
      else state.addRight(w, key, slot);
    }
  }
}

/** Pairs of the closed windows as (left slot, right slot or −1, window) triples, written out in bounded batches. */
function emitClosed(spec: WindowJoinSpec, state: WindowJoinRows, closed: readonly WindowRows[], out: Output): void {
  const outer = spec.how === 'left';
  let pairs = newPairs();
  for (let d = 0; d < closed.length; d++) {
    const w = closed[d];
    for (const rows of w.byKey.values()) {
      const { left, right } = rows;
      if (right.length === 0) {
        if (outer) for (let a = 0; a < left.length; a++) addPair(pairs, left[a], -1, d);
        continue;
      }
      for (let a = 0; a < left.length; a++) for (let b = 0; b < right.length; b++) addPair(pairs, left[a], right[b], d);
    }
    if (outer) for (let a = 0; a < w.unkeyedLeft.length; a++) addPair(pairs, w.unkeyedLeft[a], -1, d);
    if (pairs.left.length >= OUT_BATCH) {
      pushPairs(spec, state, closed, pairs, out);
      pairs = newPairs();
    }
  }
  pushPairs(spec, state, closed, pairs, out);
}

interface Pairs {
  readonly left: number[];
  readonly right: number[];
  readonly window: number[];
}

function newPairs(): Pairs {
  return { left: [], right: [], window: [] };
}

function addPair(p: Pairs, left: number, right: number, window: number): void {
  p.left.push(left);
  p.right.push(right);
  p.window.push(window);
}

function pushPairs(
  spec: WindowJoinSpec,
  state: WindowJoinRows,
  closed: readonly WindowRows[],
  pairs: Pairs,
  out: Output,
): void {
  const n = pairs.left.length;
  if (n === 0) return;
  const columns: Column[] = [];
  for (const c of state.left.columns) columns.push(pickColumn(c, pairs.left));
  for (const rc of spec.rightOutput) columns.push(pickColumn(state.right.columns[rc], pairs.right));
  const starts: Value[] = new Array(n);
  const ends: Value[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const w = closed[pairs.window[k]];
    starts[k] = w.start;
    ends[k] = w.end;
  }
  columns.push(starts, ends);
  out.push({ length: n, columns });
}
