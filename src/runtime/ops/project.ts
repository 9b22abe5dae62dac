import type { CompiledProjection } from '../../expr/compile.ts';
import type { Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';

/**
 * `select` and `withColumns`: computes the compiled expressions in one fused loop, then places each output column.
 * `layout[i]` is `{ input: j }` to pass input column j through, or `{ computed: k }` for the k-th expression.
 */
export type ColumnSource = { readonly input: number } | { readonly computed: number };

export function projectOperator(
  proj: CompiledProjection,
  layout: readonly ColumnSource[],
  out: Output,
  m: StageMetrics,
): Operator {
  return {
    push(_port, batch) {
      m.in += batch.length;
      const computed = proj.run(batch.columns, batch.length);
      const columns: Column[] = layout.map((s) => ('input' in s ? batch.columns[s.input] : computed[s.computed]));
      out.push({ length: batch.length, columns });
    },
    watermark(_port, wm) {
      out.watermark(wm);
    },
  };
}
