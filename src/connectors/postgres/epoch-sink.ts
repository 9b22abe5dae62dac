import type postgres from 'postgres';
import type { Field, Schema } from '../../expr/types.ts';
import { crashPoint } from '../crash-point.ts';
import { type Pg, type PgConnection, pgFailure } from './connection.ts';
import { encoderFor } from './copy-text.ts';
import { ensureMetadata, ensureTable } from './ddl.ts';
import { checkFence, FencedError, type FenceKey, type FenceToken } from './fence.ts';
import { checkIdent, derivedName, idList, type TableName, tableName } from './identifiers.ts';
import { moveStaged, type PgWriteMode } from './moves.ts';
import { StagingWriter } from './staging-writer.ts';

export interface PgSinkOptions {
  /** `name` or `schema.name`, lower case. */
  readonly table: string;
  readonly contract: Schema;
  readonly key: readonly string[];
  readonly mode: PgWriteMode;
  /** Merge only: each row carries a trailing bool `retraction` flag (see `moveStaged`). */
  readonly retractions?: boolean;
  readonly flow: string;
  readonly sink: string;
  readonly partition: string;
}

/** How `commit` or `recover` settled an epoch. `regenerate`: nothing was staged, so the epoch must be run again. */
export type Settled = 'committed' | 'already-committed' | 'discarded' | 'regenerate';

const RETRACTION = 'retraction';

/**
 * A PostgreSQL table written exactly once per epoch (spec reliability §2.4). Per epoch, `stage()` streams rows with
 * COPY into a staging table, tagged with the transaction id, and its `preCommit()` makes them durable; `commit()` then
 * runs ONE transaction: fence check, commit-key check (present: nothing to do), move the staged rows into the target,
 * insert the commit key, delete the staging rows. Between the two the checkpoint protocol runs; after a crash,
 * `committedEpoch()` and `recover()` settle the epoch in flight.
 */
export class PgEpochSink {
  private constructor(
    private readonly conn: PgConnection,
    private readonly o: PgSinkOptions,
    private readonly target: TableName,
    private readonly stagingTable: TableName,
    /** The staged columns: the contract's, then the retraction flag when the contract lacks it. */
    readonly staged: Schema,
  ) {}

  static async open(conn: PgConnection, o: PgSinkOptions): Promise<PgEpochSink> {
    const target = tableName(o.table);
    for (const f of o.contract.fields) checkIdent(f.name, `column of ${o.table}`);
    for (const k of o.key) {
      if (!o.contract.fields.some((f) => f.name === k))
        throw new Error(`postgres sink ${o.table}: key column '${k}' is not in the contract; fix the contract key`);
    }
    if (o.mode === 'merge' && o.key.length === 0)
      throw new Error(`postgres sink ${o.table}: mode 'merge' needs a contract key; declare one or use 'replace'`);
    const extra: Field[] =
      o.retractions === true && !o.contract.fields.some((f) => f.name === RETRACTION)
        ? [{ name: RETRACTION, type: { kind: 'bool' }, nullable: false }]
        : [];
    const staged: Schema = { fields: [...o.contract.fields, ...extra] };
    const stage = tableName(`napkin.${derivedName('stage', target)}`);
    const { sql } = conn;
    try {
      await ensureMetadata(sql);
      const keyIndex = { name: derivedName('key', target), columns: o.key, unique: true };
      await ensureTable(sql, target, o.contract.fields, o.key.length === 0 ? [] : [keyIndex]);
      await ensureTable(
        sql,
        stage,
        staged.fields,
        [{ name: derivedName('txn', target), columns: ['napkin_txn'], unique: false }],
        [
          { name: 'napkin_txn', type: sql`text not null` },
          { name: 'napkin_seq', type: sql`bigint not null` },
        ],
      );
    } catch (e) {
      throw pgFailure(
        `postgres sink ${o.table} (${conn.reference}): preparing the tables failed`,
        e,
        conn,
        'make the table match the contract, or drop it to have it created',
      );
    }
    return new PgEpochSink(conn, o, target, stage, staged);
  }

