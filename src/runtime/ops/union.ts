import type { Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';
import { MinWatermark } from '../watermark.ts';

/**
 * Concatenates its inputs; `orders[p][i]` is the column of input p that becomes output column i. Its watermark is
 * the minimum over the inputs (M2): a row of the slowest input may still come.
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
      const next = wm.advance(port, w);
      if (next !== undefined) out.watermark(next);
    },
  };
}
