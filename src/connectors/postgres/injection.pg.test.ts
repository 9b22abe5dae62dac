// SQL injection (spec reliability §5): payloads in every value that reaches SQL (row values, flow, sink, partition,
// fingerprint) travel as data. A recording client shows the statement text is the same whatever the payload, and the
// database holds exactly the expected rows afterwards; names outside the allowlist never reach the server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usePgServer } from '../../../test/pg-server.ts';
import type { Schema } from '../../expr/types.ts';
import { postgres } from '../../flow/storage.ts';
import { connectPg } from './connection.ts';
import { PgEpochSink } from './epoch-sink.ts';
import { assignPartition } from './fence.ts';
import { tableName } from './identifiers.ts';

const PAYLOADS = [
  `'; DROP TABLE inj.target; --`,
  `"; DROP TABLE napkin.fence; --`,
  `’; DROP SCHEMA napkin CASCADE; --`,
  `‘ OR ‘1’=‘1`,
  `" OR "1"="1`,
  `\\'; SELECT pg_sleep(5); --`,
  `$fn$; DROP TABLE inj.target; $fn$`,
  `%I %s %L`,
  `\\.`,
  `line\n\\.\nafter`,
  `tab\there\\N`,
  `/* comment */ -- trailing`,
  `\\x27 \\u0027 ${'\\'}'`,
];

const CONTRACT: Schema = {
  fields: [
    { name: 'id', type: { kind: 'int64' }, nullable: false },
    { name: 'text', type: { kind: 'string' }, nullable: true },
  ],
};

interface Recorded {
  readonly statements: string[];
  readonly parameters: unknown[];
}

/** One full life of a sink with `payload` in every value, recording what the client sends. */
async function scenario(payload: string, values: readonly string[], firstId: number): Promise<Recorded> {
  const rec: Recorded = { statements: [], parameters: [] };
  const conn = connectPg('env:NAPKIN_PG_URL', {
    onQuery: (text, params) => {
      // The client's one-time type lookup on each new connection: not ours, and its count varies with the pool.
      if (text.includes('pg_catalog.pg_type')) return;
      rec.statements.push(text);
      rec.parameters.push(...params);
    },
  });
  try {
    const o = { flow: `flow ${payload}`, sink: `sink ${payload}`, partition: payload };
    const sink = await PgEpochSink.open(conn, {
      table: 'inj.target',
      contract: CONTRACT,
      key: ['id'],
      mode: 'merge',
      ...o,
    });
    const token = await assignPartition(conn.sql, sink.fence, `fp ${payload}`);
    const w = sink.stage(1, token);
    w.write({ length: values.length, columns: [values.map((_, i) => firstId + i), [...values]] });
    await w.preCommit();
    await sink.commit(1, token);
    await sink.commit(1, token);
    await sink.recover(2, token, 'commit');
    await sink.recover(2, token, 'discard');
    await sink.committedEpoch();
    await sink.pending();
  } finally {
    await conn.sql.end();
  }
  return rec;
}

describe('PostgreSQL sink: SQL injection', () => {
  usePgServer();

  it('statement text does not vary with the payload, and payloads are stored as data', async () => {
    // The first life creates the tables; the two compared find them there.
    await scenario('setup', [], 0);
    const plain = await scenario('plain', ['a', 'b'], 1);
    const hostile = await scenario(PAYLOADS.join(' | '), PAYLOADS, 100);
    const texts = (r: Recorded) => [...new Set(r.statements)].sort();
    assert.deepEqual(texts(hostile), texts(plain));
    for (const p of PAYLOADS) {
      assert.ok(!hostile.statements.some((s) => s.includes(p)), `payload in statement text: ${p}`);
    }
    assert.ok(
      hostile.parameters.some((p) => typeof p === 'string' && p.includes(PAYLOADS[0])),
      'the payload went as a bound parameter',
    );

    const conn = connectPg('env:NAPKIN_PG_URL');
    try {
      const rows = await conn.sql`select id::int, text from inj.target order by id`;
      assert.deepEqual(
        rows.map((r) => [r.id, r.text]),
        [[1, 'a'], [2, 'b'], ...PAYLOADS.map((p, i) => [100 + i, p])],
      );
      const tables = await conn.sql`select table_schema || '.' || table_name as t from information_schema.tables
        where table_schema in ('napkin', 'inj') and table_name not like 'stage\\_%' order by 1`;
      assert.deepEqual(
        tables.map((t) => t.t),
        ['inj.target', 'napkin.commits', 'napkin.fence', 'napkin.pending'],
      );
      const fences = await conn.sql`select flow, "partition", fingerprint from napkin.fence order by flow`;
      assert.deepEqual(
        fences.map((f) => [f.flow, f.partition, f.fingerprint]),
        [
          ['flow plain', 'plain', 'fp plain'],
          ['flow setup', 'setup', 'fp setup'],
          [`flow ${PAYLOADS.join(' | ')}`, PAYLOADS.join(' | '), `fp ${PAYLOADS.join(' | ')}`],
        ].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      );
    } finally {
      await conn.sql.end();
    }
  });

  it('names outside the allowlist are refused before anything is sent', async () => {
    const sent: string[] = [];
    const conn = connectPg('env:NAPKIN_PG_URL', { onQuery: (t) => sent.push(t) });
    try {
      for (const table of [`inj.x; DROP TABLE inj.target`, 'inj."x"', 'Inj.X', 'a.b.c', `x'`]) {
        assert.throws(() => tableName(table), /must be|is not a lower-case identifier/, table);
        assert.throws(() => postgres({ table, connection: 'env:NAPKIN_PG_URL' }), /lower-case/, table);
      }
      const bad: Schema = {
        fields: [{ name: 'x"; DROP TABLE inj.target; --', type: { kind: 'int64' }, nullable: false }],
      };
      const o = { contract: bad, key: [], mode: 'append' as const, flow: 'f', sink: 's', partition: '0' };
      await assert.rejects(PgEpochSink.open(conn, { table: 'inj.other', ...o }), /is not a lower-case identifier/);
      assert.deepEqual(sent, [], 'no statement was sent');
    } finally {
      await conn.sql.end();
    }
  });
});
