import type postgres from 'postgres';
import type { Pg } from './connection.ts';
import { idList } from './identifiers.ts';

/**
 * How a commit applies staged rows to the target: `append` inserts them; `replace` empties the table first (readers
 * see the old rows or the new ones, never a mix); `merge` upserts by the contract key, the last staged row per key
 * winning, and deletes a key whose last row is a retraction.
 */
export type PgWriteMode = 'append' | 'replace' | 'merge';

export interface MovePlan {
  readonly sql: Pg;
  readonly mode: PgWriteMode;
  readonly target: string;
  readonly stage: string;
  /** The contract's columns, as the target has them. */
  readonly columns: readonly string[];
  readonly key: readonly string[];
  /** The staged flag column of retracting merges, when there is one. */
  readonly retraction?: string;
}

/** Moves one transaction's staged rows into the target; returns the number of rows inserted or updated. */
export async function moveStaged(tx: postgres.TransactionSql, p: MovePlan, txn: string): Promise<number> {
  const { sql } = p;
  const target = sql(p.target);
  const stage = sql(p.stage);
  const cols = idList(sql, p.columns);
  if (p.mode !== 'merge') {
    if (p.mode === 'replace') await tx`delete from ${target}`;
    const r = await tx`
      insert into ${target} (${cols}) select ${cols} from ${stage} where napkin_txn = ${txn} order by napkin_seq`;
    return r.count;
  }
  const keys = idList(sql, p.key);
  const flag = p.retraction;
  // The last row per key: ON CONFLICT may touch a row only once per statement.
  const last =
    flag === undefined
      ? sql`select distinct on (${keys}) ${cols} from ${stage} where napkin_txn = ${txn} order by ${keys}, napkin_seq desc`
      : sql`select distinct on (${keys}) ${cols}, ${sql(flag)} as napkin_retract from ${stage}
            where napkin_txn = ${txn} order by ${keys}, napkin_seq desc`;
  if (flag !== undefined) {
    await tx`delete from ${target} as t using (${last}) as l
      where (${idList(sql, p.key, 't')}) = (${idList(sql, p.key, 'l')}) and l.napkin_retract`;
  }
  const rest = p.columns.filter((c) => !p.key.includes(c));
  const update =
    rest.length === 0
      ? sql`do nothing`
      : sql`do update set (${idList(sql, rest)}) = row(${idList(sql, rest, 'excluded')})`;
  const source = flag === undefined ? last : sql`select ${cols} from (${last}) as l where not l.napkin_retract`;
  const r = await tx`insert into ${target} (${cols}) ${source} on conflict (${keys}) ${update}`;
  return r.count;
}
