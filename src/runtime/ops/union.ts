import type { Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';
import { restoreFields } from '../state-codec.ts';
import { MinWatermark, sendStatus } from '../watermark.ts';

/**
 * Concatenates its inputs; `orders[p][i]` is the column of input p that becomes output column i. Its watermark is
 * the minimum over the active inputs (M2, M7): a row of the slowest input may still come. It is idle when its
 * inputs are.
 */
export function unionOperator(orders: readonly (readonly number[])[], out: Output, m: StageMetrics): Operator {
  const wm = new MinWatermark(orders.length);
  return {
    push(port, batch) {
      m.in += batch.length;
      const columns: Column[] = orders[port].map((c) => batch.columns[c]);
      out.push({ length: batch.length, columns });
    },
    watermark(port, w) {
      // An input that completes may leave only idle ones: the union is then idle.
      const was = wm.allIdle;
      const next = wm.advance(port, w);
      sendStatus(out, was, wm.allIdle, next);
    },
    idle(port, idle) {
      const was = wm.allIdle;
      wm.setIdle(port, idle);
      const next = wm.publish(wm.current);
      sendStatus(out, was, wm.allIdle, next);
    },
    snapshot: () => wm,
    restore(state) {
      restoreFields(wm, state, 'union');
    },
  };
}
