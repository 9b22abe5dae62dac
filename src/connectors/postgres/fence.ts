import type postgres from 'postgres';
import type { Pg } from './connection.ts';

/**
 * What one fence row guards: the writes of one sink of a flow (to its target table) for one partition. Each sink is
 * fenced on its own, so the sinks of one flow, each taking its partition when it opens, never fence each other; a
 * stale writer of the same sink, flow and partition is fenced by the newer one.
 */
export interface FenceKey {
  readonly flow: string;
  /** The sink's target table, `schema.name`. */
  readonly target: string;
  readonly partition: string;
}

/** What every write carries (spec §2.6): the writer's ownership epoch of its partition and its flow's fingerprint. */
export interface FenceToken {
  readonly ownershipEpoch: number;
  readonly fingerprint: string;
}

/**
 * A write refused because its token is not the partition's current one. The task must stop the partition and must not
 * retry (spec §2.6).
 */
export class FencedError extends Error {
  readonly flow: string;
  readonly partition: string;

  constructor(
    readonly key: FenceKey,
    readonly stale: FenceToken,
    readonly current: FenceToken | undefined,
  ) {
    const now =
      current === undefined
        ? 'the partition was never assigned'
        : `current is ownership epoch ${current.ownershipEpoch}, fingerprint ${short(current.fingerprint)}`;
    super(
      `fenced: flow ${key.flow} partition ${key.partition}: write with ownership epoch ${stale.ownershipEpoch}, fingerprint ${short(stale.fingerprint)} refused; ${now} (the fence of ${key.target}); stop this partition, do not retry`,
    );
    this.flow = key.flow;
    this.partition = key.partition;
    this.name = 'FencedError';
  }
}

function short(fingerprint: string): string {
  return fingerprint.slice(0, 12);
}

/**
 * The coordinator's side of fencing: assigns the partition of one sink afresh, raising its ownership epoch (and
 * setting the active fingerprint), and returns the new token. Any writer holding an older token for that sink is
 * fenced from now on. In embedded mode the one process is its own coordinator.
 */
export async function assignPartition(sql: Pg, key: FenceKey, fingerprint: string): Promise<FenceToken> {
  const rows = await sql`
    insert into napkin.fence (flow, target, "partition", ownership_epoch, fingerprint)
    values (${key.flow}, ${key.target}, ${key.partition}, 1, ${fingerprint})
    on conflict (flow, target, "partition") do update
      set ownership_epoch = napkin.fence.ownership_epoch + 1, fingerprint = excluded.fingerprint
    returning ownership_epoch::text as e`;
  return { ownershipEpoch: Number(rows[0].e), fingerprint };
}

/** The fence row of a sink's partition, if it was ever assigned. */
export async function readFence(sql: Pg | postgres.TransactionSql, key: FenceKey): Promise<FenceToken | undefined> {
  const rows = await sql`
    select ownership_epoch::text as e, fingerprint from napkin.fence
    where flow = ${key.flow} and target = ${key.target} and "partition" = ${key.partition}`;
  return rows.length === 0
    ? undefined
    : { ownershipEpoch: Number(rows[0].e), fingerprint: String(rows[0].fingerprint) };
}

/**
 * The storage-side check, inside the writer's transaction: a conditional update of the fence row that succeeds only
 * for the current ownership epoch (or a newer one, which it records) and the active fingerprint. It locks the row until
 * the transaction ends, so a reassignment waits for an accepted write to finish and every later one is refused.
 */
export async function checkFence(tx: postgres.TransactionSql, key: FenceKey, token: FenceToken): Promise<void> {
  const updated = await tx`
    update napkin.fence set ownership_epoch = ${token.ownershipEpoch}
    where flow = ${key.flow} and target = ${key.target} and "partition" = ${key.partition}
      and ownership_epoch <= ${token.ownershipEpoch} and fingerprint = ${token.fingerprint}`;
  if (updated.count === 0) throw new FencedError(key, token, await readFence(tx, key));
}
