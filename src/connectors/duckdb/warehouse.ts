import {
  closeSync,
  existsSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import type { EpochCommit } from '../../runtime/execute.ts';
import { type QuarantineEntry, quarantineId } from '../../runtime/quarantine.ts';
import { quoteIdent, quoteTable } from './sql-types.ts';

/** napkin's own tables live in these schemas of the warehouse, apart from user datasets. */
export const META_SCHEMA = 'napkin_meta';
export const STAGING_SCHEMA = 'napkin_staging';

/** Where a quarantined record came from: the flow, stage and dataset of the read that refused it. */
export interface QuarantineOrigin {
  readonly runId: string;
  readonly flow: string;
  readonly stage: string;
  readonly dataset: string;
}

/** What the replays of one quarantined record came to (`napkin_meta.quarantine_replays`). */
export interface ReplayRow {
  readonly id: string;
  readonly status: 'open' | 'replayed';
  /** Attempts, the ingestion that quarantined it included. */
  readonly attempts: number;
  /** ISO time of the replay that resolved it. */
  readonly replayedAt: string | null;
  /** The error of the last attempt, when it failed. */
  readonly error: {
    readonly errorClass: string;
    readonly field?: string;
    readonly expected: string;
    readonly found: string;
  } | null;
}

/** The warehouse is in use by a writer (a running flow) and cannot be read now. */
export class WarehouseBusyError extends Error {}

/**
 * The project's DuckDB warehouse: one database file holding published tables, the quarantine and the run log.
 * One connection per process; statements are serialised by DuckDB.
 */
export class Warehouse {
  private constructor(
    readonly path: string,
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
  ) {}

  static async open(path: string): Promise<Warehouse> {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true });
      removeCreationLeftovers(path);
      // An empty file holds nothing: DuckDB made it in place and was killed before writing to it (older napkins).
      if (existsSync(path) && statSync(path).size === 0) {
        rmSync(path);
        process.stderr.write(`napkin: removed ${path}, an empty warehouse file a killed process left; creating it\n`);
      }
      if (!existsSync(path)) await createDatabaseFile(path);
    }
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path);
    } catch (e) {
      throw new Error(
        `cannot open the warehouse ${path}: ${(e as Error).message.split('\n')[0]}; is another napkin process using it?`,
      );
    }
    const w = new Warehouse(path, instance, await instance.connect());
    await w.setup();
    return w;
  }

  /**
   * Opens an existing warehouse for reading only (`napkin status`), changing nothing; undefined when it does not
   * exist yet. Fails while another process writes to it (DuckDB's file lock).
   */
  static async openReadOnly(path: string): Promise<Warehouse | undefined> {
    if (!existsSync(path)) return undefined;
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(path, { access_mode: 'READ_ONLY' });
    } catch (e) {
      throw new WarehouseBusyError(`cannot read the warehouse ${path}: ${(e as Error).message.split('\n')[0]}`);
    }
    return new Warehouse(path, instance, await instance.connect());
  }

  private async setup(): Promise<void> {
    await this.run(`SET TimeZone = 'UTC'`).catch(() => undefined);
    await this.run(`CREATE SCHEMA IF NOT EXISTS ${META_SCHEMA}`);
    await this.run(`CREATE SCHEMA IF NOT EXISTS ${STAGING_SCHEMA}`);
    await this.run(`CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.quarantine (
      run_id VARCHAR NOT NULL, flow VARCHAR NOT NULL, stage VARCHAR NOT NULL, dataset VARCHAR NOT NULL,
      source VARCHAR NOT NULL, line BIGINT, record BIGINT NOT NULL, field VARCHAR, error_class VARCHAR NOT NULL,
      expected VARCHAR NOT NULL, found VARCHAR NOT NULL, raw VARCHAR NOT NULL, raw_encoding VARCHAR NOT NULL,
      quarantined_at TIMESTAMP NOT NULL)`);
    // Replay bookkeeping (napkin quarantine replay): the record's stable id (runtime/quarantine.ts quarantineId) and
    // where its replay stands. Warehouses made before get the columns, and their rows the id, computed the same way.
    await this.run(`ALTER TABLE ${META_SCHEMA}.quarantine ADD COLUMN IF NOT EXISTS id VARCHAR`);
    await this.run(`ALTER TABLE ${META_SCHEMA}.quarantine ADD COLUMN IF NOT EXISTS status VARCHAR DEFAULT 'open'`);
    await this.run(`ALTER TABLE ${META_SCHEMA}.quarantine ADD COLUMN IF NOT EXISTS replayed_at TIMESTAMP`);
    await this.run(`ALTER TABLE ${META_SCHEMA}.quarantine ADD COLUMN IF NOT EXISTS attempts INTEGER DEFAULT 1`);
    await this.run(
      `UPDATE ${META_SCHEMA}.quarantine SET id = substr(sha256(dataset || chr(0) || source || chr(0) ||
       CAST(record AS VARCHAR) || chr(0) || raw), 1, 12) WHERE id IS NULL`,
    );
    // Per dataset and quarantine id, what its replays came to: a projection of the replay markers in the dataset's
    // topic (the truth), rewritten by each replay and run (workspace/quarantine-replay.ts syncReplays).
    await this.run(`CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.quarantine_replays (
      dataset VARCHAR NOT NULL, id VARCHAR NOT NULL, status VARCHAR NOT NULL, attempts INTEGER NOT NULL,
      replayed_at TIMESTAMP, error_class VARCHAR, field VARCHAR, expected VARCHAR, found VARCHAR)`);
    await this.run(`CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.runs (
      run_id VARCHAR NOT NULL, flow VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL,
      status VARCHAR NOT NULL, error VARCHAR, stages JSON NOT NULL)`);
    // Warehouses made before fingerprints were recorded get the column; their old runs show null.
    await this.run(`ALTER TABLE ${META_SCHEMA}.runs ADD COLUMN IF NOT EXISTS fingerprint VARCHAR`);
    // One row per commit key a table sink published (spec reliability §2.4), written in the data's transaction.
    await this.run(`CREATE TABLE IF NOT EXISTS ${META_SCHEMA}.sink_commits (
      flow VARCHAR NOT NULL, sink VARCHAR NOT NULL, "partition" VARCHAR NOT NULL, epoch BIGINT NOT NULL,
      fingerprint VARCHAR NOT NULL, target VARCHAR NOT NULL, rows BIGINT NOT NULL, committed_at TIMESTAMP NOT NULL,
      PRIMARY KEY (flow, sink, "partition", epoch))`);
  }

  /** Whether the commit key of `e` is stored. Inside a sink's transaction, so the answer holds for its commit. */
  async sinkCommitted(e: EpochCommit): Promise<boolean> {
    const r = await this.rows(
      `SELECT count(*) AS n FROM ${META_SCHEMA}.sink_commits
       WHERE flow = $1 AND sink = $2 AND "partition" = $3 AND epoch = $4`,
      [e.flow, e.sink, e.partition, e.epoch],
    );
    return Number(r[0].n) > 0;
  }

  /** Stores the commit key of `e`; call it in the transaction that publishes the epoch's rows. */
  async recordSinkCommit(e: EpochCommit, target: string, rows: number): Promise<void> {
    await this.run(
      `INSERT INTO ${META_SCHEMA}.sink_commits VALUES ($1, $2, $3, $4, $5, $6, $7, current_timestamp::TIMESTAMP)`,
      [e.flow, e.sink, e.partition, e.epoch, e.fingerprint, target, rows],
    );
  }

  async run(sql: string, params?: DuckDBValue[]): Promise<void> {
    await this.connection.run(sql, params);
  }

  async rows(sql: string, params?: DuckDBValue[]): Promise<Record<string, DuckDBValue>[]> {
    const r = await this.connection.runAndReadAll(sql, params);
    return r.getRowObjects();
  }

  async tableExists(table: string): Promise<boolean> {
    const [schema, name] = table.includes('.') ? table.split('.') : ['main', table];
    const r = await this.rows(
      'SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = $1 AND table_name = $2',
      [schema, name],
    );
    return Number(r[0].n) > 0;
  }

  /** Runs `body` in one transaction: everything it writes is published together or not at all. */
  async transaction<T>(body: () => Promise<T>): Promise<T> {
    await this.run('BEGIN TRANSACTION');
    try {
      const out = await body();
      await this.run('COMMIT');
      return out;
    } catch (e) {
      await this.run('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  async ensureSchemaOf(table: string): Promise<void> {
    if (table.includes('.')) await this.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(table.split('.')[0])}`);
  }

  async addQuarantine(origin: QuarantineOrigin, entries: readonly QuarantineEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const appender = await this.connection.createAppender('quarantine', META_SCHEMA);
    const now = new Date().toISOString();
    for (const e of entries) {
      appender.appendVarchar(origin.runId);
      appender.appendVarchar(origin.flow);
      appender.appendVarchar(origin.stage);
      appender.appendVarchar(origin.dataset);
      appender.appendVarchar(e.source);
      if (e.line === undefined) appender.appendNull();
      else appender.appendBigInt(BigInt(e.line));
      appender.appendBigInt(BigInt(e.record));
      if (e.field === undefined) appender.appendNull();
      else appender.appendVarchar(e.field);
      appender.appendVarchar(e.errorClass);
      appender.appendVarchar(e.expected);
      appender.appendVarchar(e.found);
      appender.appendVarchar(e.raw);
      appender.appendVarchar(e.rawEncoding);
      appender.appendVarchar(now);
      appender.appendVarchar(quarantineId(origin.dataset, e));
      appender.appendVarchar('open');
      appender.appendNull();
      appender.appendInteger(1);
      appender.endRow();
    }
    appender.closeSync();
    await this.applyReplays(`q.run_id = $1 AND q.dataset = $2`, [origin.runId, origin.dataset]);
  }

  /**
   * Replaces a dataset's rows of `quarantine_replays` and brings its quarantine rows up to date with them, in one
   * transaction. Does nothing when the dataset has no replay, before and after.
   */
  async replaceReplays(dataset: string, rows: readonly ReplayRow[]): Promise<void> {
    if (rows.length === 0) {
      const had = await this.rows(`SELECT count(*) AS n FROM ${META_SCHEMA}.quarantine_replays WHERE dataset = $1`, [
        dataset,
      ]);
      if (Number(had[0].n) === 0) return;
    }
    await this.transaction(async () => {
      await this.run(`DELETE FROM ${META_SCHEMA}.quarantine_replays WHERE dataset = $1`, [dataset]);
      if (rows.length > 0) {
        const appender = await this.connection.createAppender('quarantine_replays', META_SCHEMA);
        for (const r of rows) {
          appender.appendVarchar(dataset);
          appender.appendVarchar(r.id);
          appender.appendVarchar(r.status);
          appender.appendInteger(r.attempts);
          if (r.replayedAt === null) appender.appendNull();
          else appender.appendVarchar(r.replayedAt);
          for (const v of [r.error?.errorClass, r.error?.field, r.error?.expected, r.error?.found]) {
            if (v === undefined) appender.appendNull();
            else appender.appendVarchar(v);
          }
          appender.endRow();
        }
        appender.closeSync();
      }
      await this.applyReplays('q.dataset = $1', [dataset]);
    });
  }

  /**
   * Brings quarantine rows (those `where` selects, over `q`) up to date with `quarantine_replays`: status, when
   * replayed, attempts, and for a record whose last replay failed, that attempt's error.
   */
  async applyReplays(where: string, params: DuckDBValue[]): Promise<void> {
    await this.run(
      `UPDATE ${META_SCHEMA}.quarantine AS q SET status = r.status, replayed_at = r.replayed_at, attempts = r.attempts,
         error_class = CASE WHEN r.status = 'open' AND r.error_class IS NOT NULL THEN r.error_class ELSE q.error_class END,
         field = CASE WHEN r.status = 'open' AND r.error_class IS NOT NULL THEN r.field ELSE q.field END,
         expected = CASE WHEN r.status = 'open' AND r.error_class IS NOT NULL THEN r.expected ELSE q.expected END,
         found = CASE WHEN r.status = 'open' AND r.error_class IS NOT NULL THEN r.found ELSE q.found END
       FROM ${META_SCHEMA}.quarantine_replays AS r
       WHERE r.dataset = q.dataset AND r.id = q.id AND ${where}`,
      params,
    );
  }

  async dropTable(table: string): Promise<void> {
    await this.run(`DROP TABLE IF EXISTS ${quoteTable(table)}`);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}

/**
 * Creates an empty warehouse file at `path`, whole or not at all. DuckDB creates a new database file in place, and a
 * process killed before DuckDB wrote its headers leaves a file DuckDB then refuses for good ("not a valid DuckDB
 * database file"). So it is made under a temporary name of this process (`.<file>.<pid>.tmp`), checkpointed, closed
 * and fsynced, then linked to its name: the link fails when another process created the warehouse meanwhile, and that
 * one is kept.
 */
async function createDatabaseFile(path: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
  const instance = await DuckDBInstance.create(tmp);
  try {
    const connection = await instance.connect();
    try {
      await connection.run('CHECKPOINT');
    } finally {
      connection.closeSync();
    }
  } finally {
    instance.closeSync();
  }
  fsyncPath(tmp);
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  rmSync(tmp, { force: true });
  rmSync(`${tmp}.wal`, { force: true });
  fsyncPath(dirname(path));
}

/**
 * Removes the temporary files of {@link createDatabaseFile} that processes which are gone left beside `path` (killed
 * while creating the warehouse, or after linking it and before removing the temporary name), saying so on stderr.
 */
function removeCreationLeftovers(path: string): void {
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    const m = name.startsWith(prefix) ? /^(\d+)\.tmp(?:\.wal)?$/.exec(name.slice(prefix.length)) : null;
    if (m === null || alive(Number(m[1]))) continue;
    rmSync(join(dirname(path), name), { force: true });
    process.stderr.write(
      `napkin: removed ${join(dirname(path), name)}, the temporary warehouse file of a process that was killed while creating ${path}\n`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
