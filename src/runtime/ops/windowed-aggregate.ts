import type { CompiledProjection } from '../../expr/compile.ts';
import type { Value } from '../../expr/types.ts';
import { encodeKeyPart } from '../../state/group-index.ts';
import { MIN_TIMESTAMP } from '../../time/timestamps.ts';
import type { Windowing } from '../../time/windowing.ts';
import type { Window } from '../../time/windows.ts';
import type { Batch, Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';
import { type DropReason, WindowedAggregation } from '../window/stage.ts';
import type { Element, Pane, StageOutput } from '../window/types.ts';
import type { AggSpec } from './aggregate.ts';
import { type AggAcc, type RowInputs, rowCombine } from './row-combine.ts';

const OUT_BATCH = 65_536;

export interface WindowedAggregateSpec {
  readonly keyColumns: readonly number[];
  /** The input column holding each row's event time (ms, non-null: bind checks it). */
  readonly eventTime: number;
  readonly args: CompiledProjection;
  readonly aggs: readonly AggSpec[];
  readonly windowing: Windowing;
}

/**
 * A keyed, windowed aggregation: one {@link WindowedAggregation} (spec §8) for the stage, keyed by the encoded group
 * key, with one combine function over all aggregates of a row. Each batch is one bundle, each watermark one round;
 * the panes of a round leave as one batch of rows, then the stage's output watermark (H6) if it rose.
 */
export function windowedAggregateOperator(
  spec: WindowedAggregateSpec,
  out: Output,
  m: StageMetrics,
  late?: Output,
): Operator {
  let keyValues = new Map<string, readonly Value[]>();
  const retracting = spec.windowing.accumulation === 'retracting';
  const width = spec.keyColumns.length + 2 + spec.aggs.length + 4 + (retracting ? 1 : 0);
  let pending: Column[] = newPending(width);
  let pendingRows = 0;
  let published = MIN_TIMESTAMP;
  /** One output row; `pane` null for the retraction of a window merged away (Q7), which has no pane fields. */
  const row = (key: Value, window: Window, values: readonly Value[], pane: Pane<Value[]> | null, retract: boolean) => {
    let c = 0;
    const remembered = typeof key === 'string' ? keyValues.get(key) : undefined;
    if (remembered !== undefined) for (const v of remembered) pending[c++].push(v);
    else if (spec.keyColumns.length === 1) pending[c++].push(key);
    pending[c++].push(window.kind === 'interval' ? window.start : null);
    pending[c++].push(window.kind === 'interval' ? window.end : null);
    for (const v of values) pending[c++].push(v);
    pending[c++].push(pane === null ? null : pane.timing);
    pending[c++].push(pane === null ? null : pane.index);
    pending[c++].push(pane === null ? null : pane.isLast);
    pending[c++].push(pane === null ? null : pane.timestamp);
    if (retracting) pending[c++].push(retract);
    // One round (the end of a bounded input) may close every window at once: leave in batches of bounded size.
    if (++pendingRows === OUT_BATCH) pushPending();
  };
  const emit = (o: StageOutput<Value[]>): void => {
    if (o.kind === 'retraction') {
      row(o.key, o.window, o.retraction, null, true);
      return;
    }
    // A3: the previous value is withdrawn just before the new one, so a consumer applying rows in order stays right.
    if (o.retraction !== undefined) row(o.key, o.window, o.retraction, o, true);
    row(o.key, o.window, o.value, o, false);
  };
  const pushPending = (): void => {
    if (pendingRows === 0) return;
    const batch: Batch = { length: pendingRows, columns: pending };
    pending = newPending(width);
    pendingRows = 0;
    out.push(batch);
  };
  const side = late === undefined ? undefined : new LateRecords(late);
  const agg = new WindowedAggregation<RowInputs, AggAcc[], Value[]>({
    windowing: spec.windowing,
    combine: rowCombine(spec.aggs),
    emit,
    ...(side === undefined ? {} : { onDrop: side.onDrop }),
  });
  const flush = (): void => {
    const c = agg.counters;
    m.lateDropped = c.droppedDueToLateness + c.droppedDueToClosedWindow;
    m.filtered = c.droppedNoWindow;
    pushPending();
    side?.flush(agg.inputWatermark);
    const wm = agg.outputWatermark();
    if (wm > published) {
      published = wm;
      out.watermark(wm);
    }
  };
  return {
    push(_port, batch) {
      m.in += batch.length;
      side?.bundle(batch);
      agg.onBundle(elements(spec, batch, keyValues));
      flush();
    },
    watermark(_port, wm) {
      agg.onWatermark(wm);
      flush();
    },
    processingTime(now) {
      agg.onProcessingTime(now);
      flush();
    },
    // Rows wait in `pending` only within a call, so between epochs the state is the stage's, the keys and two marks.
    snapshot: () => ({ agg: agg.snapshot(), keyValues, published, late: side?.published }),
    restore(state) {
      const s = state as { agg: unknown; keyValues: Map<string, readonly Value[]>; published: number; late?: number };
      agg.restore(s.agg);
      ({ keyValues, published } = s);
      if (side !== undefined && s.late !== undefined) side.published = s.late;
    },
  };
}

/**
 * The side output of dropped records: each (record, window) pair the stage drops leaves as the record's columns, its
 * window and the reason, batched per round. Its watermark is the stage's input watermark: dropped records are behind
 * it by definition, but downstream stages still need to see the input end.
 */
class LateRecords {
  private columns: Column[] = [];
  private rows = 0;
  private current: Batch | null = null;
  /** The last watermark passed on; a snapshot keeps it. */
  published = MIN_TIMESTAMP;

  constructor(private readonly out: Output) {}

  bundle(batch: Batch): void {
    this.current = batch;
    if (this.columns.length === 0) this.columns = newPending(batch.columns.length + 3);
  }

  readonly onDrop = (e: Element<RowInputs>, w: Window, reason: DropReason): void => {
    const b = this.current;
    if (b === null || e.row === undefined) return;
    const width = b.columns.length;
    for (let c = 0; c < width; c++) this.columns[c].push(b.columns[c][e.row]);
    this.columns[width].push(w.kind === 'interval' ? w.start : null);
    this.columns[width + 1].push(w.kind === 'interval' ? w.end : null);
    this.columns[width + 2].push(reason);
    this.rows++;
  };

  flush(watermark: number): void {
    if (this.rows > 0) {
      this.out.push({ length: this.rows, columns: this.columns });
      this.columns = newPending(this.columns.length);
      this.rows = 0;
    }
    if (watermark > this.published) {
      this.published = watermark;
      this.out.watermark(watermark);
    }
  }
}

function newPending(width: number): Column[] {
  return Array.from({ length: width }, () => []);
}

/**
 * The batch's rows as elements. The key is the key column's value itself when there is one scalar key column, else
 * the encoded key columns (remembered to write them back out).
 */
function elements(
  spec: WindowedAggregateSpec,
  batch: Batch,
  keyValues: Map<string, readonly Value[]>,
): Element<RowInputs>[] {
  const n = batch.length;
  const keyCols = spec.keyColumns.map((k) => batch.columns[k]);
  const times = batch.columns[spec.eventTime];
  const argCols = spec.args.run(batch.columns, n);
  const out: Element<RowInputs>[] = new Array(n);
  // Aggregates without an argument (count()) see only a placeholder: with no others, every row shares one frozen
  // inputs array instead of allocating its own (the combine function only reads it).
  const constant: RowInputs | null = spec.aggs.every((a) => a.arg < 0)
    ? Object.freeze(spec.aggs.map((): Value => true))
    : null;
  const single = keyCols.length === 1 ? keyCols[0] : null;
  for (let i = 0; i < n; i++) {
    let key: Value;
    const v = single === null ? undefined : single[i];
    // A single scalar key column is its own key: no encoding, and nothing to remember once its windows are gone, so
    // the stage's memory follows its live keys, not every key it ever saw.
    if (v !== undefined && (v === null || typeof v !== 'object')) key = v;
    else {
      let k = '';
      for (const c of keyCols) k += encodeKeyPart(c[i]);
      key = k;
      if (!keyValues.has(k))
        keyValues.set(
          k,
          keyCols.map((c) => c[i]),
        );
    }
    if (constant !== null) {
      out[i] = { key, value: constant, time: times[i] as number, row: i };
      continue;
    }
    const value: Value[] = new Array(spec.aggs.length);
    for (let a = 0; a < spec.aggs.length; a++) {
      const arg = spec.aggs[a].arg;
      value[a] = arg < 0 ? true : argCols[arg][i];
    }
    out[i] = { key, value, time: times[i] as number, row: i };
  }
  return out;
}
