import type { Field, Schema } from '../../expr/types.ts';
import type { WriteMode } from '../../flow/flow.ts';
import type { SinkWriter } from '../../runtime/execute.ts';
import { reorderTo } from '../reorder.ts';
import { duckType, quoteIdent, quoteString, quoteTable } from './sql-types.ts';
import { StagingTable } from './staging.ts';
import type { Warehouse } from './warehouse.ts';

export interface TableSinkOptions {
  readonly table: string;
  readonly contract: Schema;
  readonly key: readonly string[];
  readonly mode: WriteMode;
  /** The schema of the batches the sink receives (the upstream stage's output). */
  readonly input: Schema;
  readonly comment?: string;
}

/**
 * Writes a dataset to a DuckDB table. Rows go to a staging table during the run; commit publishes them in one
 * transaction: `replace` swaps the whole table, `merge` deletes the keys it brings and inserts its rows (the last
 * row per key wins; a last row that is a retraction deletes its key). Readers see the old table or the new one, never
 * a mix.
 */
export async function openTableSink(w: Warehouse, o: TableSinkOptions): Promise<SinkWriter> {
  const retracts = o.mode === 'merge' && o.input.fields.some((f) => f.name === RETRACTION && f.type.kind === 'bool');
  // The flag is staged even when the contract does not publish it: merge needs it to tell deletes from upserts.
  const staged: Schema =
    retracts && !o.contract.fields.some((f) => f.name === RETRACTION)
      ? { fields: [...o.contract.fields, { name: RETRACTION, type: { kind: 'bool' }, nullable: false }] }
      : o.contract;
  const staging = await StagingTable.create(w, staged);
  const reorder = reorderTo(o.input, staged);
  const target = quoteTable(o.table);
  const columns = o.contract.fields.map((f) => quoteIdent(f.name)).join(', ');
  return {
    write(batch) {
      staging.append(reorder(batch));
    },
    async commit() {
      staging.finish();
      await w.ensureSchemaOf(o.table);
      const select = `SELECT ${staging.selectList()} FROM ${staging.table}`;
      await w.transaction(async () => {
        if (o.mode === 'replace') {
          await assertUniqueKey(w, staging.table, o.key, o.table);
          await w.run(`CREATE OR REPLACE TABLE ${target} (${tableColumns(o.contract.fields)})`);
          await w.run(`INSERT INTO ${target} (${columns}) ${select}`);
        } else {
          const keys = o.key.map(quoteIdent).join(', ');
          await w.run(`CREATE TABLE IF NOT EXISTS ${target} (${tableColumns(o.contract.fields)})`);
          await w.run(
            `CREATE TEMP TABLE napkin_merge AS ${select} QUALIFY row_number() OVER (PARTITION BY ${keys} ORDER BY rowid DESC) = 1`,
          );
          await w.run(`DELETE FROM ${target} WHERE (${keys}) IN (SELECT (${keys}) FROM napkin_merge)`);
          const kept = retracts ? ` WHERE NOT ${quoteIdent(RETRACTION)}` : '';
          await w.run(`INSERT INTO ${target} (${columns}) SELECT ${columns} FROM napkin_merge${kept}`);
          await w.run('DROP TABLE napkin_merge');
        }
        if (o.comment !== undefined) await w.run(`COMMENT ON TABLE ${target} IS ${quoteString(o.comment)}`);
      });
      await staging.drop();
      return `duckdb ${o.table} (${staging.rows} rows, ${o.mode})`;
    },
    async abort() {
      await staging.drop();
    },
  };
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
async function assertUniqueKey(w: Warehouse, staged: string, key: readonly string[], table: string): Promise<void> {
  if (key.length === 0) return;
  const keys = key.map(quoteIdent).join(', ');
  const dup = await w.rows(`SELECT ${keys}, count(*) AS n FROM ${staged} GROUP BY ${keys} HAVING count(*) > 1 LIMIT 1`);
  if (dup.length === 0) return;
  const shown = key.map((k) => `${k}=${String(dup[0][k])}`).join(', ');
  throw new Error(
    `${table}: key (${key.join(', ')}) is not unique: ${shown} appears ${String(dup[0].n)} times; dedupe before writing or use mode 'merge'`,
  );
}
