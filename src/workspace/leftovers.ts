import { isAbsolute, join } from 'node:path';
import { dropLeftoverStaging } from '../connectors/duckdb/staging.ts';
import type { Warehouse } from '../connectors/duckdb/warehouse.ts';
import { removeSinkTemporaries } from '../connectors/files/sink-manifest.ts';
import type { BoundFlow } from '../plan/bind.ts';
import type { EpochStore } from './epochs.ts';
import { storageOf } from './flow-io.ts';
import { removeLockTemporaries } from './flow-lock.ts';

/**
 * Removes what killed runs of a flow left behind (spec reliability §2.2, §3 check 5) and says so, one line per thing
 * removed: the temporary files of its file sinks (a data file being built, a manifest being written), the staging
 * tables of its warehouse sinks, temporary epoch records and the flow lock's temporary files. None of them was ever
 * committed: a file exists under its final name only once renamed, and a staging table's rows only count once
 * published. Call it at the start of a run, holding the flow's lock, so no other process can own any of them.
 */
export async function removeLeftovers(
  root: string,
  stateDir: string,
  warehouse: Warehouse,
  b: BoundFlow,
  store: EpochStore,
  say: (line: string) => void,
): Promise<void> {
  const flow = b.flow.name;
  const left = (what: string) => say(`napkin: flow ${flow}: removed ${what}, left by a run that was killed`);
  for (const path of removeLockTemporaries(stateDir, flow)) left(`the flow lock's temporary file ${path}`);
  for (const path of await store.removeTemporaries()) left(`the temporary epoch record ${path}`);
  for (const s of b.stages) {
    if (s.kind !== 'sink' || s.dataset === undefined) continue;
    const st = storageOf(s.dataset);
    if (st.kind === 'csv' || st.kind === 'jsonl' || st.kind === 'parquet') {
      const target = isAbsolute(st.path) ? st.path : join(root, st.path);
      for (const path of await removeSinkTemporaries(target)) left(`sink ${s.id}'s temporary file ${path}`);
    }
    if (st.kind === 'duckdb' || st.kind === 'parquet') {
      for (const table of await dropLeftoverStaging(warehouse, { flow, sink: s.id }))
        left(`sink ${s.id}'s staging table ${table} from the warehouse`);
    }
  }
}
