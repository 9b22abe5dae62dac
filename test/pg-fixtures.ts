// Shared pieces of the PostgreSQL sink tests: a contract covering the types, deterministic epochs of rows, and
// queries that read back a table as canonical text and find leftover staging rows.

import type { Pg } from '../src/connectors/postgres/connection.ts';
import { derivedName, tableName } from '../src/connectors/postgres/identifiers.ts';
import type { Schema } from '../src/expr/types.ts';
import type { Batch } from '../src/runtime/batch.ts';

export const CONTRACT: Schema = {
  fields: [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'name', type: { kind: 'string' }, nullable: true },
    { name: 'amount', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: true },
    { name: 'at', type: { kind: 'timestamp' }, nullable: true },
  ],
};

export const FINGERPRINT = 'f'.repeat(64);

/**
 * The rows of one epoch, in batches of 250. `append` epochs have fresh ids; `merge` epochs revisit keys 0..349, so a
 * lost or doubled epoch changes the result either way.
 */
export function epochBatches(epoch: number, mode: 'append' | 'merge', rows = 1000): Batch[] {
  const out: Batch[] = [];
  for (let start = 0; start < rows; start += 250) {
    const n = Math.min(250, rows - start);
    const ids: number[] = [];
    const names: (string | null)[] = [];
    const amounts: (number | null)[] = [];
    const ats: number[] = [];
    for (let i = start; i < start + n; i++) {
      ids.push(mode === 'append' ? epoch * 100_000 + i : (i * 7 + epoch) % 350);
      names.push(i % 13 === 0 ? null : `e${epoch} r${i} it's\t"q"\\`);
      amounts.push(i % 11 === 0 ? null : epoch * 1000 + i / 100);
      ats.push(Date.UTC(2024, 0, 1) + epoch * 86_400_000 + i);
    }
    out.push({ length: n, columns: [ids, names, amounts, ats] });
  }
  return out;
}

/** Every row of a table as text, sorted: equal tables give equal arrays. */
export async function tableText(sql: Pg, table: string): Promise<string[]> {
  const rows = await sql`select t::text as line from ${sql(table)} as t`;
  return rows.map((r) => String(r.line)).sort();
}

/**
 * Rows left in napkin's staging tables and `pending` rows: both must be zero after recovery. With a table, only what
 * was staged for it counts (so one failed test does not fail the next); without, everything.
 */
export async function leftovers(sql: Pg, table?: string): Promise<{ staged: number; pending: number }> {
  const stages =
    table === undefined
      ? (
          await sql`select table_name from information_schema.tables
          where table_schema = 'napkin' and table_name like 'stage\\_%'`
        ).map((t) => String(t.table_name))
      : [derivedName('stage', tableName(table))];
  let staged = 0;
  for (const t of stages) {
    const n = await sql`select count(*)::int as n from ${sql(`napkin.${t}`)}`;
    staged += Number(n[0].n);
  }
  const pending =
    table === undefined
      ? await sql`select count(*)::int as n from napkin.pending`
      : await sql`select count(*)::int as n from napkin.pending where target = ${tableName(table).qualified}`;
  return { staged, pending: Number(pending[0].n) };
}
