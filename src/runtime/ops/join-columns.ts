import type { Value } from '../../expr/types.ts';
import type { Column } from '../batch.ts';

/**
 * The output column of a join that reads `src` at each index of `idx`: a batch's row numbers or an arena's slots,
 * where −1 stands for the missing side of an unmatched row and gives null.
 */
export function pickColumn(src: readonly Value[], idx: readonly number[]): Column {
  const n = idx.length;
  const out: Column = new Array(n);
  for (let k = 0; k < n; k++) {
    const j = idx[k];
    out[k] = j < 0 ? null : src[j];
  }
  return out;
}
