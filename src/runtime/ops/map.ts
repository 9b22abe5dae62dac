import type { Field, Value } from '../../expr/types.ts';
import type { MapFn } from '../../flow/rel.ts';
import type { Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';
import { checkValue } from '../value-check.ts';

/**
 * The `map` escape hatch: builds one record object per row from the declared `reads`, calls the user's function and
 * checks every written value against its declared type, so a wrong type fails with the row and column instead of
 * travelling downstream.
 */
export function mapOperator(
  fn: MapFn,
  stage: string,
  reads: readonly { name: string; index: number }[],
  writes: readonly Field[],
  layout: readonly ({ input: number } | { written: number })[],
  out: Output,
  m: StageMetrics,
): Operator {
  return {
    push(_port, batch) {
      m.in += batch.length;
      const written: Column[] = writes.map(() => new Array(batch.length));
      for (let i = 0; i < batch.length; i++) {
        const row: Record<string, Value> = {};
        for (const r of reads) row[r.name] = batch.columns[r.index][i];
        const result = fn(row);
        for (let w = 0; w < writes.length; w++) {
          const f = writes[w];
          const v = result[f.name] ?? null;
          const problem = checkValue(v, f);
          if (problem !== null) {
            throw new Error(
              `stage ${stage}: map returned ${problem} for column '${f.name}' in row ${m.in - batch.length + i + 1}; fix the function or its declared writes`,
            );
          }
          written[w][i] = v;
        }
      }
      const columns = layout.map((s) => ('input' in s ? batch.columns[s.input] : written[s.written]));
      out.push({ length: batch.length, columns });
    },
    watermark(_port, wm) {
      out.watermark(wm);
    },
  };
}
