import { type DuckDBDataChunk, DuckDBTypeId, type DuckDBValue } from '@duckdb/node-api';
import type duckdb from '@duckdb/node-bindings';
import type { Field, Value } from '../../expr/types.ts';
import type { Contract } from '../../flow/contract.ts';
import {
  BATCH_ROWS,
  type BatchBuilder,
  type Column,
  emptyBatch,
  finishBuilder,
  newColumns,
} from '../../runtime/batch.ts';
import type { SourceChunk, SourceReader } from '../../runtime/execute.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { quoteIdent, quoteString, quoteTable, readableAs, toTransport } from './sql-types.ts';
import { allNull, readBooleans, readDoubles, readIntegers, StringReader, vectorOf } from './vectors.ts';
import type { Warehouse } from './warehouse.ts';

/** What a DuckDB-read source scans: Parquet files or a warehouse table. */
export type DuckSource =
  | { readonly kind: 'parquet'; readonly files: readonly string[] }
  | { readonly kind: 'table'; readonly table: string };

const MAX_SAFE = '9007199254740991';
/** DuckDB hands out chunks of up to 2,048 rows, gathered into batches of `BATCH_ROWS` or a chunk more. */
const CAPACITY = BATCH_ROWS + 2048;

/** Copies `n` rows of one result column into `out` from index `at`. */
type ColumnReader = (chunk: DuckDBDataChunk, vector: duckdb.Vector, n: number, out: Value[], at: number) => void;

/**
 * Reads Parquet files or a DuckDB table through DuckDB. The columns are checked against the contract before the
 * first row (a renamed or retyped column stops the run naming both), and every row's validity is computed by DuckDB
 * in the same scan: a `CASE` names the first field that breaks the contract, and the row's coordinates (file and
 * row number) are only produced for such rows. Chunks without a bad row are copied column by column from DuckDB's
 * vectors into the batch being filled; only chunks holding a bad row are looked at one row at a time.
 */
export async function openDuckSource(
  w: Warehouse,
  src: DuckSource,
  contract: Contract,
  label: string,
  live?: readonly boolean[],
): Promise<SourceReader> {
  const from =
    src.kind === 'table'
      ? quoteTable(src.table)
      : `read_parquet([${src.files.map(quoteString).join(', ')}], filename = true, file_row_number = true)`;
  const described = await w.rows(`DESCRIBE SELECT * FROM ${from}`);
  const columns = new Map(described.map((r) => [String(r.column_name), String(r.column_type)]));
  checkDrift(columns, contract, label);
  const fields = contract.schema.fields;
  const sourceName = (f: Field) => (columns.has(f.name) ? f.name : aliasOf(f, columns));
  const list = fields.map((f, c) => {
    const name = sourceName(f);
    if (name === undefined) return `NULL AS ${quoteIdent(f.name)}`;
    // A field no stage reads crosses over only in rows refused, whose quarantine entry shows the whole record.
    const value = toTransport(name, f.type);
    return live?.[c] === false
      ? `CASE WHEN napkin_bad IS NULL THEN NULL ELSE ${value} END AS ${quoteIdent(f.name)}`
      : `${value} AS ${quoteIdent(f.name)}`;
  });
  const coords =
    src.kind === 'parquet'
      ? 'filename AS napkin_source, file_row_number + 1 AS napkin_record'
      : `'${label}' AS napkin_source, row_number() OVER () AS napkin_record`;
  const total = Number((await w.rows(`SELECT count(*) AS n FROM ${from}`))[0].n);
  // Coordinates of valid rows are never read: NULL for them, so no file name string or BIGINT crosses per row.
  const sql = `SELECT ${list.join(', ')}, napkin_bad,
      CASE WHEN napkin_bad IS NULL THEN NULL ELSE napkin_source END,
      CASE WHEN napkin_bad IS NULL THEN NULL ELSE napkin_record END
    FROM (SELECT *, ${validity(fields, sourceName)} AS napkin_bad, ${coords} FROM ${from})`;
  const width = fields.length;
  return {
    async *chunks(): AsyncIterable<SourceChunk> {
      const result = await w.connection.stream(sql);
      const readers = fields.map((f, c) =>
        live?.[c] === false ? skipColumn : columnReader(f, c, result.columnTypeId(c)),
      );
      let builder: BatchBuilder = { length: 0, columns: newColumns(width, CAPACITY, live) };
      let rejected: QuarantineEntry[] = [];
      let done = 0;
      const take = (): SourceChunk => {
        // A chunk of refused rows only leaves the builder (allocated ahead) to the next batch.
        const batch = builder.length === 0 ? emptyBatch(width) : finishBuilder(builder);
        if (builder.length > 0) builder = { length: 0, columns: newColumns(width, CAPACITY, live) };
        const chunk = { batch, rejected, progress: { done, total } };
        rejected = [];
        return chunk;
      };
      // One fetch is always in flight: DuckDB produces the next chunk while this one is copied and processed.
      let next = result.fetchChunk();
      try {
        for (;;) {
          const chunk = await next;
          if (chunk === null || chunk.rowCount === 0) break;
          next = result.fetchChunk();
          const n = chunk.rowCount;
          done += n;
          if (allNull(vectorOf(chunk, width), n)) {
            for (let c = 0; c < width; c++)
              readers[c](chunk, vectorOf(chunk, c), n, builder.columns[c], builder.length);
            builder.length += n;
          } else {
            const part = split(chunk.getColumns(), fields, n);
            for (let c = 0; c < width; c++) {
              if (live?.[c] === false) continue;
              const out = builder.columns[c];
              const col = part.batch.columns[c];
              for (let i = 0; i < part.batch.length; i++) out[builder.length + i] = col[i];
            }
            builder.length += part.batch.length;
            for (const e of part.rejected) rejected.push(e);
          }
          // Refused rows go out at once, so an error budget stops the run early.
          if (builder.length >= BATCH_ROWS || rejected.length > 0) yield take();
        }
        if (builder.length > 0) yield take();
      } finally {
        // A fetch may still be running when the consumer stops early; let it land before the result is dropped.
        await next.catch(() => undefined);
      }
    },
  };
}