  /** The fence row this sink's writes are checked against: its flow, target table and partition. */
  get fence(): FenceKey {
    return { flow: this.o.flow, target: this.target.qualified, partition: this.o.partition };
  }

  /** The transaction id of an epoch's staged rows: the commit key and the ownership epoch that staged them. */
  txn(epoch: number, ownershipEpoch: number): string {
    return JSON.stringify([this.o.flow, this.o.sink, this.o.partition, epoch, ownershipEpoch]);
  }

  /** The same sink on another connection of the same server (the tables are in place already). */
  on(conn: PgConnection): PgEpochSink {
    return new PgEpochSink(conn, this.o, this.target, this.stagingTable, this.staged);
  }

  /**
   * Starts epoch `epoch`'s pre-commit: write batches (columns in `staged` order), then `preCommit()`. A writer that
   * learns its epoch only at pre-commit stages under the epoch it expects and passes `sealAs`: when that answers
   * another epoch, the seal moves the rows to that epoch's transaction id, so what is pending names the right epoch.
   */
  stage(epoch: number, token: FenceToken, sealAs?: () => number): StagingWriter {
    const { sql } = this.conn;
    const o = this.o;
    const txn = this.txn(epoch, token.ownershipEpoch);
    return new StagingWriter({
      sql,
      stage: this.stagingTable.qualified,
      columns: idList(sql, ['napkin_txn', 'napkin_seq', ...this.staged.fields.map((f) => f.name)]),
      names: this.staged.fields.map((f) => f.name),
      encoders: this.staged.fields.map((f) => encoderFor(f)),
      txn,
      seal: async (tx, rows) => {
        await checkFence(tx, this.fence, token);
        const sealed = sealAs?.() ?? epoch;
        const final = this.txn(sealed, token.ownershipEpoch);
        if (final !== txn) await this.retag(tx, txn, final);
        await tx`insert into napkin.pending (txn, flow, sink, "partition", epoch, ownership_epoch, target, rows)
          values (${final}, ${o.flow}, ${o.sink}, ${o.partition}, ${sealed}, ${token.ownershipEpoch},
                  ${this.target.qualified}, ${rows})`;
      },
    });
  }

  /** Gives staged rows another transaction id, replacing what an earlier pre-commit staged under it. */
  private async retag(tx: postgres.TransactionSql, from: string, to: string): Promise<void> {
    const stage = this.conn.sql(this.stagingTable.qualified);
    await tx`delete from ${stage} where napkin_txn = ${to}`;
    await tx`delete from napkin.pending where txn = ${to}`;
    await tx`update ${stage} set napkin_txn = ${to} where napkin_txn = ${from}`;
  }

  /**
   * Commits the rows this token staged for `epoch`, idempotently: committing an epoch again (a retry after an unknown
   * outcome) changes nothing. Throws {@link FencedError} when the token is no longer current. `mode` overrides the
   * sink's for this epoch: a `replace` sink appends the epochs after the one that started its output.
   */
  commit(epoch: number, token: FenceToken, mode?: PgWriteMode): Promise<Settled> {
    return this.settle(epoch, token, 'own', 'commit', mode ?? this.o.mode);
  }

  /**
   * Settles an epoch left in flight by a crash, under the recovering owner's token: `commit` commits the most
   * recently staged transaction of the epoch (or answers `regenerate` when none was staged), `discard` throws the
   * staged rows away. An epoch whose key is present is left as it is.
   */
  recover(epoch: number, token: FenceToken, action: 'commit' | 'discard'): Promise<Settled> {
    return this.settle(epoch, token, action === 'commit' ? 'latest' : 'discard', `recover (${action})`, this.o.mode);
  }

  /** The highest committed epoch, or undefined when none was. */
  committedEpoch(): Promise<number | undefined> {
    return committedEpoch(this.conn.sql, this.o.flow, this.o.sink, this.o.partition);
  }

