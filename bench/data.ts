import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

/** The twenty country codes rows are spread over (uniformly, by a hash of the event id). */
export const COUNTRIES = [
  'DE',
  'FR',
  'GB',
  'IT',
  'ES',
  'NL',
  'BE',
  'AT',
  'CH',
  'PL',
  'SE',
  'NO',
  'DK',
  'FI',
  'IE',
  'PT',
  'CZ',
  'US',
  'CA',
  'JP',
];

/** Status symbols; 70% of rows are 'ok'. */
export const STATUSES = ['ok', 'failed', 'pending', 'refunded'];

export interface BenchData {
  readonly rows: number;
  readonly csv: string;
  readonly parquet: string;
}

/**
 * The events table as a SELECT over `range(rows)`. Values derive from hashes of the row number, so every run (and
 * every machine) generates the same file for the same row count. Timestamps rise through 2024 with a little jitter,
 * as in an append-only event log; amounts are 0.00–999.99.
 */
function eventsSql(rows: number): string {
  const countries = `[${COUNTRIES.map((c) => `'${c}'`).join(', ')}]`;
  const stepMs = Math.floor((366 * 86_400_000) / rows);
  return `SELECT
      range AS event_id,
      CAST(hash(range, 1) % 1000000 AS BIGINT) AS user_id,
      ${countries}[CAST(hash(range, 2) % 20 AS INTEGER) + 1] AS country,
      CAST(CAST(hash(range, 3) % 100000 AS DECIMAL(12,0)) / 100 AS DECIMAL(10,2)) AS amount,
      CASE WHEN hash(range, 4) % 10 < 7 THEN 'ok' WHEN hash(range, 4) % 10 = 7 THEN 'failed'
           WHEN hash(range, 4) % 10 = 8 THEN 'pending' ELSE 'refunded' END AS status,
      make_timestamp(1704067200000000 + (range * ${stepMs} + CAST(hash(range, 5) % 1000 AS BIGINT)) * 1000) AS ts
    FROM range(${rows})`;
}

/**
 * Generates the CSV and Parquet files for `rows` rows under `dir`, once: later runs reuse them. Files are written
 * under a temporary name and renamed, so an interrupted generation is never mistaken for a finished one. CSV
 * timestamps are written as ISO 8601 with `Z`, the form napkin's contract reader requires (a zone names an instant).
 */
export async function ensureData(dir: string, rows: number, log: (s: string) => void): Promise<BenchData> {
  mkdirSync(dir, { recursive: true });
  const csv = join(dir, `events-${rows}.csv`);
  const parquet = join(dir, `events-${rows}.parquet`);
  if (existsSync(csv) && existsSync(parquet)) return { rows, csv, parquet };
  log(`generating ${rows.toLocaleString('en')} rows under ${dir} (once; cached)`);
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    await con.run(`SET TimeZone = 'UTC'`);
    await con.run(`CREATE TABLE events AS ${eventsSql(rows)}`);
    if (!existsSync(parquet)) {
      const tmp = `${parquet}.tmp`;
      rmSync(tmp, { force: true });
      await con.run(`COPY events TO '${tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
      renameSync(tmp, parquet);
    }
    if (!existsSync(csv)) {
      const tmp = `${csv}.tmp`;
      rmSync(tmp, { force: true });
      await con.run(`COPY (SELECT event_id, user_id, country, amount, status,
            strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS ts FROM events ORDER BY event_id)
          TO '${tmp}' (FORMAT csv, HEADER true)`);
      renameSync(tmp, csv);
    }
  } finally {
    con.closeSync();
    db.closeSync();
  }
  return { rows, csv, parquet };
}

/** Event time covered by the windowed bench's input, whatever its size: 200 s is 100 window starts of 2 s. */
export const WINDOW_SPAN_MS = 200_000;

/** One key per thousand events (10,000 keys for 10M), so every key has events in every 10 s window. */
export function windowKeys(rows: number): number {
  return Math.max(1, Math.round(rows / 1000));
}

/**
 * The windowed bench's input as a SELECT: `key` spread by a hash of the event id, `ts` rising evenly over
 * {@link WINDOW_SPAN_MS} from 2024-01-01 plus up to 500 ms of jitter, so the log is nearly but not exactly in order.
 */
function windowEventsSql(rows: number): string {
  return `SELECT
      range AS event_id,
      'k' || CAST(hash(range, 7) % ${windowKeys(rows)} AS VARCHAR) AS key,
      make_timestamp(1704067200000000 + (CAST(range * ${WINDOW_SPAN_MS} // ${rows} AS BIGINT)
        + CAST(hash(range, 8) % 500 AS BIGINT)) * 1000) AS ts
    FROM range(${rows})`;
}

/** Generates `.bench/data/window-events-N.parquet` once, like {@link ensureData}; returns its path. */
export async function ensureWindowData(dir: string, rows: number, log: (s: string) => void): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const parquet = join(dir, `window-events-${rows}.parquet`);
  if (existsSync(parquet)) return parquet;
  log(`generating ${rows.toLocaleString('en')} windowed-bench events under ${dir} (once; cached)`);
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    await con.run(`SET TimeZone = 'UTC'`);
    const tmp = `${parquet}.tmp`;
    rmSync(tmp, { force: true });
    await con.run(
      `COPY (${windowEventsSql(rows)}) TO '${tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`,
    );
    renameSync(tmp, parquet);
  } finally {
    con.closeSync();
    db.closeSync();
  }
  return parquet;
}
