import type { Schema } from '../../expr/types.ts';
import type { SinkWriter } from '../../runtime/execute.ts';
import { publishFile, tempPathFor } from '../files/atomic.ts';
import { reorderTo } from '../reorder.ts';
import { quoteString } from './sql-types.ts';
import { StagingTable } from './staging.ts';
import type { Warehouse } from './warehouse.ts';

/**
 * Writes a dataset to one Parquet file through DuckDB: rows are staged, `COPY` writes a temporary file next to the
 * target, and commit fsyncs and renames it into place, so readers never see a half-written file.
 */
export async function openParquetSink(
  w: Warehouse,
  o: { readonly path: string; readonly display: string; readonly contract: Schema; readonly input: Schema },
): Promise<SinkWriter> {
  const staging = await StagingTable.create(w, o.contract);
  const reorder = reorderTo(o.input, o.contract);
  const tmp = tempPathFor(o.path);
  return {
    write(batch) {
      staging.append(reorder(batch));
    },
    async commit() {
      staging.finish();
      await w.run(
        `COPY (SELECT ${staging.selectList()} FROM ${staging.table}) TO ${quoteString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      await publishFile(tmp, o.path);
      await staging.drop();
      return `parquet ${o.display} (${staging.rows} rows)`;
    },
    async abort() {
      await staging.drop();
      await import('node:fs/promises').then((fs) => fs.rm(tmp, { force: true }));
    },
  };
}
