import type { Schema } from '../../expr/types.ts';
import type { WriteMode } from '../../flow/flow.ts';
import type { Batch } from '../../runtime/batch.ts';
import type { EpochCommit, SinkWriter } from '../../runtime/execute.ts';
import { reorderTo } from '../reorder.ts';
import { connectPg, type PgConnection, type PgConnectOptions, pgFailure } from './connection.ts';
import { PgEpochSink } from './epoch-sink.ts';
import { assignPartition, FencedError, type FenceToken } from './fence.ts';
import type { StagingWriter } from './staging-writer.ts';

export interface PostgresSinkOptions {
  /** `env:NAME`; resolved when the sink connects. */
  readonly connection: string;
  readonly table: string;
  readonly contract: Schema;
  readonly key: readonly string[];
  readonly mode: WriteMode;
  /** The schema of the batches the sink receives (the upstream stage's output). */
  readonly input: Schema;
  readonly flow: string;
  /** The sink stage's id: part of the commit key. */
  readonly sink: string;
  readonly fingerprint: string;
  /** Default '0': today's runs are one partition. */
  readonly partition?: string;
  /**
   * The token a coordinator assigned. Without one the sink assigns the partition itself (embedded mode: the process
   * is its own coordinator), raising the ownership epoch in the fence row.
   */
  readonly token?: FenceToken;
  readonly connect?: PgConnectOptions;
}

/**
 * The PostgreSQL sink as the runtime sees it. At open it takes its partition (raising its ownership epoch in its own
 * fence row, as the coordinator would, so an older run of this sink still writing is fenced; the flow's other sinks
 * have fence rows of their own) and discards what a crashed earlier run left staged (its
 * input is read again, spec §2.3). Each epoch's rows stream into staging as they come; `commit(e)` pre-commits them
 * and commits epoch `e.epoch` (without one, the epoch after the last committed). A `replace` sink replaces the
 * table's rows with a fresh epoch's and appends a later epoch's. Between epochs it holds no connection, so a run
 * that ends after its last commit leaves nothing open.
 */
export async function openPostgresSink(o: PostgresSinkOptions): Promise<SinkWriter> {
  const conn = connectPg(o.connection, o.connect);
  const partition = o.partition ?? '0';
  const retractions =
    o.mode === 'merge' && o.input.fields.some((f) => f.name === 'retraction' && f.type.kind === 'bool');
  let sink: PgEpochSink;
  try {
    sink = await PgEpochSink.open(conn, {
      table: o.table,
      contract: o.contract,
      key: o.key,
      mode: o.mode,
      retractions,
      flow: o.flow,
      sink: o.sink,
      partition,
    });
  } catch (e) {
    await conn.sql.end({ timeout: 5 });
    throw e;
  }
  try {
    const token = o.token ?? (await assignPartition(conn.sql, sink.fence, o.fingerprint));
    for (const p of await sink.pending()) await sink.recover(p.epoch, token, 'discard');
    const next = ((await sink.committedEpoch()) ?? 0) + 1;
    return new PgSinkWriter(o, sink, token, next, conn);
  } catch (e) {
    await conn.sql.end({ timeout: 5 });
    if (e instanceof FencedError) throw e;
    throw pgFailure(`postgres sink ${o.table} (${conn.reference}): taking partition ${partition} failed`, e, conn);
  }
}

/** The epoch being written: its connection, its staging, and how far its pre-commit got. */
class OpenEpoch {
  /** The epoch the rows commit as: `expected` until the commit names it (see `PgEpochSink.stage`). */
  epoch: number;
  state: 'open' | 'staged' = 'open';
  readonly staging: StagingWriter;

  constructor(
    readonly conn: PgConnection,
    readonly sink: PgEpochSink,
    readonly expected: number,
    token: FenceToken,
  ) {
    this.epoch = expected;
    this.staging = sink.stage(expected, token, () => this.epoch);
  }
}

class PgSinkWriter implements SinkWriter {
  private current: OpenEpoch | undefined;
  /** Set once a write was refused: the writer never writes again, not even to clean up. */
  private fenced: FencedError | undefined;
  private readonly reorder: (b: Batch) => Batch;

  constructor(
    private readonly o: PostgresSinkOptions,
    private readonly sink: PgEpochSink,
    private readonly token: FenceToken,
    /** The epoch the next one is expected to be: the one after the last committed. */
    private next: number,
    /** The connection the sink was opened on, kept for the first epoch. */
    private spare: PgConnection | undefined,
  ) {
    this.reorder = reorderTo(o.input, sink.staged);
  }

  write(batch: Batch): void {
    const e = this.epoch();
    try {
      e.staging.write(this.reorder(batch));
    } catch (err) {
      throw pgFailure(`postgres sink ${this.o.table} (epoch ${e.expected}): write failed`, err, e.conn);
    }
  }

  async commit(epoch?: EpochCommit): Promise<string> {
    const e = this.epoch();
    e.epoch = epoch?.epoch ?? e.expected;
    // A replace sink's later epochs add to what the first one published.
    const mode = this.o.mode === 'replace' && epoch?.fresh === false ? 'append' : this.o.mode;
    try {
      const rows = await e.staging.preCommit();
      e.state = 'staged';
      const settled = await e.sink.commit(e.epoch, this.token, mode);
      this.next = e.epoch + 1;
      await this.close();
      if (settled === 'already-committed') return `postgres ${this.o.table} (epoch ${e.epoch} already committed)`;
      return `postgres ${this.o.table} (${rows} rows, ${this.o.mode}, epoch ${e.epoch})`;
    } catch (err) {
      // A fenced writer must not write again, not even to clean up: the new owner discards what it staged.
      if (err instanceof FencedError) {
        this.fenced = err;
        await this.close();
      }
      if (err instanceof FencedError || e.state === 'staged') throw err;
      throw pgFailure(`postgres sink ${this.o.table} (epoch ${e.epoch}): pre-commit failed`, err, e.conn);
    }
  }

  async abort(): Promise<void> {
    const e = this.current;
    try {
      if (e === undefined || this.fenced !== undefined) return;
      if (e.state === 'open') await e.staging.abort();
      // Staged, outcome of the commit unknown: if it did commit, the key is there and this changes nothing.
      else await e.sink.recover(e.epoch, this.token, 'discard');
    } catch (err) {
      if (!(err instanceof FencedError)) throw err;
      this.fenced = err;
    } finally {
      await this.close();
    }
  }

  /** The epoch being written, started (and connected) at its first write or its commit. */
  private epoch(): OpenEpoch {
    if (this.fenced !== undefined) throw this.fenced;
    if (this.current !== undefined) return this.current;
    const conn = this.spare ?? connectPg(this.o.connection, this.o.connect);
    this.spare = undefined;
    this.current = new OpenEpoch(conn, this.sink.on(conn), this.next, this.token);
    return this.current;
  }

  /** Ends the epoch's connection (or the unused one from open). */
  private async close(): Promise<void> {
    const conn = this.current?.conn ?? this.spare;
    this.current = undefined;
    this.spare = undefined;
    await conn?.sql.end({ timeout: 5 });
  }
}
