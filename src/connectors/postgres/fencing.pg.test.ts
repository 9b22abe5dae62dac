// Fencing of the PostgreSQL sink (spec reliability §2.6, G4): a writer without the partition's current ownership epoch
// and the active fingerprint gets zero accepted rows, staged or committed, and a FencedError naming both tokens.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONTRACT, epochBatches, FINGERPRINT, leftovers } from '../../../test/pg-fixtures.ts';
import { usePgServer } from '../../../test/pg-server.ts';
import { connectPg, type PgConnection } from './connection.ts';
import { PgEpochSink } from './epoch-sink.ts';
import { assignPartition, FencedError, type FenceToken, readFence } from './fence.ts';

describe('PostgreSQL sink fencing', () => {
  usePgServer();
  let conn: PgConnection;
  before(() => {
    conn = connectPg('env:NAPKIN_PG_URL');
  });
  after(async () => {
    await conn.sql.end();
  });

  let n = 0;
  const sinkOptions = (table: string) => ({
    table,
    contract: CONTRACT,
    key: ['id'],
    mode: 'append' as const,
    flow: `fence_${n}`,
    sink: `out_${table.replace('.', '_')}`,
    partition: '3',
  });
  async function setup() {
    n++;
    const table = `fence.t${n}`;
    const sink = await PgEpochSink.open(conn, sinkOptions(table));
    return { table, sink };
  }
  const stage = async (sink: PgEpochSink, epoch: number, token: FenceToken) => {
    const w = sink.stage(epoch, token);
    for (const b of epochBatches(epoch, 'append', 500)) w.write(b);
    return w.preCommit();
  };
  const rows = async (table: string) =>
    Number((await conn.sql`select count(*)::int as n from ${conn.sql(table)}`)[0].n);
  const fenced = (stale: number, current: number) => (e: unknown) => {
    assert.ok(e instanceof FencedError, String(e));
    assert.match(e.message, new RegExp(`write with ownership epoch ${stale}, fingerprint [0-9a-f]{12} refused`));
    assert.match(e.message, new RegExp(`current is ownership epoch ${current}`));
    assert.match(e.message, /do not retry/);
    return true;
  };

  it('a zombie owner cannot pre-commit after the partition was reassigned', async () => {
    const { table, sink } = await setup();
    const old = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    const current = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    await assert.rejects(stage(sink, 1, old), fenced(old.ownershipEpoch, current.ownershipEpoch));
    assert.deepEqual(await leftovers(conn.sql, table), { staged: 0, pending: 0 }, 'nothing of the zombie was staged');
    assert.equal(await rows(table), 0);
    assert.equal((await readFence(conn.sql, sink.fence))?.ownershipEpoch, 2);
  });

  it('a zombie that pre-committed before the reassignment cannot commit after it', async () => {
    const { table, sink } = await setup();
    const old = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    await stage(sink, 1, old);
    const current = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    await assert.rejects(sink.commit(1, old), fenced(1, 2));
    assert.equal(await rows(table), 0, 'zero rows accepted from the stale owner');
    assert.equal(await sink.committedEpoch(), undefined);
    // The new owner settles the epoch; its commit key now holds, and the zombie's retry is still refused.
    assert.equal(await sink.recover(1, current, 'commit'), 'committed');
    assert.equal(await rows(table), 500);
    await assert.rejects(sink.commit(1, old), FencedError);
    assert.equal(await rows(table), 500);
  });

  it('a writer with another fingerprint is refused even at the current ownership epoch', async () => {
    const { table, sink } = await setup();
    const current = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    const foreign: FenceToken = { ownershipEpoch: current.ownershipEpoch, fingerprint: 'a'.repeat(64) };
    await assert.rejects(stage(sink, 1, foreign), fenced(current.ownershipEpoch, current.ownershipEpoch));
    await stage(sink, 1, current);
    await assert.rejects(sink.commit(1, foreign), FencedError);
    assert.equal(await rows(table), 0);
    assert.equal((await readFence(conn.sql, sink.fence))?.fingerprint, FINGERPRINT);
  });

  it('a newer ownership epoch is accepted and recorded; the fence row keeps the highest seen', async () => {
    const { table, sink } = await setup();
    await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    const newer: FenceToken = { ownershipEpoch: 5, fingerprint: FINGERPRINT };
    await stage(sink, 1, newer);
    assert.equal(await sink.commit(1, newer), 'committed');
    assert.equal((await readFence(conn.sql, sink.fence))?.ownershipEpoch, 5);
    await assert.rejects(stage(sink, 2, { ownershipEpoch: 4, fingerprint: FINGERPRINT }), fenced(4, 5));
    assert.equal(await rows(table), 500);
  });

  it('the sinks of one flow have fences of their own: taking one does not fence the other, whose stale writer still is', async () => {
    const { table, sink } = await setup();
    const other = await PgEpochSink.open(conn, sinkOptions(`${table}_b`));
    assert.notDeepEqual(other.fence, sink.fence);
    const mine = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    const stale = await assignPartition(conn.sql, other.fence, FINGERPRINT);
    const theirs = await assignPartition(conn.sql, other.fence, FINGERPRINT);
    // Both opened (assigned) after `mine`: neither fences it.
    await stage(sink, 1, mine);
    assert.equal(await sink.commit(1, mine), 'committed');
    await stage(other, 1, theirs);
    assert.equal(await other.commit(1, theirs), 'committed');
    await assert.rejects(stage(other, 2, stale), fenced(stale.ownershipEpoch, theirs.ownershipEpoch));
    assert.equal(await rows(table), 500);
    assert.equal(await rows(`${table}_b`), 500);
  });

  it('a partition never assigned accepts no write', async () => {
    const { table, sink } = await setup();
    await assert.rejects(stage(sink, 1, { ownershipEpoch: 1, fingerprint: FINGERPRINT }), /never assigned/);
    assert.deepEqual(await leftovers(conn.sql, table), { staged: 0, pending: 0 });
  });
});
