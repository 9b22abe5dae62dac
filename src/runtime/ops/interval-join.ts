import { KeyedTimeRows } from '../../state/keyed-time-rows.ts';
import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../../time/timestamps.ts';
import type { Batch, Column } from '../batch.ts';
import { isComplete, type Output, type StageMetrics } from '../operator.ts';
import { restoreFields } from '../state-codec.ts';
import { MinWatermark, sendStatus } from '../watermark.ts';
import { keyOf } from './join.ts';
import { pickColumn } from './join-columns.ts';
import type { StatefulOperator } from './window-join.ts';

/** Port 0 is the left side (a), port 1 the right side (b). Columns are positions in each side's schema. */
export interface IntervalJoinSpec {
  /** A pair matches when `a.time + from <= b.time <= a.time + to` (ms, inclusive). */
  readonly from: number;
  readonly to: number;
  readonly leftKeys: readonly number[];
  readonly rightKeys: readonly number[];
  readonly leftTime: number;
  readonly rightTime: number;
  /** Right columns appended to the left ones in the output (shared key columns are not repeated). */
  readonly rightOutput: readonly number[];
  readonly leftWidth: number;
  readonly rightWidth: number;
}

/**
 * Interval join (inner): a pair leaves as soon as its second row arrives, since an inner join's results never change.
 * Each side keeps a row while a future row of the other side can still match it: `a` until the right watermark
 * passes `a.time + to`, `b` until the left watermark passes `b.time − from`. A row behind its own side's watermark is
 * not dropped: it meets every partner still kept, and misses only those already evicted (which a correct watermark
 * never lets happen), so nothing is counted as late. A null key part matches nothing.
 */
export function intervalJoinOperator(spec: IntervalJoinSpec, out: Output, m: StageMetrics): StatefulOperator {
  const a = new KeyedTimeRows(spec.leftWidth);
  const b = new KeyedTimeRows(spec.rightWidth);
  const wm = new MinWatermark(2);
  const advance = (wasIdle: boolean): void => {
    a.evictBefore(keepFrom(wm.effective(1), -spec.to));
    b.evictBefore(keepFrom(wm.effective(0), spec.from));
    sendStatus(out, wasIdle, wm.allIdle, wm.publish(outputWatermark(wm.effective(0), wm.effective(1), spec.to)));
  };
  return {
    push(port, batch) {
      m.in += batch.length;
      if (port === 0) probeLeft(spec, batch, a, b, keepFrom(wm.effective(1), -spec.to), out);
      else probeRight(spec, batch, a, b, keepFrom(wm.effective(0), spec.from), out);
    },
    watermark(port, w) {
      advance(wm.set(port, w));
    },
    // An idle side counts as caught up with the other (M7.3), so the join neither stalls nor keeps rows for it.
    idle(port, idle) {
      advance(wm.setIdle(port, idle));
    },
    stateSize: () => a.size + b.size,
    snapshot: () => ({ a, b, wm }),
    restore(state) {
      const s = state as { a: KeyedTimeRows; b: KeyedTimeRows; wm: MinWatermark };
      restoreFields(a, s.a, 'interval join');
      restoreFields(b, s.b, 'interval join');
      restoreFields(wm, s.wm, 'interval join');
    },
  };
}

/**
 * The earliest event time a row must have to be kept, given the other side's watermark: `a` needs `a.time >= wmB −
 * to`, `b` needs `b.time >= wmA + from`. A complete side keeps nothing on the other.
 */
function keepFrom(otherWatermark: number, shift: number): number {
  return isComplete(otherWatermark) ? Number.POSITIVE_INFINITY : otherWatermark + shift;
}

/**
 * Output rows carry `a`'s event time. A pair still to come has a future `a` (time ≥ wmA), or a kept `a` and a future
 * `b`: `b.time >= wmB` and `b.time <= a.time + to`, so `a.time >= wmB − to`.
 */
export function outputWatermark(wmA: number, wmB: number, to: number): number {
  return Math.min(wmA, shifted(wmB, -to));
}

/** A watermark moved by `shift` that stays −∞ at −∞, and below +∞ until the input is complete. */
function shifted(wm: number, shift: number): number {
  if (isComplete(wm)) return MAX_TIMESTAMP;
  if (wm <= MIN_TIMESTAMP) return MIN_TIMESTAMP;
  // Reaching +∞ early would end the output while kept rows can still pair.
  return Math.min(MAX_TIMESTAMP - 1, Math.max(MIN_TIMESTAMP, wm + shift));
}

/** New `a` rows against the kept `b` rows; each `a` is then kept if a future `b` can match it. */
function probeLeft(
  spec: IntervalJoinSpec,
  batch: Batch,
  a: KeyedTimeRows,
  b: KeyedTimeRows,
  keepAfter: number,
  out: Output,
): void {
  const { rows, slots } = probe(batch, spec.leftKeys, spec.leftTime, b, spec.from, spec.to, a, keepAfter);
  if (rows.length === 0) return;
  const columns: Column[] = [];
  for (const c of batch.columns) columns.push(pickColumn(c, rows));
  for (const rc of spec.rightOutput) columns.push(pickColumn(b.rows.columns[rc], slots));
  out.push({ length: rows.length, columns });
}

/** New `b` rows against the kept `a` rows (a.time + from ≤ t ≤ a.time + to); each `b` is then kept likewise. */
function probeRight(
  spec: IntervalJoinSpec,
  batch: Batch,
  a: KeyedTimeRows,
  b: KeyedTimeRows,
  keepAfter: number,
  out: Output,
): void {
  const { rows, slots } = probe(batch, spec.rightKeys, spec.rightTime, a, -spec.to, -spec.from, b, keepAfter);
  if (rows.length === 0) return;
  const columns: Column[] = [];
  for (const c of a.rows.columns) columns.push(pickColumn(c, slots));
  for (const rc of spec.rightOutput) columns.push(pickColumn(batch.columns[rc], rows));
  out.push({ length: rows.length, columns });
}

/**
 * Pairs each row of `batch` (at time t) with the kept rows of the other side whose time is in [t + lo, t + hi], as
 * (batch row, other slot) lists; then keeps the row on its own side if a future row of the other side can match it.
 */
function probe(
  batch: Batch,
  keys: readonly number[],
  time: number,
  other: KeyedTimeRows,
  lo: number,
  hi: number,
  own: KeyedTimeRows,
  keepAfter: number,
): { rows: number[]; slots: number[] } {
  const keyCols = keys.map((k) => batch.columns[k]);
  const times = batch.columns[time];
  const otherTimes = other.rows.times;
  const rows: number[] = [];
  const slots: number[] = [];
  for (let i = 0; i < batch.length; i++) {
    const key = keyOf(keyCols, i);
    if (key === null) continue;
    const t = times[i] as number;
    const kept = other.slots(key);
    if (kept !== undefined) {
      for (let k = 0; k < kept.length; k++) {
        const s = kept[k];
        const u = otherTimes[s];
        if (u >= t + lo && u <= t + hi) {
          rows.push(i);
          slots.push(s);
        }
      }
    }
    if (t >= keepAfter) own.add(key, batch.columns, i, t);
  }
  return { rows, slots };
}
