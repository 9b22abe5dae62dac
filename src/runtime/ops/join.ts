import type { Value } from '../../expr/types.ts';
import { rowKey } from '../../state/group-index.ts';
import { type Batch, type Column, concatBatches } from '../batch.ts';
import { isComplete, type Operator, type Output, type StageMetrics } from '../operator.ts';
import { restoreFields } from '../state-codec.ts';
import { MinWatermark, sendStatus } from '../watermark.ts';

/** Port 0 is the probe (left) side, port 1 the build (right) side. */
export interface JoinSpec {
  readonly how: 'inner' | 'left';
  readonly leftKeys: readonly number[];
  readonly rightKeys: readonly number[];
  /** Right columns appended to the left ones in the output (shared key columns are not repeated). */
  readonly rightOutput: readonly number[];
  readonly leftWidth: number;
  readonly rightWidth: number;
}

/**
 * Hash join. The right side is built into a hash table first; left batches that arrive before the build side has
 * ended wait in a buffer. SQL semantics: a null key matches nothing; a left join keeps unmatched left rows with
 * nulls on the right. The output watermark is the minimum over the active inputs (M2, M7), held while left rows
 * wait; the join is idle when both inputs are.
 */
export function joinOperator(spec: JoinSpec, out: Output, m: StageMetrics): Operator {
  let built: Batch[] = [];
  let table: Map<Value, number[]> | null = null;
  let right: Batch | null = null;
  let waiting: Batch[] = [];
  const wm = new MinWatermark(2);

  const probe = (batch: Batch): void => {
    const t = table as Map<Value, number[]>;
    const r = right as Batch;
    const leftIdx: number[] = [];
    const rightIdx: number[] = [];
    const keyCols = spec.leftKeys.map((k) => batch.columns[k]);
    for (let i = 0; i < batch.length; i++) {
      const key = keyOf(keyCols, i);
      const matches = key === null ? undefined : t.get(key);
      if (matches !== undefined) {
        for (const j of matches) {
          leftIdx.push(i);
          rightIdx.push(j);
        }
      } else if (spec.how === 'left') {
        leftIdx.push(i);
        rightIdx.push(-1);
      }
    }
    if (leftIdx.length === 0) return;
    const columns: Column[] = [];
    for (const c of batch.columns) columns.push(leftIdx.map((i) => c[i]));
    for (const rc of spec.rightOutput) {
      const c = r.columns[rc];
      columns.push(rightIdx.map((j) => (j < 0 ? null : c[j])));
    }
    out.push({ length: leftIdx.length, columns });
  };

  // Left rows waiting for the build side may be older than the inputs' watermarks: they hold the output (H2).
  const publish = (): number | undefined => (waiting.length > 0 ? undefined : wm.publish(wm.current));

  return {
    push(port, batch) {
      m.in += batch.length;
      if (port === 1) built.push(batch);
      else if (table === null) waiting.push(batch);
      else probe(batch);
    },
    watermark(port, w) {
      const was = wm.allIdle;
      wm.set(port, w);
      if (port === 1 && table === null && isComplete(w)) {
        right = concatBatches(built, spec.rightWidth);
        built.length = 0;
        table = buildTable(right, spec.rightKeys);
        for (const b of waiting) probe(b);
        waiting.length = 0;
      }
      // An input that completes may leave only idle ones: the join is then idle.
      const next = publish();
      sendStatus(out, was, wm.allIdle, next);
    },
    idle(port, idle) {
      const was = wm.allIdle;
      wm.setIdle(port, idle);
      const next = publish();
      sendStatus(out, was, wm.allIdle, next);
    },
    snapshot: () => ({ built, table, right, waiting, wm }),
    restore(state) {
      const s = state as {
        built: Batch[];
        table: Map<Value, number[]> | null;
        right: Batch | null;
        waiting: Batch[];
        wm: MinWatermark;
      };
      ({ built, table, right, waiting } = s);
      restoreFields(wm, s.wm, 'join');
    },
  };
}

function buildTable(batch: Batch, keys: readonly number[]): Map<Value, number[]> {
  const t = new Map<Value, number[]>();
  const cols = keys.map((k) => batch.columns[k]);
  for (let j = 0; j < batch.length; j++) {
    const key = keyOf(cols, j);
    if (key === null) continue;
    const list = t.get(key);
    if (list === undefined) t.set(key, [j]);
    else list.push(j);
  }
  return t;
}

/** The hash key of row i, or null when any key part is null (nulls never join). */
export function keyOf(cols: readonly Column[], i: number): Value {
  for (const c of cols) if (c[i] === null) return null;
  return rowKey(cols, i);
}
