import type { Value } from '../../expr/types.ts';
import { rowKey } from '../../state/group-index.ts';
import { gather } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';

/** Keeps the first row seen for each key; later duplicates count as filtered. */
export function dedupeOperator(keys: readonly number[], out: Output, m: StageMetrics): Operator {
  let seen = new Set<Value>();
  let sel = new Int32Array(1024);
  return {
    push(_port, batch) {
      m.in += batch.length;
      if (sel.length < batch.length) sel = new Int32Array(batch.length * 2);
      const cols = keys.map((k) => batch.columns[k]);
      let n = 0;
      for (let i = 0; i < batch.length; i++) {
        const key = rowKey(cols, i);
        if (!seen.has(key)) {
          seen.add(key);
          sel[n++] = i;
        }
      }
      m.filtered += batch.length - n;
      if (n > 0) out.push(gather(batch, sel, n));
    },
    watermark(_port, wm) {
      out.watermark(wm);
    },
    snapshot: () => seen,
    restore(state) {
      seen = state as Set<Value>;
    },
  };
}
