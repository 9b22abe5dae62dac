// The PostgreSQL sink as the runtime sees it (a SinkWriter, one epoch per run).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONTRACT, epochBatches, FINGERPRINT, leftovers } from '../../../test/pg-fixtures.ts';
import { usePgServer } from '../../../test/pg-server.ts';
import type { SinkWriter } from '../../runtime/execute.ts';
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

  const open = (table: string, flow: string): Promise<SinkWriter> =>
    openPostgresSink({
      connection: 'env:NAPKIN_PG_URL',
      table,
      contract: CONTRACT,
      key: ['id'],
      mode: 'replace',
      input: CONTRACT,
      flow,
      sink: 'write_out',
      fingerprint: FINGERPRINT,
    });
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
    const token = await assignPartition(conn.sql, 'crashed', '0', FINGERPRINT);
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
});