/** The reader of a column no stage reads: it stays an empty placeholder. */
const skipColumn: ColumnReader = () => undefined;

/**
 * How one field's column is copied, from the type DuckDB gives it (what `toTransport` made of it): numbers, dates
 * (days), booleans and strings are read from the vectors; JSON text of lists and structs is parsed; any other type
 * goes through the bindings' generic conversion.
 */
function columnReader(f: Field, column: number, type: DuckDBTypeId): ColumnReader {
  const nested = f.type.kind === 'list' || f.type.kind === 'struct';
  if (type === DuckDBTypeId.DOUBLE) return (_, v, n, out, at) => readDoubles(v, n, out, at);
  if (type === DuckDBTypeId.INTEGER) return (_, v, n, out, at) => readIntegers(v, n, out, at);
  if (type === DuckDBTypeId.BOOLEAN) return (_, v, n, out, at) => readBooleans(v, n, out, at);
  if (type === DuckDBTypeId.SQLNULL)
    return (_, _v, n, out, at) => {
      for (let i = 0; i < n; i++) out[at + i] = null;
    };
  if (type === DuckDBTypeId.VARCHAR) {
    const strings = new StringReader();
    if (!nested) return (_, v, n, out, at) => strings.read(v, n, out, at);
    return (_, v, n, out, at) => {
      strings.read(v, n, out, at);
      for (let i = at; i < at + n; i++) if (out[i] !== null) out[i] = JSON.parse(out[i] as string) as Value;
    };
  }
  return (chunk, _v, n, out, at) => {
    const c = chunk.getColumnValues(column);
    for (let i = 0; i < n; i++) out[at + i] = c[i] as Value;
  };
}

