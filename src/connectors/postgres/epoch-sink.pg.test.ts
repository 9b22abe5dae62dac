// The PostgreSQL sink's epoch protocol against a real server: idempotent commits, recovery of staged epochs, the
// write modes, and COPY for a large epoch.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONTRACT, epochBatches, FINGERPRINT, leftovers, tableText } from '../../../test/pg-fixtures.ts';
import { usePgServer } from '../../../test/pg-server.ts';
import type { Batch } from '../../runtime/batch.ts';
import { connectPg, type PgConnection } from './connection.ts';
import { PgEpochSink, type PgSinkOptions } from './epoch-sink.ts';
import { assignPartition, type FenceToken } from './fence.ts';

let conn: PgConnection;
const statements: string[] = [];

let flows = 0;
/** A sink on a table of its own, under a flow of its own, and the token of a fresh assignment. */
async function fresh(
  mode: PgSinkOptions['mode'],
  extra: Partial<PgSinkOptions> = {},
): Promise<{ sink: PgEpochSink; token: FenceToken; table: string; flow: string }> {
  const flow = `eo_${++flows}`;
  const table = `eo.t${flows}`;
  const sink = await PgEpochSink.open(conn, {
    table,
    contract: CONTRACT,
    key: ['id'],
    mode,
    flow,
    sink: 'out',
    partition: '0',
    ...extra,
  });
  return { sink, token: await assignPartition(conn.sql, sink.fence, FINGERPRINT), table, flow };
}

async function stageAll(sink: PgEpochSink, epoch: number, token: FenceToken, batches: Batch[]): Promise<number> {
  const w = sink.stage(epoch, token);
  for (const b of batches) w.write(b);
  return w.preCommit();
}

async function count(table: string): Promise<number> {
  const r = await conn.sql`select count(*)::int as n from ${conn.sql(table)}`;
  return Number(r[0].n);
}

