import type { DuckDBValue } from '@duckdb/node-api';
import type { Contract } from '../../flow/contract.ts';
import type { Field, Value } from '../../flow/types.ts';
import type { Column } from '../../runtime/batch.ts';
import type { SourceChunk, SourceReader } from '../../runtime/execute.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { quoteIdent, quoteString, quoteTable, readableAs, toTransport } from './sql-types.ts';
import type { Warehouse } from './warehouse.ts';

/** What a DuckDB-read source scans: Parquet files or a warehouse table. */
export type DuckSource =
  | { readonly kind: 'parquet'; readonly files: readonly string[] }
  | { readonly kind: 'table'; readonly table: string };

const MAX_SAFE = '9007199254740991';

/**
 * Reads Parquet files or a DuckDB table through DuckDB. The columns are checked against the contract before the
 * first row (a renamed or retyped column stops the run naming both), and every row's validity is computed by DuckDB
 * in the same scan: a `CASE` names the first field that breaks the contract, so valid chunks pass to the runtime as
 * the columns DuckDB returned, and only bad rows are looked at one by one.
 */
export async function openDuckSource(
  w: Warehouse,
  src: DuckSource,
  contract: Contract,
  label: string,
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
  const list = fields.map((f) => {
    const name = sourceName(f);
    return name === undefined
      ? `NULL AS ${quoteIdent(f.name)}`
      : `${toTransport(name, f.type)} AS ${quoteIdent(f.name)}`;
  });
  const coords = src.kind === 'parquet' ? 'filename, file_row_number + 1' : `'${label}', row_number() OVER ()`;
  const total = Number((await w.rows(`SELECT count(*) AS n FROM ${from}`))[0].n);
  const sql = `SELECT ${list.join(', ')}, ${validity(fields, sourceName)} AS napkin_bad, ${coords} FROM ${from}`;
  return {
    async *chunks(): AsyncIterable<SourceChunk> {
      const result = await w.connection.stream(sql);
      let done = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) break;
        const cols = chunk.getColumns();
        done += chunk.rowCount;
        yield { ...split(cols, fields, chunk.rowCount), progress: { done, total } };
      }
    },
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
    if (f.type.kind === 'int64') whens.push(`WHEN abs(CAST(${c} AS HUGEINT)) > ${MAX_SAFE} THEN '${f.name}'`);
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