/** A SQL `CASE` naming the first field of a row that breaks the contract, or NULL when the row is valid. */
function validity(fields: readonly Field[], sourceName: (f: Field) => string | undefined): string {
  const whens: string[] = [];
  for (const f of fields) {
    const name = sourceName(f);
    const c = name === undefined ? 'NULL' : quoteIdent(name);
    if (!f.nullable) whens.push(`WHEN ${c} IS NULL THEN '${f.name}'`);
    if (name === undefined) continue;
    // A range test on the column's own type: casting every value to HUGEINT for abs() cost DuckDB a sixth of the scan.
    if (f.type.kind === 'int64') whens.push(`WHEN ${c} NOT BETWEEN -${MAX_SAFE} AND ${MAX_SAFE} THEN '${f.name}'`);
    if (f.type.kind === 'enum') {
      whens.push(`WHEN ${c} NOT IN (${f.type.symbols.map(quoteString).join(', ')}) THEN '${f.name}'`);
    }
  }
  return whens.length === 0 ? 'NULL' : `CASE ${whens.join(' ')} ELSE NULL END`;
}

function split(cols: DuckDBValue[][], fields: readonly Field[], n: number): Omit<SourceChunk, 'progress'> {
  const bad = cols[fields.length];
  const nested = fields.map((f) => f.type.kind === 'list' || f.type.kind === 'struct');
  const anyNested = nested.includes(true);
  if (bad.every((b) => b === null)) {
    const columns = fields.map((_, c) => (nested[c] ? parseJson(cols[c]) : (cols[c] as Column)));
    return { batch: { length: n, columns }, rejected: [] };
  }
  const keep: number[] = [];
  const rejected: QuarantineEntry[] = [];
  for (let i = 0; i < n; i++) {
    if (bad[i] === null) keep.push(i);
    else rejected.push(reject(cols, fields, i, String(bad[i])));
  }
  const columns = fields.map((_, c) => {
    const picked = keep.map((i) => cols[c][i]);
    return anyNested && nested[c] ? parseJson(picked) : (picked as Column);
  });
  return { batch: { length: keep.length, columns }, rejected };
}

function parseJson(col: readonly DuckDBValue[]): Column {
  return col.map((v) => (v === null ? null : (JSON.parse(v as string) as Value)));
}

function reject(cols: DuckDBValue[][], fields: readonly Field[], i: number, fieldName: string): QuarantineEntry {
  const record: Record<string, unknown> = {};
  fields.forEach((f, c) => {
    record[f.name] = cols[c][i];
  });
  const c = fields.findIndex((f) => f.name === fieldName);
  const f = fields[c];
  const value = cols[c][i];
  return {
    source: String(cols[fields.length + 1][i]),
    record: Number(cols[fields.length + 2][i]),
    field: `/${fieldName}`,
    errorClass: value === null ? 'missing' : f.type.kind === 'enum' ? 'enum' : 'type',
    expected:
      f.type.kind === 'enum'
        ? `one of ${f.type.symbols.join('|')}`
        : value === null
          ? `a ${f.type.kind}`
          : 'a safe integer (|v| ≤ 2^53−1)',
    found: value === null ? 'null' : String(value).slice(0, 80),
    raw: JSON.stringify(record, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)),
    rawEncoding: 'utf8',
  };
}

function aliasOf(f: Field, columns: ReadonlyMap<string, string>): string | undefined {
  return f.formerly?.find((a) => columns.has(a));
}

function checkDrift(columns: ReadonlyMap<string, string>, contract: Contract, label: string): void {
  const problems: string[] = [];
  for (const f of contract.schema.fields) {
    const name = columns.has(f.name) ? f.name : aliasOf(f, columns);
    if (name === undefined) {
      if (!f.nullable) problems.push(`required column '${f.name}' is missing`);
    } else if (!readableAs(columns.get(name) as string, f)) {
      problems.push(`column '${name}' is ${columns.get(name)}, the contract says ${f.type.kind}`);
    }
  }
  const declared = new Set(contract.schema.fields.flatMap((f) => [f.name, ...(f.formerly ?? [])]));
  const unknown = [...columns.keys()].filter((c) => !declared.has(c) && c !== 'filename' && c !== 'file_row_number');
  if (unknown.length > 0 && contract.content === 'closed')
    problems.push(`column(s) ${unknown.join(', ')} are not in the contract`);
  if (problems.length > 0) {
    throw new Error(
      `${label}: schema drift: ${problems.join('; ')} (found: ${[...columns.keys()].join(', ')}); update the contract (declare a rename with .renamedFrom('old')) or fix the input`,
    );
  }
}
