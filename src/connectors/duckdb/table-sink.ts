import type { Field, Schema } from '../../expr/types.ts';
import type { WriteMode } from '../../flow/flow.ts';
import type { SinkWriter } from '../../runtime/execute.ts';
import { reorderTo } from '../reorder.ts';
import { duckType, quoteIdent, quoteString, quoteTable } from './sql-types.ts';
import { EpochStaging, type StagingOwner, type StagingTable } from './staging.ts';
import type { Warehouse } from './warehouse.ts';

export interface TableSinkOptions {
  readonly table: string;
  readonly contract: Schema;
  readonly key: readonly string[];
  readonly mode: WriteMode;
  /** The schema of the batches the sink receives (the upstream stage's output). */
  readonly input: Schema;
  readonly comment?: string;
  /** The flow and sink stage writing, which name its staging tables (see `dropLeftoverStaging`). */
  readonly owner?: StagingOwner;
}

/**
 * Writes a dataset to a DuckDB table. Each epoch's rows go to a staging table; its commit publishes them in one
 * transaction: `replace` swaps the whole table when the epoch starts a new output (`fresh`) and appends otherwise,
 * `merge` deletes the keys it brings and inserts its rows (the last row per key wins; a last row that is a retraction
 * deletes its key). Readers see the table before the epoch or after it, never a mix. With a commit key, the same
 * transaction checks `napkin_meta.sink_commits` first (present: the epoch was regenerated after a crash, and its rows
 * are dropped) and records the key with the rows.
 */
export async function openTableSink(w: Warehouse, o: TableSinkOptions): Promise<SinkWriter> {
  const retracts = o.mode === 'merge' && o.input.fields.some((f) => f.name === RETRACTION && f.type.kind === 'bool');
  // The flag is staged even when the contract does not publish it: merge needs it to tell deletes from upserts.
  const staged: Schema =
    retracts && !o.contract.fields.some((f) => f.name === RETRACTION)
      ? { fields: [...o.contract.fields, { name: RETRACTION, type: { kind: 'bool' }, nullable: false }] }
      : o.contract;
  const staging = new EpochStaging(w, staged, o.owner);
  const reorder = reorderTo(o.input, staged);
  return {
    write(batch) {
      staging.append(reorder(batch));
    },
    async commit(e) {
      const table = await staging.finish();
      await w.ensureSchemaOf(o.table);
      const published = await w.transaction(async () => {
        if (e !== undefined && (await w.sinkCommitted(e))) return false;
        await publish(w, o, table, { fresh: e?.fresh ?? true, retracts });
        if (e !== undefined) await w.recordSinkCommit(e, o.table, table.rows);
        if (o.comment !== undefined)
          await w.run(`COMMENT ON TABLE ${quoteTable(o.table)} IS ${quoteString(o.comment)}`);
        return true;
      });
      await staging.reset();
      if (!published) return `duckdb ${o.table} (epoch ${e?.epoch} already committed)`;
      return `duckdb ${o.table} (${table.rows} rows, ${o.mode})`;
    },
    async abort() {
      await staging.reset();
    },
  };
}

/** Applies one epoch's staged rows to the target, inside the caller's transaction. */
async function publish(
  w: Warehouse,
  o: TableSinkOptions,
  staging: StagingTable,
  how: { readonly fresh: boolean; readonly retracts: boolean },
): Promise<void> {
  const target = quoteTable(o.table);
  const columns = o.contract.fields.map((f) => quoteIdent(f.name)).join(', ');
  const select = `SELECT ${staging.selectList()} FROM ${staging.table}`;
  const create = how.fresh && o.mode === 'replace' ? 'CREATE OR REPLACE TABLE' : 'CREATE TABLE IF NOT EXISTS';
  await w.run(`${create} ${target} (${tableColumns(o.contract.fields)})`);
  if (o.mode === 'replace') {
    // Rows this epoch adds to the earlier epochs' must keep the key unique across all of them.
    await assertUniqueKey(w, how.fresh ? [`(${select})`] : [`(${select})`, target], o);
    await w.run(`INSERT INTO ${target} (${columns}) ${select}`);
    return;
  }
  const keys = o.key.map(quoteIdent).join(', ');
  await w.run(
    `CREATE TEMP TABLE napkin_merge AS ${select} QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY rowid DESC) = 1`,
  );
  await w.run(`DELETE FROM ${target} WHERE (${keys}) IN (SELECT (${keys}) FROM napkin_merge)`);
  const kept = how.retracts ? ` WHERE NOT ${quoteIdent(RETRACTION)}` : '';
  await w.run(`INSERT INTO ${target} (${columns}) SELECT ${columns} FROM napkin_merge${kept}`);
  await w.run('DROP TABLE napkin_merge');
}

/**
 * The column a retracting windowed aggregate marks withdrawn results with. A merge write whose last row for a key is
 * a retraction deletes the key (a session merged into another), so the table holds exactly the standing results.
 */
const RETRACTION = 'retraction';

// No PRIMARY KEY constraint: DuckDB checks it eagerly within a transaction, which breaks delete-then-insert merges.
// Uniqueness of the key is checked before publishing instead (assertUniqueKey).
function tableColumns(fields: readonly Field[]): string {
  return fields.map((f) => `${quoteIdent(f.name)} ${duckType(f.type)}${f.nullable ? '' : ' NOT NULL'}`).join(', ');
}

/** A replace write must not publish two rows with one key: the contract says the key identifies a record. */
async function assertUniqueKey(w: Warehouse, relations: readonly string[], o: TableSinkOptions): Promise<void> {
  if (o.key.length === 0) return;
  const keys = o.key.map(quoteIdent).join(', ');
  const rows = relations.map((r) => `SELECT ${keys} FROM ${r}`).join(' UNION ALL ');
  const dup = await w.rows(`SELECT ${keys}, count(*) AS n FROM (${rows}) GROUP BY ${keys} HAVING count(*) > 1 LIMIT 1`);
  if (dup.length === 0) return;
  const shown = o.key.map((k) => `${k}=${String(dup[0][k])}`).join(', ');
  throw new Error(
    `${o.table}: key (${o.key.join(', ')}) is not unique: ${shown} appears ${String(dup[0].n)} times; dedupe before writing or use mode 'merge'`,
  );
}
