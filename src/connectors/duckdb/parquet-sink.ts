import { rm } from 'node:fs/promises';
import type { Schema } from '../../expr/types.ts';
import type { SinkWriter } from '../../runtime/execute.ts';
import { tempPathFor } from '../files/atomic.ts';
import { type BuiltFile, type CommittedPrefix, checkFileEpoch, commitFileEpoch } from '../files/sink-manifest.ts';
import { reorderTo } from '../reorder.ts';
import { duckType, quoteIdent, quoteString } from './sql-types.ts';
import { EpochStaging, type StagingOwner, type StagingTable } from './staging.ts';
import type { Warehouse } from './warehouse.ts';

interface ParquetSinkOptions {
  readonly path: string;
  readonly display: string;
  readonly contract: Schema;
  readonly input: Schema;
  /** The flow and sink stage writing, which name its staging tables (see `dropLeftoverStaging`). */
  readonly owner?: StagingOwner;
}

/**
 * Writes a dataset to one Parquet file through DuckDB: each epoch's rows are staged, `COPY` writes a temporary file
 * next to the target, and commit fsyncs and renames it into place, so readers never see a half-written file, then
 * records the commit key in the sink manifest (see `commitFileEpoch`). A fresh epoch's file holds its rows alone; a
 * later epoch's holds the committed rows of the current file, then its own.
 */
export async function openParquetSink(w: Warehouse, o: ParquetSinkOptions): Promise<SinkWriter> {
  const staging = new EpochStaging(w, o.contract, o.owner);
  const reorder = reorderTo(o.input, o.contract);
  return {
    write(batch) {
      staging.append(reorder(batch));
    },
    prepare(e) {
      return checkFileEpoch(o.path, e);
    },
    async commit(e) {
      try {
        const table = await staging.finish();
        const done = await commitFileEpoch(o.path, e, (prefix) => writeParquet(w, o, table, prefix));
        if (!done.committed) return `parquet ${o.display} (epoch ${e?.epoch} already committed)`;
        return `parquet ${o.display} (${done.rows} rows)`;
      } finally {
        await staging.reset();
      }
    },
    async abort() {
      await staging.reset();
    },
  };
}

async function writeParquet(
  w: Warehouse,
  o: ParquetSinkOptions,
  staging: StagingTable,
  prefix: CommittedPrefix | undefined,
): Promise<BuiltFile> {
  const rows = `SELECT ${staging.selectList()} FROM ${staging.table}`;
  const query = prefix === undefined ? rows : await afterPrefix(w, o, staging, prefix.rows);
  const tmp = tempPathFor(o.path);
  try {
    await w.run(`COPY (${query}) TO ${quoteString(tmp)} (FORMAT parquet, COMPRESSION zstd)`);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  return { path: tmp, rows: (prefix?.rows ?? 0) + staging.rows };
}

/**
 * The first `committed` rows of the current file, in file order, then the staged rows. Rows past `committed` were
 * left by an interrupted commit of this same epoch and are rebuilt from the staging, not kept.
 */
async function afterPrefix(
  w: Warehouse,
  o: ParquetSinkOptions,
  staging: StagingTable,
  committed: number,
): Promise<string> {
  const file = quoteString(o.path);
  const found = await w
    .rows(`SELECT count(*) AS n FROM read_parquet(${file})`)
    .then((r) => Number(r[0].n))
    .catch(() => undefined);
  if (found === undefined || found < committed) {
    throw new Error(
      `${o.path}: the sink manifest commits its first ${committed} rows but the file has ${found ?? 'none'}; the ` +
        'committed data is damaged: restore the file, or delete it and its manifest and rerun the flow',
    );
  }
  const fields = o.contract.fields;
  const names = fields.map((f) => quoteIdent(f.name)).join(', ');
  const kept = fields.map((f) => `CAST(${quoteIdent(f.name)} AS ${duckType(f.type)}) AS ${quoteIdent(f.name)}`);
  return `SELECT ${names} FROM (
    SELECT ${kept.join(', ')}, 0 AS napkin_part, file_row_number AS napkin_row
      FROM read_parquet(${file}, file_row_number = true) WHERE file_row_number < ${committed}
    UNION ALL
    SELECT ${staging.selectList()}, 1, rowid FROM ${staging.table}
  ) ORDER BY napkin_part, napkin_row`;
}
