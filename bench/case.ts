/**
 * One measured case, run by bench/run.ts in a fresh process so that its peak RSS and CPU time are its own:
 *
 *   node --import tsx bench/case.ts napkin <csv|parquet|window> <projectDir>
 *   node --import tsx bench/case.ts duckdb <csv|parquet|window> <inputFile> <dbFile> [napkinWarehouse]
 *
 * `window` is the sliding-window count over the windowed bench's Parquet file; the others the filter-project-aggregate
 * flow over the events file in that format.
 *
 * Prints one JSON `Measurement` on stdout. The duckdb case, given napkin's warehouse, then compares the two results
 * (outside the measured section).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { openWorkspace, runProject } from '../src/index.ts';
import { measure } from './measure.ts';
import { duckdbSql, FLOWS, type Format, TABLES, WINDOW_FLOW, WINDOW_TABLE, windowDuckdbSql } from './project.ts';

type CaseName = Format | 'window';

async function napkinCase(name: CaseName, projectDir: string): Promise<void> {
  rmSync(join(projectDir, 'warehouse.duckdb'), { force: true });
  rmSync(join(projectDir, 'warehouse.duckdb.wal'), { force: true });
  const ws = await openWorkspace(projectDir);
  const m = await measure(async () => {
    const [result] = await runProject(ws, { flows: [name === 'window' ? WINDOW_FLOW : FLOWS[name]] });
    const stages = Object.fromEntries(
      result.stages.map((s) => [s.stage.id, { in: s.metrics.in, out: s.metrics.out, ms: Math.round(s.metrics.ms) }]),
    );
    return { stages };
  });
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

/**
 * Compares DuckDB's sliding-window counts with napkin's, every (key, window start) both ways: napkin must have the
 * same windows with the same counts, each as one final ON_TIME pane (a bounded input fires every window once).
 */
async function compareWindows(con: DuckDBConnection): Promise<Record<string, unknown>> {
  const r = await con.runAndReadAll(`SELECT
      (SELECT count(*) FROM window_counts) AS windows,
      (SELECT count(*) FROM nap.${WINDOW_TABLE}) AS napkin_rows,
      (SELECT count(*) FROM nap.${WINDOW_TABLE}
        WHERE pane_timing <> 'ON_TIME' OR NOT pane_is_last OR pane_index <> 0
          OR epoch_ms(window_end) - epoch_ms(window_start) <> 10000) AS odd_panes,
      (SELECT count(*) FROM window_counts d FULL JOIN
        (SELECT key, epoch_ms(window_start) AS window_start, n FROM nap.${WINDOW_TABLE}) n
        USING (key, window_start) WHERE d.n IS DISTINCT FROM n.n) AS differ`);
  const row = r.getRowObjectsJson()[0];
  const windows = Number(row.windows);
  const ok =
    windows > 0 && Number(row.napkin_rows) === windows && Number(row.odd_panes) === 0 && Number(row.differ) === 0;
  return { resultsMatch: ok, comparison: row };
}

async function duckdbCase(name: CaseName, file: string, dbFile: string, napkinWarehouse?: string): Promise<void> {
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  const db = await DuckDBInstance.create(dbFile);
  const con = await db.connect();
  await con.run(`SET TimeZone = 'UTC'`);
  const m = await measure(async () => {
    await con.run(name === 'window' ? windowDuckdbSql(file) : duckdbSql(name, file));
    await con.run('CHECKPOINT');
    return undefined;
  });
  let detail: Record<string, unknown> = {};
  if (napkinWarehouse !== undefined) {
    await con.run(`ATTACH '${napkinWarehouse}' AS nap (READ_ONLY)`);
    if (name === 'window') detail = await compareWindows(con);
  }
  if (napkinWarehouse !== undefined && name !== 'window') {
    const format = name;
    const r = await con.runAndReadAll(`SELECT
        (SELECT count(*) FROM daily) AS groups,
        (SELECT count(*) FROM nap.${TABLES[format]}) AS napkin_groups,
        count(*) AS matched,
        count(*) FILTER (WHERE d.events <> n.events) AS events_differ,
        max(abs(d.revenue_eur - n.revenue_eur) / greatest(abs(d.revenue_eur), 1)) AS revenue_rel_err,
        max(abs(d.avg_eur - n.avg_eur) / greatest(abs(d.avg_eur), 1)) AS avg_rel_err,
        max(abs(d.max_eur - n.max_eur)) AS max_abs_err
      FROM daily d JOIN nap.${TABLES[format]} n USING (country, day)`);
    const row = r.getRowObjectsJson()[0];
    const groups = Number(row.groups);
    const ok =
      groups > 0 &&
      Number(row.napkin_groups) === groups &&
      Number(row.matched) === groups &&
      Number(row.events_differ) === 0 &&
      Number(row.revenue_rel_err) < 1e-9 &&
      Number(row.avg_rel_err) < 1e-9 &&
      Number(row.max_abs_err) < 1e-9;
    detail = { resultsMatch: ok, comparison: row };
  }
  con.closeSync();
  db.closeSync();
  process.stdout.write(`${JSON.stringify({ ...m, detail })}\n`);
}

const [engine, format, ...rest] = process.argv.slice(2);
if ((format !== 'csv' && format !== 'parquet' && format !== 'window') || (engine !== 'napkin' && engine !== 'duckdb')) {
  throw new Error('usage: case.ts napkin|duckdb csv|parquet|window ...');
}
if (engine === 'napkin') await napkinCase(format, rest[0]);
else await duckdbCase(format, rest[0], rest[1], rest[2]);
