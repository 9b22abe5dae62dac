import type { Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';

/** Concatenates its inputs; `orders[p][i]` is the column of input p that becomes output column i. */
export function unionOperator(orders: readonly (readonly number[])[], out: Output, m: StageMetrics): Operator {
  let open = orders.length;
  return {
    push(port, batch) {
      m.in += batch.length;
      const columns: Column[] = orders[port].map((c) => batch.columns[c]);
      out.push({ length: batch.length, columns });
    },
    end() {
      open--;
      if (open === 0) out.end();
    },
  };
}
