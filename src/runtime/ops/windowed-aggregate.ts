import type { CompiledProjection } from '../../expr/compile.ts';
import type { Value } from '../../expr/types.ts';
import { encodeKeyPart } from '../../state/group-index.ts';
import { MIN_TIMESTAMP } from '../../time/timestamps.ts';
import type { Windowing } from '../../time/windowing.ts';
import type { Batch, Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';
import { WindowedAggregation } from '../window/stage.ts';
import type { Element, StageOutput } from '../window/types.ts';
import type { AggSpec } from './aggregate.ts';
import { type AggAcc, type RowInputs, rowCombine } from './row-combine.ts';

const OUT_BATCH = 65_536;
/** Distinct string keys whose encoding is remembered; past it the cache starts over (it only saves work). */
const ENCODED_CACHE = 1 << 20;

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
export function windowedAggregateOperator(spec: WindowedAggregateSpec, out: Output, m: StageMetrics): Operator {
  const keyValues = new Map<string, readonly Value[]>();
  const encoded = new Map<string, string>();
  const width = spec.keyColumns.length + 2 + spec.aggs.length + 4;
  let pending: Column[] = newPending(width);
  let pendingRows = 0;
  let published = MIN_TIMESTAMP;
  const emit = (o: StageOutput<Value[]>): void => {
    // Retracting mode is refused by Rel.window, so every output is a pane.
    if (o.kind !== 'pane') return;
    let c = 0;
    for (const v of keyValues.get(o.key as string) ?? []) pending[c++].push(v);
    pending[c++].push(o.window.kind === 'interval' ? o.window.start : null);
    pending[c++].push(o.window.kind === 'interval' ? o.window.end : null);
    for (const v of o.value) pending[c++].push(v);
    pending[c++].push(o.timing);
    pending[c++].push(o.index);
    pending[c++].push(o.isLast);
    pending[c++].push(o.timestamp);
    // One round (the end of a bounded input) may close every window at once: leave in batches of bounded size.
    if (++pendingRows === OUT_BATCH) pushPending();
  };
  const pushPending = (): void => {
    if (pendingRows === 0) return;
    const batch: Batch = { length: pendingRows, columns: pending };
    pending = newPending(width);
    pendingRows = 0;
    out.push(batch);
  };
  const agg = new WindowedAggregation<RowInputs, AggAcc[], Value[]>({
    windowing: spec.windowing,
    combine: rowCombine(spec.aggs),
    emit,
  });
  const flush = (): void => {
    const c = agg.counters;
    m.lateDropped = c.droppedDueToLateness + c.droppedDueToClosedWindow;
    m.filtered = c.droppedNoWindow;
    pushPending();
    const wm = agg.outputWatermark();
    if (wm > published) {
      published = wm;
      out.watermark(wm);
    }
  };
  return {
    push(_port, batch) {
      m.in += batch.length;
      agg.onBundle(elements(spec, batch, keyValues, encoded));
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
  };
}

function newPending(width: number): Column[] {
  return Array.from({ length: width }, () => []);
}

/** The batch's rows as elements: key = the encoded key columns (remembered to write them back out). */
function elements(
  spec: WindowedAggregateSpec,
  batch: Batch,
  keyValues: Map<string, readonly Value[]>,
  encoded: Map<string, string>,
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
  for (let i = 0; i < n; i++) {
    let key = '';
    const v = keyCols.length === 1 ? keyCols[0][i] : undefined;
    if (typeof v === 'string') {
      // One string key column: encode each distinct value once. Every row of a key then carries the same string
      // object, whose hash V8 caches, so the lookups below and in the window store do not rehash a new string per row.
      const known = encoded.get(v);
      if (known !== undefined) key = known;
      else {
        key = encodeKeyPart(v);
        if (encoded.size >= ENCODED_CACHE) encoded.clear();
        encoded.set(v, key);
      }
    } else for (const c of keyCols) key += encodeKeyPart(c[i]);
    if (!keyValues.has(key))
      keyValues.set(
        key,
        keyCols.map((c) => c[i]),
      );
    if (constant !== null) {
      out[i] = { key, value: constant, time: times[i] as number };
      continue;
    }
    const value: Value[] = new Array(spec.aggs.length);
    for (let a = 0; a < spec.aggs.length; a++) {
      const arg = spec.aggs[a].arg;
      value[a] = arg < 0 ? true : argCols[arg][i];
    }
    out[i] = { key, value, time: times[i] as number };
  }
  return out;
}
