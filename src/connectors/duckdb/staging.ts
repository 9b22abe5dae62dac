import { createHash, randomUUID } from 'node:crypto';
import {
  BIGINT,
  BOOLEAN,
  DOUBLE,
  type DuckDBAppender,
  DuckDBDataChunk,
  type DuckDBType,
  INTEGER,
  VARCHAR,
} from '@duckdb/node-api';
import type { Field, Schema } from '../../expr/types.ts';
import type { Batch } from '../../runtime/batch.ts';
import { fromTransport, quoteIdent, type TransportType, transportType } from './sql-types.ts';
import { vectorOf, WriteScratch, writeColumn } from './vectors.ts';
import { STAGING_SCHEMA, type Warehouse } from './warehouse.ts';

const TYPES: Readonly<Record<TransportType, DuckDBType>> = { VARCHAR, BIGINT, DOUBLE, BOOLEAN, INTEGER };
/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

/** The sink a staging table belongs to: its name carries a tag of it, so what a killed run left can be found. */
export interface StagingOwner {
  readonly flow: string;
  /** The sink stage's id. */
  readonly sink: string;
}

/** `stage_<16 hex of SHA-256 of flow and sink>_`, or `stage_` for a sink of no flow (tests, one-off writes). */
function prefixOf(owner: StagingOwner | undefined): string {
  if (owner === undefined) return 'stage_';
  return `stage_${createHash('sha256').update(`${owner.flow}\0${owner.sink}`).digest('hex').slice(0, 16)}_`;
}

/**
 * Drops the staging tables of `owner` left in the warehouse (a run killed between staging an epoch and publishing
 * or aborting it); returns their qualified names. Call it only while no run of the flow can be writing (its lock
 * held): a live run's table would go too.
 */
export async function dropLeftoverStaging(w: Warehouse, owner: StagingOwner): Promise<string[]> {
  const found = await w.rows(
    `SELECT table_name FROM information_schema.tables
     WHERE table_catalog = current_database() AND table_schema = $1 AND starts_with(table_name, $2)
     ORDER BY table_name`,
    [STAGING_SCHEMA, prefixOf(owner)],
  );
  const dropped: string[] = [];
  for (const r of found) {
    const table = `${STAGING_SCHEMA}.${quoteIdent(String(r.table_name))}`;
    await w.run(`DROP TABLE IF EXISTS ${table}`);
    dropped.push(`${STAGING_SCHEMA}.${String(r.table_name)}`);
  }
  return dropped;
}

/**
 * A staging table that a sink appends batches to, a data chunk (2,048 rows) per native call. Nothing in it is
 * visible to readers of the dataset until the sink publishes it with one `INSERT … SELECT` or `COPY`.
 */
export class StagingTable {
  private readonly transports: TransportType[];
  private readonly chunk: DuckDBDataChunk;
  private readonly scratch = new WriteScratch(CHUNK_ROWS);
  private closed = false;
  rows = 0;

  private constructor(
    readonly warehouse: Warehouse,
    readonly name: string,
    readonly fields: readonly Field[],
    private readonly appender: DuckDBAppender,
  ) {
    this.transports = fields.map((f) => transportType(f.type));
    this.chunk = DuckDBDataChunk.create(this.transports.map((t) => TYPES[t]));
  }

  static async create(warehouse: Warehouse, schema: Schema, owner?: StagingOwner): Promise<StagingTable> {
    const name = `${prefixOf(owner)}${randomUUID().replaceAll('-', '')}`;
    const cols = schema.fields.map((f) => `${quoteIdent(f.name)} ${transportType(f.type)}`).join(', ');
    await warehouse.run(`CREATE TABLE ${STAGING_SCHEMA}.${name} (${cols})`);
    const appender = await warehouse.connection.createAppender(name, STAGING_SCHEMA);
    return new StagingTable(warehouse, name, schema.fields, appender);
  }

  /** The table's qualified name, for SQL. */
  get table(): string {
    return `${STAGING_SCHEMA}.${this.name}`;
  }

  /**
   * Appends a batch whose columns follow `fields` (the sink reorders before calling). Each column is written into the
   * chunk's vector as one typed array and a validity mask (see `writeColumn`): no DuckDB value object or `BigInt` per
   * value.
   */
  append(batch: Batch): void {
    for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
      const n = Math.min(CHUNK_ROWS, batch.length - start);
      this.chunk.reset();
      this.chunk.rowCount = n;
      for (let c = 0; c < this.fields.length; c++) {
        writeColumn(vectorOf(this.chunk, c), this.transports[c], batch.columns[c], start, n, this.scratch);
      }
      this.appender.appendDataChunk(this.chunk);
    }
    this.rows += batch.length;
  }

  /** Flushes appended rows so SQL can read them. */
  finish(): void {
    if (this.closed) return;
    this.appender.closeSync();
    this.closed = true;
  }

  /** `SELECT` list converting staged columns to their declared types. */
  selectList(): string {
    return this.fields.map((f) => `${fromTransport(f.name, f.type)} AS ${quoteIdent(f.name)}`).join(', ');
  }

  async drop(): Promise<void> {
    if (!this.closed) {
      this.appender.clear();
      this.finish();
    }
    await this.warehouse.run(`DROP TABLE IF EXISTS ${this.table}`);
  }
}

/**
 * A sink's staging across epochs: one {@link StagingTable} per epoch, created at the epoch's first write (or its
 * commit) and dropped once the epoch is published or aborted, so nothing stays in the warehouse between epochs or
 * after the run. Creating a table is asynchronous and writes are not: batches written meanwhile wait in memory, and a
 * failure to stage them is thrown by the next write or by `finish`.
 */
export class EpochStaging {
  private table: StagingTable | undefined;
  private opening: Promise<StagingTable> | undefined;
  private queued: Batch[] = [];
  private failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly warehouse: Warehouse,
    private readonly schema: Schema,
    private readonly owner?: StagingOwner,
  ) {}

  append(batch: Batch): void {
    if (this.failure !== undefined) throw this.failure.error;
    if (this.table !== undefined) {
      this.table.append(batch);
      return;
    }
    this.queued.push(batch);
    void this.open();
  }

  /** The epoch's staging table, every written row flushed, for publishing. */
  async finish(): Promise<StagingTable> {
    const t = await this.open();
    if (this.failure !== undefined) throw this.failure.error;
    t.finish();
    return t;
  }

  /** Drops the epoch's staging table; the next write starts the next epoch's. */
  async reset(): Promise<void> {
    const opening = this.opening;
    this.opening = undefined;
    this.table = undefined;
    this.queued = [];
    this.failure = undefined;
    const t = await opening?.catch(() => undefined);
    await t?.drop();
  }

  private open(): Promise<StagingTable> {
    if (this.opening !== undefined) return this.opening;
    const opening = StagingTable.create(this.warehouse, this.schema, this.owner).then((t) => {
      // Only if this epoch was not reset while the table was being created; a reset drops it.
      if (this.opening === opening) this.flushInto(t);
      return t;
    });
    opening.catch((error: unknown) => {
      if (this.opening === opening) this.failure ??= { error };
    });
    this.opening = opening;
    return opening;
  }

  private flushInto(t: StagingTable): void {
    this.table = t;
    try {
      for (const b of this.queued) t.append(b);
    } catch (error) {
      this.failure ??= { error };
    }
    this.queued = [];
  }
}
