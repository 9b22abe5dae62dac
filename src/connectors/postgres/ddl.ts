import type postgres from 'postgres';
import type { DataType, Field } from '../../expr/types.ts';
import type { Pg } from './connection.ts';
import { type Fragment, idList, type TableName } from './identifiers.ts';

/** Serialises napkin's DDL across processes: `CREATE … IF NOT EXISTS` can still collide when two run at once. */
const DDL_LOCK = 0x6e61706b; // 'napk'

/**
 * napkin's own tables, in schema `napkin`, created idempotently:
 * - `fence`: per (flow, sink target table, partition) the highest ownership epoch seen and the active fingerprint
 *   (spec §2.6); a `fence` of an older napkin, keyed by (flow, partition) alone, gets the `target` column and the key;
 * - `commits`: one row per committed commit key (flow, sink, partition, epoch), written with the data (spec §2.4);
 * - `pending`: one row per pre-committed transaction whose staged rows wait in a staging table.
 * `add_numeric_column` lets a numeric(p,s) column be added with p and s as bound parameters, since DDL takes none.
 */
export async function ensureMetadata(sql: Pg): Promise<void> {
  // When these are there, everything is (and no lock is taken on tables writers are using).
  const ready = await sql`select to_regclass('napkin.pending_by_key') is not null
    and to_regclass('napkin.fence_key') is not null as ready`;
  if (ready[0].ready === true) return;
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${DDL_LOCK})`;
    await tx`create schema if not exists napkin`;
    await tx`create table if not exists napkin.fence (
      flow text not null,
      target text not null,
      "partition" text not null,
      ownership_epoch bigint not null,
      fingerprint text not null,
      constraint fence_key primary key (flow, target, "partition"))`;
    const keyed = await tx`select to_regclass('napkin.fence_key') is not null as keyed`;
    if (keyed[0].keyed !== true) {
      // A fence of a napkin whose sinks shared one row per flow partition: its rows stay as they are, under target
      // '' (no sink checks them again), and each sink gets its own row when it next opens.
      await tx`alter table napkin.fence add column if not exists target text not null default ''`;
      await tx`alter table napkin.fence drop constraint if exists fence_pkey`;
      await tx`alter table napkin.fence add constraint fence_key primary key (flow, target, "partition")`;
    }
    await tx`create table if not exists napkin.commits (
      flow text not null,
      sink text not null,
      "partition" text not null,
      epoch bigint not null,
      txn text not null,
      ownership_epoch bigint not null,
      target text not null,
      rows bigint not null,
      committed_at timestamptz not null default now(),
      primary key (flow, sink, "partition", epoch))`;
    await tx`create table if not exists napkin.pending (
      txn text primary key,
      flow text not null,
      sink text not null,
      "partition" text not null,
      epoch bigint not null,
      ownership_epoch bigint not null,
      target text not null,
      rows bigint not null,
      staged_at timestamptz not null default now())`;
    await tx`create or replace function napkin.add_numeric_column(
        sch text, tbl text, col text, p integer, s integer, required boolean) returns void
      language plpgsql as $fn$
      begin
        execute format('alter table %I.%I add column if not exists %I numeric(%s,%s)%s',
          sch, tbl, col, p, s, case when required then ' not null' else '' end);
      end
      $fn$`;
    await tx`create index if not exists pending_by_key on napkin.pending (flow, sink, "partition", epoch)`;
  });
}

export interface IndexSpec {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

/**
 * Creates the table when missing, adds the columns it lacks (additive change; never drops or retypes one) and the
 * indexes it lacks. Extra columns (`lead`, e.g. the staging tag) come first. It looks in the catalog first and runs DDL
 * only for what is missing: `ALTER TABLE … IF NOT EXISTS` and `CREATE INDEX IF NOT EXISTS` lock the table even when
 * there is nothing to do, and would wait for every open staging transaction on it.
 */
export async function ensureTable(
  sql: Pg,
  t: TableName,
  fields: readonly Field[],
  indexes: readonly IndexSpec[],
  lead: readonly { name: string; type: Fragment }[] = [],
): Promise<void> {
  const missing = async (q: Pg | postgres.TransactionSql) => {
    const cols = new Set(
      (
        await q`select attname from pg_attribute
          where attrelid = to_regclass(${t.qualified}) and attnum > 0 and not attisdropped`
      ).map((r) => String(r.attname)),
    );
    const idx = new Set(
      (await q`select indexname from pg_indexes where schemaname = ${t.schema} and tablename = ${t.name}`).map((r) =>
        String(r.indexname),
      ),
    );
    return {
      table: cols.size === 0,
      lead: lead.filter((c) => !cols.has(c.name)),
      fields: fields.filter((f) => !cols.has(f.name)),
      indexes: indexes.filter((i) => !idx.has(i.name)),
    };
  };
  const first = await missing(sql);
  if (!first.table && first.lead.length + first.fields.length + first.indexes.length === 0) return;
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${DDL_LOCK})`;
    const m = await missing(tx);
    if (m.table) {
      await tx`create schema if not exists ${sql(t.schema)}`;
      await tx`create table if not exists ${sql(t.qualified)} ()`;
    }
    for (const c of m.lead) await tx`alter table ${sql(t.qualified)} add column ${sql(c.name)} ${c.type}`;
    for (const f of m.fields) {
      const required = !f.nullable;
      if (f.type.kind === 'decimal') {
        await tx`select napkin.add_numeric_column(${t.schema}, ${t.name}, ${f.name}, ${f.type.precision}, ${f.type.scale}, ${required})`;
      } else {
        const type = columnType(sql, f.type);
        await tx`alter table ${sql(t.qualified)} add column ${sql(f.name)} ${type}${required ? sql` not null` : sql``}`;
      }
    }
    for (const i of m.indexes) {
      await tx`create ${i.unique ? sql`unique` : sql``} index ${sql(i.name)} on ${sql(t.qualified)} (${idList(sql, i.columns)})`;
    }
  });
}

/** The column type of a napkin type (decimals go through `napkin.add_numeric_column`). */
export function columnType(sql: Pg, t: DataType): Fragment {
  switch (t.kind) {
    case 'string':
    case 'enum':
    case 'null':
      return sql`text`;
    case 'int64':
      return sql`bigint`;
    case 'float64':
      return sql`double precision`;
    case 'bool':
      return sql`boolean`;
    // An instant: napkin timestamps are UTC milliseconds (T1).
    case 'timestamp':
      return sql`timestamptz(3)`;
    case 'date':
      return sql`date`;
    case 'decimal':
      return sql`numeric`;
    case 'list':
    case 'struct':
      return sql`jsonb`;
    default:
      return t satisfies never;
  }
}
