// Every napkin type through the PostgreSQL sink and back: column types as declared, values exactly as written.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FINGERPRINT } from '../../../test/pg-fixtures.ts';
import { usePgServer } from '../../../test/pg-server.ts';
import type { Schema, Value } from '../../expr/types.ts';
import { connectPg, type PgConnection } from './connection.ts';
import { PgEpochSink } from './epoch-sink.ts';
import { assignPartition } from './fence.ts';

const SCHEMA: Schema = {
  fields: [
    { name: 'i', type: { kind: 'int64' }, nullable: false },
    { name: 'f', type: { kind: 'float64' }, nullable: true },
    { name: 'd', type: { kind: 'decimal', precision: 18, scale: 4 }, nullable: true },
    { name: 's', type: { kind: 'string' }, nullable: true },
    { name: 'b', type: { kind: 'bool' }, nullable: true },
    { name: 'ts', type: { kind: 'timestamp' }, nullable: true },
    { name: 'dt', type: { kind: 'date' }, nullable: true },
    { name: 'e', type: { kind: 'enum', name: 'Status', symbols: ['new', 'paid'] }, nullable: true },
    { name: 'l', type: { kind: 'list', item: { type: { kind: 'int64' }, nullable: false } }, nullable: true },
    {
      name: 'st',
      type: { kind: 'struct', name: 'P', fields: [{ name: 'a', type: { kind: 'string' }, nullable: true }] },
      nullable: true,
    },
  ],
};

const DAY = 86_400_000;
const ROWS: Value[][] = [
  [
    9007199254740991,
    0.1,
    1234.5678,
    'naïve – “quoted” ‘x’ 😀 \\ \t \n end',
    true,
    Date.UTC(2024, 1, 29, 23, 59, 59, 999),
    Date.UTC(2024, 1, 29) / DAY,
    'paid',
    [1, -2, 3],
    { a: 'x"y' },
  ],
  [-9007199254740991, -1.5e308, -0.0001, '', false, -1, -1, 'new', [], { a: null }],
  [0, null, null, null, null, null, null, null, null, null],
  [1, -0, 0, '\\N', true, Date.UTC(-43, 2, 15, 12), Date.UTC(-43, 2, 15) / DAY, 'new', [0], { a: '' }],
  [
    2,
    Number.POSITIVE_INFINITY,
    99999999999.9999,
    'x',
    false,
    Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    0,
    null,
    null,
    null,
  ],
  [3, Number.NaN, -12.34, 'y', null, 0, 2932896, null, null, null],
];

describe('PostgreSQL sink types', () => {
  usePgServer();
  let conn: PgConnection;
  before(async () => {
    conn = connectPg('env:NAPKIN_PG_URL');
    const sink = await PgEpochSink.open(conn, {
      table: 'types.all_kinds',
      contract: SCHEMA,
      key: ['i'],
      mode: 'append',
      flow: 'types',
      sink: 'out',
      partition: '0',
    });
    const token = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
    const w = sink.stage(1, token);
    const columns = SCHEMA.fields.map((_, c) => ROWS.map((r) => r[c]));
    w.write({ length: ROWS.length, columns });
    await w.preCommit();
    await sink.commit(1, token);
  });
  after(async () => {
    await conn.sql.end();
  });

  it('declares each column with the type the contract asks for', async () => {
    const cols = await conn.sql`select column_name as name, format_type(atttypid, atttypmod) as type, attnotnull
      from information_schema.columns c join pg_attribute a
        on a.attrelid = 'types.all_kinds'::regclass and a.attname = c.column_name
      where table_schema = 'types' and table_name = 'all_kinds' order by ordinal_position`;
    assert.deepEqual(
      cols.map((c) => `${c.name} ${c.type}${c.attnotnull ? ' not null' : ''}`),
      [
        'i bigint not null',
        'f double precision',
        'd numeric(18,4)',
        's text',
        'b boolean',
        'ts timestamp(3) with time zone',
        'dt date',
        'e text',
        'l jsonb',
        'st jsonb',
      ],
    );
  });

  it('reads back every value exactly as written', async () => {
    const rows = await conn.sql`select i::text, f, d::text, s, b,
        (extract(epoch from ts) * 1000)::text as ts, (dt - date '1970-01-01') as dt, e, l::text, st::text
      from types.all_kinds order by i`;
    const back = rows.map((r) => [
      Number(r.i),
      r.f,
      r.d === null ? null : Number(r.d),
      r.s,
      r.b,
      r.ts === null ? null : Number(r.ts),
      r.dt,
      r.e,
      r.l === null ? null : JSON.parse(String(r.l)),
      r.st === null ? null : JSON.parse(String(r.st)),
    ]);
    const expected = [...ROWS].sort((a, b) => (a[0] as number) - (b[0] as number));
    assert.equal(back.length, expected.length);
    for (let i = 0; i < back.length; i++)
      assert.deepEqual(back[i], expected[i], `row with i=${String(expected[i][0])}`);
    const text = await conn.sql`select d::text, ts::text from types.all_kinds where i in (1, 2) order by i`;
    assert.deepEqual(
      text.map((r) => [r.d, r.ts]),
      [
        ['0.0000', '0044-03-15 12:00:00+00 BC'],
        ['99999999999.9999', '9999-12-31 23:59:59.999+00'],
      ],
    );
    const negZero = await conn.sql`select f from types.all_kinds where i = 1`;
    assert.ok(Object.is(negZero[0].f, -0), 'float64 -0 keeps its sign');
  });
});
