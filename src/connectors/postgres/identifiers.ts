import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import type { Pg } from './connection.ts';

/**
 * The allowlist for names that reach SQL text (spec reliability §5): lower-case identifiers only, at most 63 bytes
 * (PostgreSQL cuts longer ones silently, so two long names could meet). They are still quoted, by the client's
 * `sql(name)`.
 */
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

export type Fragment = postgres.PendingQuery<postgres.Row[]>;

export function checkIdent(name: string, what: string): string {
  if (!IDENT.test(name)) {
    throw new Error(
      `postgres: ${what} '${name}' is not a lower-case identifier ([a-z_][a-z0-9_]*, at most 63); rename it in the contract`,
    );
  }
  return name;
}

/** A table name, `name` (schema `public`) or `schema.name`, checked part by part. */
export interface TableName {
  readonly schema: string;
  readonly name: string;
  /** `schema.name`, which `sql()` quotes part by part. */
  readonly qualified: string;
}

export function tableName(table: string): TableName {
  const parts = table.split('.');
  if (parts.length > 2) throw new Error(`postgres: table '${table}' must be 'name' or 'schema.name'`);
  const [schema, name] = parts.length === 2 ? parts : ['public', parts[0]];
  checkIdent(schema, 'schema');
  checkIdent(name, 'table');
  return { schema, name, qualified: `${schema}.${name}` };
}

/**
 * A name derived from a table for napkin's own objects (its staging table, its key index): readable, under 63 bytes,
 * and distinct for distinct tables thanks to the hash of the full name.
 */
export function derivedName(prefix: string, t: TableName): string {
  const hash = createHash('sha256').update(t.qualified).digest('hex').slice(0, 10);
  return checkIdent(`${prefix}_${t.name.slice(0, 40)}_${hash}`, 'derived name');
}

/**
 * `"a", "b", …` as one fragment. The client's own array helper picks its output format from keywords in the text
 * before it (`insert`, `values`, `in`, …), so lists are joined here from single identifiers instead.
 */
export function idList(sql: Pg, names: readonly string[], qualifier?: string): Fragment {
  const one = (n: string) => sql`${sql(qualifier === undefined ? n : `${qualifier}.${n}`)}`;
  let out = one(names[0]);
  for (let i = 1; i < names.length; i++) out = sql`${out}, ${one(names[i])}`;
  return out;
}
