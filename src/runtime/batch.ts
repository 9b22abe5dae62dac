import type { Value } from '../flow/types.ts';

/** One column of a batch: the value of row i at index i (`null` when missing). */
export type Column = Value[];

/**
 * A batch of rows, stored column by column in the order of the stage's schema. Operators receive and emit
 * batches; nothing in the runtime handles one record at a time.
 */
export interface Batch {
  readonly length: number;
  readonly columns: readonly Column[];
}

export function emptyBatch(width: number): Batch {
  return { length: 0, columns: Array.from({ length: width }, () => []) };
}

/** Keeps the rows whose indexes are in `sel[0..count)`, in that order. */
export function gather(batch: Batch, sel: Int32Array, count: number): Batch {
  if (count === batch.length) return batch;
  const columns = batch.columns.map((c) => {
    const out: Column = new Array(count);
    for (let i = 0; i < count; i++) out[i] = c[sel[i]];
    return out;
  });
  return { length: count, columns };
}

/** Concatenates batches of the same width. */
export function concatBatches(batches: readonly Batch[], width: number): Batch {
  if (batches.length === 1) return batches[0];
  let length = 0;
  for (const b of batches) length += b.length;
  const columns: Column[] = [];
  for (let c = 0; c < width; c++) {
    const out: Column = new Array(length);
    let o = 0;
    for (const b of batches) {
      const src = b.columns[c];
      for (let i = 0; i < b.length; i++) out[o++] = src[i];
    }
    columns.push(out);
  }
  return { length, columns };
}