describe('PostgreSQL sink: exactly once per epoch', () => {
  usePgServer();
  before(() => {
    conn = connectPg('env:NAPKIN_PG_URL', { onQuery: (text) => statements.push(text) });
  });
  after(async () => {
    await conn.sql.end();
  });

  it('commits an epoch once however often the commit is repeated (retry after an unknown outcome)', async () => {
    const { sink, token, table } = await fresh('append');
    assert.equal(await stageAll(sink, 1, token, epochBatches(1, 'append')), 1000);
    assert.equal(await count(table), 0, 'pre-committed rows are not visible in the target');
    assert.equal(await sink.commit(1, token), 'committed');
    assert.equal(await sink.commit(1, token), 'already-committed');
    assert.equal(await sink.recover(1, token, 'commit'), 'already-committed');
    assert.equal(await count(table), 1000);
    assert.equal(await sink.committedEpoch(), 1);
    assert.deepEqual(await leftovers(conn.sql), { staged: 0, pending: 0 });
  });

  it('a pre-commit run again for the same transaction replaces what it staged before', async () => {
    const { sink, token, table } = await fresh('append');
    await stageAll(sink, 1, token, epochBatches(1, 'append', 300));
    await stageAll(sink, 1, token, epochBatches(1, 'append', 200));
    assert.equal(await sink.commit(1, token), 'committed');
    assert.equal(await count(table), 200);
  });

  it('recovery commits a staged epoch, discards one on request, and asks to regenerate one never staged', async () => {
    const { sink, token, table } = await fresh('append');
    await stageAll(sink, 1, token, epochBatches(1, 'append'));
    assert.deepEqual(
      (await sink.pending()).map((p) => p.epoch),
      [1],
    );
    const next = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    assert.equal(next.ownershipEpoch, token.ownershipEpoch + 1);
    assert.equal(await sink.recover(1, next, 'commit'), 'committed', 'the new owner resumes the old pre-commit');
    assert.equal(await count(table), 1000);
    await stageAll(sink, 2, next, epochBatches(2, 'append'));
    assert.equal(await sink.recover(2, next, 'discard'), 'discarded');
    assert.equal(await sink.recover(3, next, 'commit'), 'regenerate');
    assert.equal(await count(table), 1000);
    assert.equal(await sink.committedEpoch(), 1);
    assert.deepEqual(await leftovers(conn.sql), { staged: 0, pending: 0 });
  });

  it('refuses to commit an epoch that was not pre-committed, saying so', async () => {
    const { sink, token } = await fresh('append');
    await assert.rejects(
      sink.commit(7, token),
      /epoch 7\): commit failed: nothing was pre-committed under ownership epoch 1; stage and pre-commit/,
    );
  });

  it('an aborted epoch leaves nothing staged', async () => {
    const { sink, token, table } = await fresh('append');
    const w = sink.stage(1, token);
    for (const b of epochBatches(1, 'append')) w.write(b);
    await w.abort();
    assert.deepEqual(await sink.pending(), []);
    assert.deepEqual(await leftovers(conn.sql), { staged: 0, pending: 0 });
    assert.equal(await count(table), 0);
  });

  it('merge upserts by key: the last row of a key in an epoch wins, later epochs update', async () => {
    const { sink, token, table } = await fresh('merge');
    const batch = (ids: number[], names: string[]): Batch => ({
      length: ids.length,
      columns: [ids, names, ids.map(() => null), ids.map(() => 0)],
    });
    await stageAll(sink, 1, token, [batch([1, 2, 1], ['a', 'b', 'a2']), batch([3], ['c'])]);
    await sink.commit(1, token);
    await stageAll(sink, 2, token, [batch([2, 4], ['b2', 'd'])]);
    await sink.commit(2, token);
    const rows = await conn.sql`select id::int, name from ${conn.sql(table)} order by id`;
    assert.deepEqual(
      rows.map((r) => [r.id, r.name]),
      [
        [1, 'a2'],
        [2, 'b2'],
        [3, 'c'],
        [4, 'd'],
      ],
    );
  });

  it('merge with retractions deletes a key whose last row withdraws it', async () => {
    const { sink, token, table } = await fresh('merge', { retractions: true });
    const batch = (ids: number[], retract: boolean[]): Batch => ({
      length: ids.length,
      columns: [ids, ids.map((i) => `n${i}`), ids.map(() => null), ids.map(() => 0), retract],
    });
    await stageAll(sink, 1, token, [batch([1, 2, 3], [false, false, false])]);
    await sink.commit(1, token);
    await stageAll(sink, 2, token, [batch([2, 3, 3], [true, true, false])]);
    await sink.commit(2, token);
    const rows = await conn.sql`select id::int from ${conn.sql(table)} order by id`;
    assert.deepEqual(
      rows.map((r) => r.id),
      [1, 3],
    );
  });

  it('replace swaps the whole table in the commit transaction', async () => {
    const { sink, token, table } = await fresh('replace');
    await stageAll(sink, 1, token, epochBatches(1, 'append', 500));
    await sink.commit(1, token);
    await stageAll(sink, 2, token, epochBatches(2, 'append', 300));
    await sink.commit(2, token);
    assert.equal(await count(table), 300);
    const ids = await conn.sql`select min(id)::int as lo from ${conn.sql(table)}`;
    assert.equal(ids[0].lo, 200_000);
  });

  it('streams a 100,000-row epoch with COPY', async () => {
    const { sink, token, table } = await fresh('append');
    statements.length = 0;
    const n = await stageAll(sink, 1, token, epochBatches(1, 'append', 100_000));
    assert.equal(n, 100_000);
    await sink.commit(1, token);
    assert.ok(
      statements.some((s) => /^copy "napkin"\."stage_t\d+_[0-9a-f]+" \(.*\) from stdin$/.test(s)),
      'the rows went through COPY',
    );
    assert.ok(!statements.some((s) => /\bvalues\b/i.test(s) && /stage_/.test(s)), 'no row-by-row insert');
    const r = await conn.sql`select count(*)::int as n, count(distinct id)::int as d,
      sum(amount)::text as total from ${conn.sql(table)}`;
    assert.deepEqual([r[0].n, r[0].d], [100_000, 100_000]);
    let total = 0;
    for (const b of epochBatches(1, 'append', 100_000))
      for (const a of b.columns[2]) total += Math.round((a as number) * 100) || 0;
    assert.equal(r[0].total, (total / 100).toFixed(2));
    assert.deepEqual(await leftovers(conn.sql), { staged: 0, pending: 0 });
  });

  it('the target holds exactly the rows staged, byte for byte', async () => {
    const a = await fresh('append');
    await stageAll(a.sink, 1, a.token, epochBatches(1, 'append', 50));
    await a.sink.commit(1, a.token);
    const text = await tableText(conn.sql, a.table);
    assert.equal(text.length, 50);
    assert.ok(text.includes('(100013,,1000.13,"2024-01-02 00:00:00.013+00")'), text.slice(0, 3).join('\n'));
    assert.ok(text.includes(`(100001,"e1 r1 it's\t""q""\\\\",1000.01,"2024-01-02 00:00:00.001+00")`));
  });
});
