import type { CompiledProjection } from '../../expr/compile.ts';
import { rowKey } from '../../state/group-index.ts';
import { type FlatAggKind, type WindowTable, WindowTables } from '../../state/window-tables.ts';
import { MIN_TIMESTAMP } from '../../time/timestamps.ts';
import type { Windowing } from '../../time/windowing.ts';
import type { Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';
import type { AggSpec } from './aggregate.ts';

export interface EndOfWindowSpec {
  readonly keyColumns: readonly number[];
  readonly eventTime: number;
  readonly args: CompiledProjection;
  readonly aggs: readonly AggSpec[];
  /** Fixed or sliding windows; see {@link endOfWindowApplies}. */
  readonly window: { readonly size: number; readonly period: number; readonly offset: number };
}

/**
 * Whether a windowing strategy gives each window exactly one pane, ON_TIME, when the watermark passes its end: the
 * default trigger, no allowed lateness, the end-of-window timestamp, fixed or sliding windows, and aggregates with
 * flat accumulators. Then accumulation modes coincide and no trigger, hold or timer state is needed per window.
 */
export function endOfWindowApplies(w: Windowing, aggs: readonly AggSpec[]): boolean {
  return (
    w.trigger.kind === 'default' &&
    w.allowedLateness === 0 &&
    w.timestampCombiner === 'end' &&
    w.accumulation !== 'retracting' &&
    (w.window.kind === 'fixed' || w.window.kind === 'sliding') &&
    aggs.every((a) => flatKind(a) !== null)
  );
}

function flatKind(a: AggSpec): FlatAggKind | null {
  switch (a.fn) {
    case 'count':
      return a.arg < 0 ? 'count' : 'countValues';
    case 'sum':
    case 'avg':
    case 'min':
    case 'max':
      return a.fn;
    default:
      return null;
  }
}

const PANE_TIMING = 'ON_TIME';

/**
 * The specialised windowed aggregate for {@link endOfWindowApplies}: rows go straight into per-window hash tables of
 * flat accumulators (state/window-tables.ts), and a window leaves as one batch of rows when the input watermark
 * reaches its end (M4), with the same columns and pane fields the general stage (spec §8) gives it: ON_TIME, index
 * 0, last, timestamp end − 1. A row for a window that has already fired is late (L3) and counted. With every pane at
 * the end of its window, the output watermark is the input's (H3 holds nothing back once the round has fired).
 */
export function endOfWindowAggregateOperator(spec: EndOfWindowSpec, out: Output, m: StageMetrics): Operator {
  const kinds = spec.aggs.map((a) => flatKind(a) as FlatAggKind);
  const factors = spec.aggs.map((a) => (a.fn === 'sum' && a.type.kind === 'decimal' ? 10 ** a.type.scale : 0));
  let tables = new WindowTables(spec.keyColumns.length, spec.aggs.length);
  const { size, period, offset } = spec.window;
  let wm = MIN_TIMESTAMP;
  let published = MIN_TIMESTAMP;
  return {
    push(_port, batch) {
      const n = batch.length;
      m.in += n;
      const keyCols = spec.keyColumns.map((k) => batch.columns[k]);
      const times = batch.columns[spec.eventTime];
      const argCols = spec.args.run(batch.columns, n);
      const args = spec.aggs.map((a) => (a.arg < 0 ? null : argCols[a.arg]));
      // The table of the last window start seen, per row: consecutive rows mostly share their windows.
      let lastStart = Number.NaN;
      let lastTable: WindowTable | null = null;
      for (let i = 0; i < n; i++) {
        const t = times[i] as number;
        const key = rowKey(keyCols, i);
        const newest = t - mod(t - offset, period);
        let placed = false;
        for (let start = newest; start > t - size; start -= period) {
          placed = true;
          const end = start + size;
          if (end <= wm) {
            m.lateDropped++;
            continue;
          }
          let table: WindowTable;
          if (start === lastStart && lastTable !== null) table = lastTable;
          else {
            table = tables.get(start, end);
            if (start === newest) {
              lastStart = start;
              lastTable = table;
            }
          }
          const slot = table.slot(key, keyCols, i);
          for (let a = 0; a < kinds.length; a++) {
            const arg = args[a];
            table.add(kinds[a], a, slot, arg === null ? true : arg[i]);
          }
        }
        if (!placed) m.filtered++;
      }
    },
    watermark(_port, w) {
      if (w <= wm) return;
      wm = w;
      for (const t of tables.takeEnded(wm)) emit(t);
      if (wm > published) {
        published = wm;
        out.watermark(wm);
      }
    },
    snapshot: () => ({ tables, wm, published }),
    restore(state) {
      ({ tables, wm, published } = state as { tables: WindowTables; wm: number; published: number });
    },
  };

  function emit(t: WindowTable): void {
    const rows = t.size;
    if (rows === 0) return;
    const columns: Column[] = [...t.keys];
    columns.push(new Array(rows).fill(t.start), new Array(rows).fill(t.end));
    for (let a = 0; a < kinds.length; a++) columns.push(t.extract(kinds[a], a, factors[a]));
    columns.push(
      new Array(rows).fill(PANE_TIMING),
      new Array(rows).fill(0),
      new Array(rows).fill(true),
      new Array(rows).fill(t.end - 1),
    );
    out.push({ length: rows, columns });
  }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}
