import type { DuckDBConnection } from '@duckdb/node-api';

const ONE_SELECT = 'a SQL model must be one SELECT statement (WITH is allowed)';

/**
 * Parses SQL with DuckDB's own parser and returns the JSON AST of json_serialize_sql.
 * Throws a one-line error when the SQL does not parse or is not exactly one SELECT.
 */
export async function parseSql(connection: DuckDBConnection, sql: string): Promise<unknown> {
  // The cast pins the parameter's type: json_serialize_sql checks its argument while the
  // statement is prepared, before any value is bound.
  const reader = await connection.runAndReadAll('SELECT json_serialize_sql($1::VARCHAR)', [sql]);
  const json = reader.getRows()[0]?.[0];
  if (typeof json !== 'string') throw new Error('json_serialize_sql returned no JSON');
  const doc: unknown = JSON.parse(json);
  checkParsed(doc);
  return doc;
}

function checkParsed(doc: unknown): void {
  if (typeof doc !== 'object' || doc === null) throw new Error('json_serialize_sql returned no JSON object');
  const fields = doc as Record<string, unknown>;
  if (fields.error === true) throw new Error(parseFailure(fields));
  const statements = fields.statements;
  const count = Array.isArray(statements) ? statements.length : 0;
  if (count !== 1) throw new Error(`${ONE_SELECT}; found ${count} statements`);
}

function parseFailure(fields: Record<string, unknown>): string {
  // DuckDB refuses to serialise anything but SELECT with a 'not implemented' error, not a parser error.
  if (fields.error_type === 'not implemented') return ONE_SELECT;
  const message = oneLine(typeof fields.error_message === 'string' ? fields.error_message : 'unknown parser error');
  const position = typeof fields.position === 'string' ? ` (at position ${fields.position})` : '';
  return `SQL does not parse: ${message}${position}`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}
