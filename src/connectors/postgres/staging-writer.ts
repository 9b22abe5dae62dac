import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type postgres from 'postgres';
import type { Batch } from '../../runtime/batch.ts';
import { crashPoint } from '../crash-point.ts';
import type { Pg } from './connection.ts';
import { type CellEncoder, encodeRows } from './copy-text.ts';
import type { Fragment } from './identifiers.ts';

/** What the staging transaction needs from its sink. */
export interface StagingPlan {
  readonly sql: Pg;
  /** The staging table (`napkin.stage_…`). */
  readonly stage: string;
  /** `napkin_txn, napkin_seq, <staged columns>`, for the COPY column list. */
  readonly columns: Fragment;
  readonly names: readonly string[];
  readonly encoders: readonly CellEncoder[];
  readonly txn: string;
  /** Runs last inside the transaction: the fence check and the `pending` row, so both commit with the rows. */
  readonly seal: (tx: postgres.TransactionSql, rows: number) => Promise<void>;
}

/**
 * One epoch's pre-commit: a transaction that streams the epoch's rows into the staging table with COPY while the flow
 * runs, and commits them with their `pending` row once the epoch is done. A crash before that commit leaves nothing
 * staged; after it, the rows are durable and the commit can be resumed (spec §2.4).
 *
 * The client settles a COPY only when the server confirms it, and waits forever when the server fails it (or the
 * connection drops) after the last row was sent. So the COPY runs as a simple query and is followed by a probe query
 * on the same connection: the server answers the probe only after it has finished the COPY, and fails it if the COPY
 * failed, which turns that wait into an error.
 */
export class StagingWriter {
  private copy: Writable | undefined;
  private readonly queued: string[] = [];
  private lastWrite: Promise<void> = Promise.resolve();
  private readonly done: Promise<number>;
  private failure: unknown;
  private rows = 0;
  private ended = false;
  private release: (() => void) | undefined;
  private cancel: ((e: Error) => void) | undefined;

  constructor(private readonly plan: StagingPlan) {
    const closed = new Promise<void>((resolve, reject) => {
      this.release = resolve;
      this.cancel = reject;
    });
    // Awaited inside the transaction only once the COPY is open; an abort may reject it before that.
    closed.catch(() => undefined);
    this.done = plan.sql.begin(async (tx) => {
      // A pre-commit run again for the same transaction replaces what the earlier attempt staged.
      await tx`delete from ${plan.sql(plan.stage)} where napkin_txn = ${plan.txn}`;
      await tx`delete from napkin.pending where txn = ${plan.txn}`;
      const copy = await tx`copy ${plan.sql(plan.stage)} (${plan.columns}) from stdin`.simple().writable();
      copy.on('error', (e) => this.fail(e));
      this.copy = copy;
      for (const text of this.queued.splice(0)) this.send(text);
      try {
        await closed;
      } catch (e) {
        copy.destroy(e as Error);
        throw e;
      }
      await this.lastWrite;
      // Nothing is buffered now, so end() hands the end of the COPY to the client at once.
      copy.end();
      await tx`select 1 as copy_settled`.catch((e: unknown) => {
        // The COPY's own error is lost by then; the probe's only says the transaction was aborted.
        throw new Error(`the server refused the COPY into ${plan.stage} after its last row (${(e as Error).message})`);
      });
      await finished(copy);
      crashPoint('pg-staging');
      await plan.seal(tx, this.rows);
      return this.rows;
    });
    this.done.catch((e: unknown) => this.fail(e));
  }

  /** Queues a batch (columns in staged order) for the COPY stream. */
  write(batch: Batch): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.ended) throw new Error('postgres sink: write after pre-commit; start a new epoch');
    if (batch.length === 0) return;
    let text: string;
    try {
      text = encodeRows(batch, this.plan.encoders, this.plan.names, this.plan.txn, this.rows);
    } catch (e) {
      // The epoch cannot be staged without this batch: nothing of it may commit.
      this.fail(e);
      throw e;
    }
    this.rows += batch.length;
    if (this.copy === undefined) this.queued.push(text);
    else this.send(text);
  }

  /** Ends the stream and commits the staging transaction; resolves to the number of rows staged. */
  async preCommit(): Promise<number> {
    if (this.failure !== undefined) throw this.failure;
    this.ended = true;
    this.release?.();
    let n: number;
    try {
      n = await this.done;
    } catch (e) {
      // The first failure says most (a refused row beats the aborted transaction it caused).
      throw this.failure ?? e;
    }
    crashPoint('pg-after-precommit');
    return n;
  }

  /** Rolls the staging transaction back: nothing it wrote stays. Safe after a failure. */
  async abort(): Promise<void> {
    this.ended = true;
    const reason = new Error('napkin aborted the epoch');
    // Ends the COPY with CopyFail; the client runs no ROLLBACK while a COPY is open.
    this.copy?.destroy(reason);
    this.cancel?.(reason);
    await this.done.catch(() => undefined);
  }

  private send(text: string): void {
    const copy = this.copy as Writable;
    this.lastWrite = new Promise((resolve) => copy.write(text, () => resolve()));
  }

  /** Remembers the first failure and rolls the transaction back without waiting for pre-commit or abort. */
  private fail(e: unknown): void {
    if (this.failure === undefined) this.failure = e;
    this.cancel?.(e instanceof Error ? e : new Error(String(e)));
  }
}
