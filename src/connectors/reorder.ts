import type { Schema } from '../expr/types.ts';
import type { Batch, Column } from '../runtime/batch.ts';

/**
 * Returns a function that rearranges batches of schema `from` into the field order of `to` (a contract). Fields of
 * `to` that `from` lacks (optional ones; `napkin check` rejects missing required fields) become null columns.
 */
export function reorderTo(from: Schema, to: Schema): (b: Batch) => Batch {
  const idx = to.fields.map((f) => from.fields.findIndex((x) => x.name === f.name));
  const identity = idx.length === from.fields.length && idx.every((v, i) => v === i);
  if (identity) return (b) => b;
  return (b) => {
    const columns: Column[] = idx.map((i) => (i >= 0 ? b.columns[i] : new Array(b.length).fill(null)));
    return { length: b.length, columns };
  };
}
