import type { DataType, FieldType } from '../../expr/types.ts';

/**
 * How napkin types map to DuckDB. Values cross the boundary in a "transport" type that the Node bindings carry
 * cheaply (numbers, strings, booleans; BIGINT as bigint), and are converted to the declared column type inside DuckDB
 * by SQL, in one statement per table rather than one call per value.
 */
export function duckType(t: DataType): string {
  switch (t.kind) {
    case 'string':
    case 'enum':
      return 'VARCHAR';
    case 'int64':
      return 'BIGINT';
    case 'float64':
      return 'DOUBLE';
    case 'bool':
      return 'BOOLEAN';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'date':
      return 'DATE';
    case 'decimal':
      return `DECIMAL(${t.precision},${t.scale})`;
    case 'list':
      return `${duckType(t.item.type)}[]`;
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `${quoteIdent(f.name)} ${duckType(f.type)}`).join(', ')})`;
    case 'null':
      return 'VARCHAR';
    default:
      return t satisfies never;
  }
}

/** The staging column type values are appended as. */
export type TransportType = 'VARCHAR' | 'BIGINT' | 'DOUBLE' | 'BOOLEAN' | 'INTEGER';

export function transportType(t: DataType): TransportType {
  switch (t.kind) {
    case 'int64':
    case 'timestamp':
      return 'BIGINT';
    case 'date':
      return 'INTEGER';
    case 'float64':
    case 'decimal':
      return 'DOUBLE';
    case 'bool':
      return 'BOOLEAN';
    default:
      return 'VARCHAR'; // strings, enums, and nested values as JSON text
  }
}

/** SQL turning a staged transport column into its declared type. */
export function fromTransport(column: string, t: DataType): string {
  const c = quoteIdent(column);
  switch (t.kind) {
    case 'timestamp':
      return `epoch_ms(${c})`;
    case 'date':
      return `(DATE '1970-01-01' + ${c})`;
    case 'decimal':
      return `CAST(${c} AS ${duckType(t)})`;
    case 'list':
    case 'struct':
      return `CAST(CAST(${c} AS JSON) AS ${duckType(t)})`;
    default:
      return c;
  }
}

/**
 * SQL reading a declared column for a source. Integers and timestamps come out as DOUBLE (exact within ±2^53, which
 * the source's validity check enforces in SQL) so the bindings hand back plain numbers, not bigints.
 */
export function toTransport(column: string, t: DataType): string {
  const c = quoteIdent(column);
  switch (t.kind) {
    case 'timestamp':
      return `CAST(epoch_ms(CAST(${c} AS TIMESTAMP)) AS DOUBLE)`;
    case 'date':
      return `CAST(CAST(${c} AS DATE) - DATE '1970-01-01' AS INTEGER)`;
    case 'decimal':
    case 'float64':
      return `CAST(${c} AS DOUBLE)`;
    case 'int64':
      return `CAST(${c} AS DOUBLE)`;
    case 'list':
    case 'struct':
      return `CAST(to_json(${c}) AS VARCHAR)`;
    case 'string':
    case 'enum':
      return `CAST(${c} AS VARCHAR)`;
    default:
      return c;
  }
}

/** Whether a DuckDB column type (as DESCRIBE prints it) can be read as the declared field without loss. */
export function readableAs(duck: string, f: FieldType): boolean {
  const d = duck.toUpperCase();
  switch (f.type.kind) {
    case 'string':
    case 'enum':
      return d === 'VARCHAR';
    case 'int64':
      return ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'UINTEGER', 'USMALLINT', 'UTINYINT'].includes(d);
    case 'float64':
      return ['DOUBLE', 'FLOAT', 'BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT'].includes(d) || d.startsWith('DECIMAL');
    case 'decimal':
      return d.startsWith('DECIMAL') || ['BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT'].includes(d);
    case 'bool':
      return d === 'BOOLEAN';
    case 'timestamp':
      return d.startsWith('TIMESTAMP');
    case 'date':
      return d === 'DATE';
    case 'list':
      return d.endsWith('[]');
    case 'struct':
      return d.startsWith('STRUCT');
    case 'null':
      return true;
    default:
      return f.type satisfies never;
  }
}

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `shop.orders` → `"shop"."orders"`. */
export function quoteTable(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

/** A single-quoted SQL string literal (for file paths in COPY/read_*, where DuckDB takes no parameters). */
export function quoteString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
