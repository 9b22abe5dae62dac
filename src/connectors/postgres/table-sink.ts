import type { Schema } from '../../expr/types.ts';
import type { WriteMode } from '../../flow/flow.ts';
import type { SinkWriter } from '../../runtime/execute.ts';
import { reorderTo } from '../reorder.ts';
import { connectPg, type PgConnectOptions, pgFailure } from './connection.ts';
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
 * The PostgreSQL sink for today's runs, each one epoch: it takes the partition (raising its ownership epoch, as the
 * coordinator would, so an older run still writing is fenced), discards what a crashed earlier run left staged (its
 * input is read again, spec §2.3), streams rows into staging while the flow runs, and on `commit()` pre-commits then
 * commits epoch (last committed + 1).
 */
export async function openPostgresSink(o: PostgresSinkOptions): Promise<SinkWriter> {
  const conn = connectPg(o.connection, o.connect);
  const partition = o.partition ?? '0';
  const retractions =
    o.mode === 'merge' && o.input.fields.some((f) => f.name === 'retraction' && f.type.kind === 'bool');
  let sink: PgEpochSink;
  let token: FenceToken;
  let epoch: number;
  let staging: StagingWriter;
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
    token = o.token ?? (await assignPartition(conn.sql, o.flow, partition, o.fingerprint));
    for (const p of await sink.pending()) await sink.recover(p.epoch, token, 'discard');
    epoch = ((await sink.committedEpoch()) ?? 0) + 1;
    staging = sink.stage(epoch, token);
  } catch (e) {
    await conn.sql.end({ timeout: 5 });
    if (e instanceof FencedError) throw e;
    throw pgFailure(`postgres sink ${o.table} (${conn.reference}): taking partition ${partition} failed`, e, conn);
  }
  const reorder = reorderTo(o.input, sink.staged);
  let state: 'open' | 'staged' | 'done' = 'open';
  return {
    write(batch) {
      try {
        staging.write(reorder(batch));
      } catch (e) {
        throw pgFailure(`postgres sink ${o.table} (epoch ${epoch}): write failed`, e, conn);
      }
    },
    async commit() {
      try {
        const rows = await staging.preCommit();
        state = 'staged';
        await sink.commit(epoch, token);
        state = 'done';
        await conn.sql.end({ timeout: 5 });
        return `postgres ${o.table} (${rows} rows, ${o.mode}, epoch ${epoch})`;
      } catch (e) {
        // A fenced writer must not write again, not even to clean up: the new owner discards what it staged.
        if (e instanceof FencedError) state = 'done';
        if (e instanceof FencedError || state === 'staged') throw e;
        throw pgFailure(`postgres sink ${o.table} (epoch ${epoch}): pre-commit failed`, e, conn);
      }
    },
    async abort() {
      try {
        if (state === 'open') await staging.abort();
        // Staged, outcome of the commit unknown: if it did commit, the key is there and this changes nothing.
        else if (state === 'staged') await sink.recover(epoch, token, 'discard');
      } catch (e) {
        if (!(e instanceof FencedError)) throw e;
      } finally {
        state = 'done';
        await conn.sql.end({ timeout: 5 });
      }
    },
  };
}
