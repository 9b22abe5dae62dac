/**
 * One measured case, run by bench/run.ts in a fresh process so that its peak RSS and CPU time are its own:
 *
 *   node --import tsx bench/case.ts napkin <csv|parquet> <projectDir>
 *   node --import tsx bench/case.ts duckdb <csv|parquet> <inputFile> <dbFile> [napkinWarehouse]
 *
 * Prints one JSON `Measurement` on stdout. The duckdb case, given napkin's warehouse, then compares the two results
 * (outside the measured section).
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { openWorkspace, runProject } from '../src/index.ts';
import { measure } from './measure.ts';
import { duckdbSql, FLOWS, type Format, TABLES } from './project.ts';

async function napkinCase(format: Format, projectDir: string): Promise<void> {
  rmSync(join(projectDir, 'warehouse.duckdb'), { force: true });
  rmSync(join(projectDir, 'warehouse.duckdb.wal'), { force: true });
  const ws = await openWorkspace(projectDir);
  const m = await measure(async () => {
    const [result] = await runProject(ws, { flows: [FLOWS[format]] });
    const stages = Object.fromEntries(
      result.stages.map((s) => [s.stage.id, { in: s.metrics.in, out: s.metrics.out, ms: Math.round(s.metrics.ms) }]),
    );
    return { stages };
  });
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

async function duckdbCase(format: Format, file: string, dbFile: string, napkinWarehouse?: string): Promise<void> {
  rmSync(dbFile, { force: true });
  rmSync(`${dbFile}.wal`, { force: true });
  const db = await DuckDBInstance.create(dbFile);
  const con = await db.connect();
  await con.run(`SET TimeZone = 'UTC'`);
  const m = await measure(async () => {
    await con.run(duckdbSql(format, file));
    await con.run('CHECKPOINT');
    return undefined;
  });
  let detail: Record<string, unknown> = {};
  if (napkinWarehouse !== undefined) {
    await con.run(`ATTACH '${napkinWarehouse}' AS nap (READ_ONLY)`);
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
if ((format !== 'csv' && format !== 'parquet') || (engine !== 'napkin' && engine !== 'duckdb')) {
  throw new Error('usage: case.ts napkin|duckdb csv|parquet ...');
}
if (engine === 'napkin') await napkinCase(format, rest[0]);
else await duckdbCase(format, rest[0], rest[1], rest[2]);
