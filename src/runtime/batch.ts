import type { Value } from '../expr/types.ts';

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
  return { length: 0, columns: newColumns(width) };
}

/**
 * The number of rows sources aim for in one batch. Large enough that per-batch costs (calls, small allocations) are
 * noise, and small enough that a column stays under V8's large-object threshold (128 KiB, i.e. 16,384 elements of
 * 8 bytes): arrays past it are allocated outside the young generation, page by page, and filling them measured 3x
 * slower per value than filling a smaller array.
 */
export const BATCH_ROWS = 8192;

/**
 * `width` new empty columns. With a `capacity`, each is allocated for that many rows up front (filled by index,
 * then cut to the batch's length with {@link finishBuilder}), instead of growing by copies as rows arrive.
 */
export function newColumns(width: number, capacity = 0, live?: readonly boolean[]): Column[] {
  const columns: Column[] = new Array(width);
  for (let c = 0; c < width; c++) columns[c] = capacity > 0 && live?.[c] !== false ? new Array(capacity) : [];
  return columns;
}

/**
 * A batch being filled: readers append rows to its columns (each column `length` long) and hand it on as a
 * {@link Batch} once it is big enough, then start new columns (downstream operators may keep the ones handed on).
 */
export interface BatchBuilder {
  length: number;
  columns: Column[];
}

/**
 * The rows of a builder as a batch: columns allocated ahead are cut to the rows actually written (columns no stage
 * reads stay empty).
 */
export function finishBuilder(b: BatchBuilder): Batch {
  for (const c of b.columns) if (c.length > b.length) c.length = b.length;
  return { length: b.length, columns: b.columns };
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

/** {@link gather} for batches of one width, compiled for the operator that uses it (see {@link compileGather}). */
export type Gather = (batch: Batch, sel: Int32Array, count: number) => Batch;

/**
 * A {@link gather} with one copy loop per column, generated for one operator. In a loop shared by all columns, the
 * element reads and writes see every kind of array (small integers, doubles, strings, values with nulls) and V8
 * falls back to its generic, megamorphic access, measured several times slower per value; one loop per column stays
 * specialised to that column's kind.
 */
export function compileGather(width: number, live?: readonly boolean[]): Gather {
  const lines = [
    "'use strict';",
    'return function gather(batch, sel, count) {',
    '  if (count === batch.length) return batch;',
  ];
  lines.push('  const cols = batch.columns;');
  lines.push(
    `  if (cols.length !== ${width}) throw new RangeError('gather of ${width} columns given ' + cols.length);`,
  );
  for (let c = 0; c < width; c++) {
    // A column no later stage reads (see liveness.ts) is not copied: it stays an empty placeholder.
    if (live !== undefined && live[c] === false) {
      lines.push(`  const o${c} = [];`);
      continue;
    }
    lines.push(`  const c${c} = cols[${c}], o${c} = new Array(count);`);
    lines.push(`  for (let i = 0; i < count; i++) o${c}[i] = c${c}[sel[i]];`);
  }
  lines.push(
    `  return { length: count, columns: [${Array.from({ length: width }, (_, c) => `o${c}`).join(', ')}] };`,
    '};',
  );
  return new Function(lines.join('\n'))() as Gather;
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
