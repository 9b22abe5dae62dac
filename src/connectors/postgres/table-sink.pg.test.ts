// The PostgreSQL sink as the runtime sees it: a SinkWriter, one epoch per run (commit without a key) or one writer
// across the epochs of a run (commit with a key).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONTRACT, epochBatches, FINGERPRINT, leftovers, tableText } from '../../../test/pg-fixtures.ts';
import { usePgServer } from '../../../test/pg-server.ts';
import type { EpochCommit, SinkWriter } from '../../runtime/execute.ts';
import { connectPg, type PgConnection } from './connection.ts';
import { PgEpochSink } from './epoch-sink.ts';
import { assignPartition, FencedError } from './fence.ts';
import { openPostgresSink } from './table-sink.ts';

describe('PostgreSQL sink writer', () => {
  usePgServer();
  let conn: PgConnection;
  before(() => {
    conn = connectPg('env:NAPKIN_PG_URL');
  });
  after(async () => {
    await conn.sql.end();
  });

  const open = (table: string, flow: string, mode: 'replace' | 'merge' = 'replace'): Promise<SinkWriter> =>
    openPostgresSink({
      connection: 'env:NAPKIN_PG_URL',
      table,
      contract: CONTRACT,
      key: ['id'],
      mode,
      input: CONTRACT,
      flow,
      sink: 'write_out',
      fingerprint: FINGERPRINT,
    });
  const key = (flow: string, epoch: number, fresh = epoch === 1): EpochCommit => ({
    flow,
    sink: 'write_out',
    partition: '0',
    epoch,
    fingerprint: FINGERPRINT,
    fresh,
  });
  const ids = async (table: string) =>
    (await conn.sql`select id::text as id from ${conn.sql(table)} order by id`).map((r) => Number(r.id));
  const keys = async (flow: string) =>
    (await conn.sql`select epoch::text as e from napkin.commits where flow = ${flow} order by epoch`).map((r) =>
      Number(r.e),
    );
  const count = async (table: string) =>
    Number((await conn.sql`select count(*)::int as n from ${conn.sql(table)}`)[0].n);

  it('each run commits the next epoch', async () => {
    for (const epoch of [1, 2]) {
      const w = await open('sw.runs', 'runs');
      for (const b of epochBatches(epoch, 'append', 600)) w.write(b);
      assert.equal(await w.commit(), `postgres sw.runs (600 rows, replace, epoch ${epoch})`);
    }
    assert.equal(await count('sw.runs'), 600);
  });

  it('abort leaves no rows and nothing staged', async () => {
    const w = await open('sw.aborted', 'aborted');
    for (const b of epochBatches(1, 'append')) w.write(b);
    await w.abort();
    assert.equal(await count('sw.aborted'), 0);
    assert.deepEqual(await leftovers(conn.sql, 'sw.aborted'), { staged: 0, pending: 0 });
  });

  it('discards what a crashed run pre-committed but never committed, then runs the next epoch', async () => {
    const crashed = await PgEpochSink.open(conn, {
      table: 'sw.crashed',
      contract: CONTRACT,
      key: ['id'],
      mode: 'replace',
      flow: 'crashed',
      sink: 'write_out',
      partition: '0',
    });
    const token = await assignPartition(conn.sql, crashed.fence, FINGERPRINT);
    const staging = crashed.stage(1, token);
    for (const b of epochBatches(1, 'append')) staging.write(b);
    await staging.preCommit();
    const w = await open('sw.crashed', 'crashed');
    assert.deepEqual(await leftovers(conn.sql, 'sw.crashed'), { staged: 0, pending: 0 });
    for (const b of epochBatches(2, 'append', 10)) w.write(b);
    assert.match(await w.commit(), /10 rows, replace, epoch 1\)/);
    assert.equal(await count('sw.crashed'), 10);
  });

  it('a value the column cannot take fails the write with table, column and row, not the value', async () => {
    const w = await open('sw.bad', 'bad');
    assert.throws(
      () =>
        w.write({
          length: 2,
          columns: [
            [1, null],
            ['secret-1', 'secret-2'],
            [1, 1],
            [0, 0],
          ],
        }),
      (e: Error) => {
        assert.match(e.message, /^postgres sink sw\.bad \(epoch 1\): write failed: column 'id', row 2 of the epoch/);
        assert.doesNotMatch(e.message, /secret/);
        return true;
      },
    );
    await w.abort();
    assert.deepEqual(await leftovers(conn.sql, 'sw.bad'), { staged: 0, pending: 0 });
  });

  it('an older run still writing when a newer one took the partition is fenced', async () => {
    const older = await open('sw.fenced', 'fenced');
    const newer = await open('sw.fenced', 'fenced');
    for (const b of epochBatches(1, 'append', 100)) older.write(b);
    for (const b of epochBatches(2, 'append', 50)) newer.write(b);
    await assert.rejects(older.commit(), FencedError);
    await older.abort();
    assert.match(await newer.commit(), /50 rows/);
    assert.equal(await count('sw.fenced'), 50);
    assert.deepEqual(await leftovers(conn.sql, 'sw.fenced'), { staged: 0, pending: 0 });
  });
  it('replace: one writer commits a fresh epoch, appends the next ones, and a later fresh epoch replaces all', async () => {
    const w = await open('sw.epochs', 'epochs');
    for (const e of [1, 2, 3]) {
      for (const b of epochBatches(e, 'append', 300)) w.write(b);
      assert.equal(await w.commit(key('epochs', e)), `postgres sw.epochs (300 rows, replace, epoch ${e})`);
    }
    assert.equal(await count('sw.epochs'), 900);
    assert.deepEqual(new Set((await ids('sw.epochs')).map((id) => Math.floor(id / 100_000))), new Set([1, 2, 3]));
    for (const b of epochBatches(4, 'append', 10)) w.write(b);
    await w.commit(key('epochs', 4, true));
    assert.equal(await count('sw.epochs'), 10);
    assert.deepEqual(await keys('epochs'), [1, 2, 3, 4]);
    assert.deepEqual(await leftovers(conn.sql, 'sw.epochs'), { staged: 0, pending: 0 });
  });

  it('merge: each epoch upserts into what the earlier ones committed, the last row per key winning', async () => {
    const w = await open('sw.merged', 'merged', 'merge');
    const expected = new Map<number, string | null>();
    for (const e of [1, 2, 3]) {
      for (const b of epochBatches(e, 'merge', 500)) {
        w.write(b);
        for (let i = 0; i < b.length; i++) expected.set(b.columns[0][i] as number, b.columns[1][i] as string | null);
      }
      await w.commit(key('merged', e, e === 1));
    }
    const got = await conn.sql`select id::text as id, name from sw.merged`;
    assert.deepEqual(new Map(got.map((r) => [Number(r.id), r.name as string | null])), expected);
    assert.deepEqual(await keys('merged'), [1, 2, 3]);
  });

  it('an epoch committed again by a new writer (after a restart) is dropped', async () => {
    const first = await open('sw.again', 'again');
    for (const e of [1, 2]) {
      for (const b of epochBatches(e, 'append', 100)) first.write(b);
      await first.commit(key('again', e));
    }
    const before = await tableText(conn.sql, 'sw.again');
    const restarted = await open('sw.again', 'again');
    for (const b of epochBatches(2, 'append', 100)) restarted.write(b);
    assert.equal(await restarted.commit(key('again', 2)), 'postgres sw.again (epoch 2 already committed)');
    for (const b of epochBatches(1, 'append', 100)) restarted.write(b);
    assert.equal(await restarted.commit(key('again', 1)), 'postgres sw.again (epoch 1 already committed)');
    assert.deepEqual(await tableText(conn.sql, 'sw.again'), before);
    assert.deepEqual(await leftovers(conn.sql, 'sw.again'), { staged: 0, pending: 0 });
    for (const b of epochBatches(3, 'append', 100)) restarted.write(b);
    assert.match(await restarted.commit(key('again', 3)), /100 rows, replace, epoch 3\)/);
    assert.equal(await count('sw.again'), 300);
  });

  it('commits under the epoch the runner names, even when it is not the one after the last committed', async () => {
    const w = await open('sw.named', 'named');
    for (const b of epochBatches(1, 'append', 50)) w.write(b);
    assert.match(await w.commit(key('named', 7, true)), /50 rows, replace, epoch 7\)/);
    // An epoch with no rows still commits its key.
    assert.match(await w.commit(key('named', 9, false)), /0 rows, replace, epoch 9\)/);
    assert.deepEqual(await keys('named'), [7, 9]);
    assert.equal(await count('sw.named'), 50);
    assert.deepEqual(await leftovers(conn.sql, 'sw.named'), { staged: 0, pending: 0 });
  });

  it('abort throws away the epoch being written; the writer goes on with the next', async () => {
    const w = await open('sw.midrun', 'midrun');
    for (const b of epochBatches(1, 'append', 20)) w.write(b);
    await w.commit(key('midrun', 1));
    for (const b of epochBatches(2, 'append', 20)) w.write(b);
    await w.abort();
    assert.deepEqual(await leftovers(conn.sql, 'sw.midrun'), { staged: 0, pending: 0 });
    for (const b of epochBatches(2, 'append', 5)) w.write(b);
    await w.commit(key('midrun', 2, false));
    assert.equal(await count('sw.midrun'), 25);
  });
});
