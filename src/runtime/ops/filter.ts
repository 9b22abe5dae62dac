import type { CompiledPredicate } from '../../expr/compile.ts';
import { type Batch, compileGather } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';

/** Keeps rows whose compiled predicate is true, through a reused selection vector. */
export function filterOperator(
  pred: CompiledPredicate,
  width: number,
  out: Output,
  m: StageMetrics,
  live?: readonly boolean[],
): Operator {
  let sel = new Int32Array(1024);
  const gather = compileGather(width, live);
  return {
    push(_port, batch: Batch) {
      m.in += batch.length;
      if (sel.length < batch.length) sel = new Int32Array(batch.length * 2);
      const n = pred.select(batch.columns, batch.length, sel);
      m.filtered += batch.length - n;
      if (n > 0) out.push(gather(batch, sel, n));
    },
    watermark(_port, wm) {
      out.watermark(wm);
    },
  };
}