  /** Pre-committed transactions not yet committed or discarded, oldest epoch first. */
  async pending(): Promise<{ epoch: number; ownershipEpoch: number; rows: number }[]> {
    const o = this.o;
    const rows = await this.conn.sql`
      select epoch::text as epoch, ownership_epoch::text as own, rows::text as rows from napkin.pending
      where flow = ${o.flow} and sink = ${o.sink} and "partition" = ${o.partition} order by epoch, ownership_epoch`;
    return rows.map((r) => ({ epoch: Number(r.epoch), ownershipEpoch: Number(r.own), rows: Number(r.rows) }));
  }

  private async settle(
    epoch: number,
    token: FenceToken,
    pick: 'own' | 'latest' | 'discard',
    what: string,
    mode: PgWriteMode,
  ): Promise<Settled> {
    const { sql } = this.conn;
    const o = this.o;
    try {
      const settled = await sql.begin(async (tx): Promise<Settled> => {
        await checkFence(tx, this.fence, token);
        const key = await tx`select 1 from napkin.commits
          where flow = ${o.flow} and sink = ${o.sink} and "partition" = ${o.partition} and epoch = ${epoch}`;
        if (key.length > 0 || pick === 'discard') {
          await this.dropStaged(tx, epoch);
          return key.length > 0 ? 'already-committed' : 'discarded';
        }
        const found =
          pick === 'own'
            ? await tx`select txn, rows::text as rows from napkin.pending where txn = ${this.txn(epoch, token.ownershipEpoch)}`
            : await tx`select txn, rows::text as rows from napkin.pending
                where flow = ${o.flow} and sink = ${o.sink} and "partition" = ${o.partition} and epoch = ${epoch}
                order by ownership_epoch desc limit 1`;
        if (found.length === 0) {
          if (pick === 'latest') return 'regenerate';
          throw new Error(
            `nothing was pre-committed under ownership epoch ${token.ownershipEpoch}; stage and pre-commit the epoch first`,
          );
        }
        const txn = String(found[0].txn);
        await moveStaged(tx, this.movePlan(sql, mode), txn);
        await tx`insert into napkin.commits (flow, sink, "partition", epoch, txn, ownership_epoch, target, rows)
          values (${o.flow}, ${o.sink}, ${o.partition}, ${epoch}, ${txn}, ${token.ownershipEpoch},
                  ${this.target.qualified}, ${Number(found[0].rows)})`;
        await this.dropStaged(tx, epoch);
        crashPoint('pg-commit');
        return 'committed';
      });
      if (settled === 'committed') crashPoint('pg-after-commit');
      return settled;
    } catch (e) {
      if (e instanceof FencedError) throw e;
      throw pgFailure(
        `postgres sink ${o.table} (flow ${o.flow}, sink ${o.sink}, partition ${o.partition}, epoch ${epoch}): ${what} failed`,
        e,
        this.conn,
      );
    }
  }

  /** Deletes every staged transaction of the epoch (its own and any earlier owner's) and their `pending` rows. */
  private async dropStaged(tx: postgres.TransactionSql, epoch: number): Promise<void> {
    const o = this.o;
    const { sql } = this.conn;
    const txns = await tx`delete from napkin.pending
      where flow = ${o.flow} and sink = ${o.sink} and "partition" = ${o.partition} and epoch = ${epoch} returning txn`;
    for (const t of txns) await tx`delete from ${sql(this.stagingTable.qualified)} where napkin_txn = ${String(t.txn)}`;
  }

  private movePlan(sql: Pg, mode: PgWriteMode) {
    const o = this.o;
    const hasFlag = o.retractions === true;
    return {
      sql,
      mode,
      target: this.target.qualified,
      stage: this.stagingTable.qualified,
      columns: o.contract.fields.map((f) => f.name),
      key: o.key,
      ...(hasFlag ? { retraction: RETRACTION } : {}),
    };
  }
}

/** The highest committed epoch of (flow, sink, partition), for recovery; undefined when none was committed. */
export async function committedEpoch(
  sql: Pg,
  flow: string,
  sink: string,
  partition: string,
): Promise<number | undefined> {
  const rows = await sql`select max(epoch)::text as e from napkin.commits
    where flow = ${flow} and sink = ${sink} and "partition" = ${partition}`;
  return rows[0].e === null ? undefined : Number(rows[0].e);
}
