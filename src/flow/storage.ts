/**
 * Where a dataset lives. Storage values are descriptions only: the connectors in `src/connectors` read and write
 * them. Paths are relative to the project root; a read path may be a glob (`data/orders/*.csv`).
 */
export type Storage =
  | { readonly kind: 'csv'; readonly path: string; readonly delimiter: string }
  | { readonly kind: 'jsonl'; readonly path: string }
  | { readonly kind: 'parquet'; readonly path: string }
  | { readonly kind: 'duckdb'; readonly table: string };

export type StorageKind = Storage['kind'];

/** CSV files with a header line. */
export function csv(path: string, options: { readonly delimiter?: string } = {}): Storage {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1) throw new Error(`csv('${path}'): delimiter must be one character, got '${delimiter}'`);
  return { kind: 'csv', path: checkPath('csv', path), delimiter };
}

/** JSON Lines files: one JSON object per line. */
export function jsonl(path: string): Storage {
  return { kind: 'jsonl', path: checkPath('jsonl', path) };
}

/** Parquet files, read and written through DuckDB. */
export function parquet(path: string): Storage {
  return { kind: 'parquet', path: checkPath('parquet', path) };
}

/** A table in the project's DuckDB warehouse, e.g. `mart.daily_revenue`. */
export function duckdb(table: string): Storage {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) {
    throw new Error(`duckdb('${table}'): a table name is 'name' or 'schema.name' of letters, digits and _`);
  }
  return { kind: 'duckdb', table };
}

function checkPath(kind: string, path: string): string {
  if (typeof path !== 'string' || path.trim() === '') throw new Error(`${kind}(): give a file path or glob`);
  return path;
}

/** One line for people: `csv data/orders.csv`, `duckdb mart.daily_revenue`. */
export function storageToString(s: Storage): string {
  return s.kind === 'duckdb' ? `duckdb ${s.table}` : `${s.kind} ${s.path}`;
}
