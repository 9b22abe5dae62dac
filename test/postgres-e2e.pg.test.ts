// A project writing to PostgreSQL through the real CLI: `storage: postgres({ table, connection: 'env:NAPKIN_PG_URL' })`.
// Each run is one epoch; a second run replaces (or merges) rather than doubling; the connection URL and its password
// appear in no output, also when the connection fails.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectPg, type PgConnection } from '../src/connectors/postgres/connection.ts';
import { napkin, removeDir, show, tempProject, writeFiles } from './helpers.ts';
import { type PgServer, usePgServer } from './pg-server.ts';

const CONFIG = `import { contract, csv, dataset, defineProject, flow, postgres, read, t, write } from 'napkin';

const orders = contract({
  key: ['id'],
  fields: { id: t.int64(), customer: t.string(), amount: t.decimal(12, 2), placed_at: t.timestamp(), note: t.string().optional() },
});
const input = dataset('fx.orders', { owner: 'tests', storage: csv('data/orders.csv'), contract: orders });
const pg = (name: string) =>
  dataset(\`pg.\${name}\`, {
    owner: 'tests',
    storage: postgres({ table: \`e2e.\${name}\`, connection: 'env:NAPKIN_PG_URL' }),
    contract: orders,
  });

export default defineProject({
  name: 'pg_e2e',
  warehouse: 'out/warehouse.duckdb',
  flows: [
    flow({ name: 'replace_orders', owner: 'tests', sla: '1d', outputs: [write(pg('replaced'), read(input))] }),
    flow({
      name: 'merge_orders',
      owner: 'tests',
      sla: '1d',
      outputs: [write(pg('merged'), read(input), { writeMode: 'merge' })],
    }),
  ],
});
`;

const ORDERS = (rows: readonly string[]) => `id,customer,amount,placed_at,note\n${rows.join('\n')}\n`;
const FIRST = [
  `1,C1,10.50,2024-04-03T10:00:00Z,"it's ""quoted"""`,
  '2,C2,20.00,2024-04-03T11:00:00Z,',
  `3,C3,0.01,2024-04-03T12:00:00Z,'; DROP TABLE e2e.merged; --`,
];
const SECOND = ['2,C2,22.00,2024-04-04T11:00:00Z,updated', '4,C4,40.00,2024-04-04T12:00:00Z,'];

describe('napkin run into PostgreSQL', () => {
  const server = usePgServer();
  let dir: string;
  let conn: PgConnection;
  before(() => {
    dir = tempProject('napkin-pg-e2e-');
    writeFiles(dir, { 'napkin.config.ts': CONFIG, 'data/orders.csv': ORDERS(FIRST) });
    conn = connectPg('env:NAPKIN_PG_URL');
  });
  after(async () => {
    await conn.sql.end();
    removeDir(dir);
  });

  const table = async (name: string) =>
    (
      await conn.sql`select id::int, customer, amount::text, placed_at::text, note from ${conn.sql(`e2e.${name}`)}
      order by id`
    ).map((r) => [r.id, r.customer, r.amount, r.placed_at, r.note]);
  const noSecret = (s: PgServer, text: string) => {
    assert.ok(!text.includes(s.password), 'the password appears in the output');
    assert.ok(!text.includes(encodeURIComponent(s.password)), 'the URL-encoded password appears in the output');
  };

  it('writes each dataset in one epoch; a second run replaces or merges, never doubles', async () => {
    const first = napkin(dir, 'run', '--summary');
    assert.equal(first.status, 0, show(first));
    noSecret(server(), first.stdout + first.stderr);
    assert.match(first.stdout, /postgres e2e\.replaced \(3 rows, replace, epoch 1\)/, show(first));
    const expectedFirst = [
      [1, 'C1', '10.50', '2024-04-03 10:00:00+00', `it's "quoted"`],
      [2, 'C2', '20.00', '2024-04-03 11:00:00+00', null],
      [3, 'C3', '0.01', '2024-04-03 12:00:00+00', `'; DROP TABLE e2e.merged; --`],
    ];
    assert.deepEqual(await table('replaced'), expectedFirst);
    assert.deepEqual(await table('merged'), expectedFirst);

    writeFiles(dir, { 'data/orders.csv': ORDERS(SECOND) });
    const second = napkin(dir, 'run', '--summary');
    assert.equal(second.status, 0, show(second));
    assert.match(second.stdout, /epoch 2/);
    const expectedSecond = [
      [2, 'C2', '22.00', '2024-04-04 11:00:00+00', 'updated'],
      [4, 'C4', '40.00', '2024-04-04 12:00:00+00', null],
    ];
    assert.deepEqual(await table('replaced'), expectedSecond);
    assert.deepEqual(await table('merged'), [expectedFirst[0], expectedSecond[0], expectedFirst[2], expectedSecond[1]]);
    const keys = await conn.sql`select flow, epoch::int from napkin.commits order by flow, epoch`;
    assert.deepEqual(
      keys.map((k) => [k.flow, k.epoch]),
      [
        ['merge_orders', 1],
        ['merge_orders', 2],
        ['replace_orders', 1],
        ['replace_orders', 2],
      ],
    );
  });

  it('a failed connection names the reference, never the URL or the password', () => {
    const s = server();
    const wrong = s.url.replace(`:${s.password}@`, `:${s.password}x@`);
    const failed = napkinWithEnv(dir, { NAPKIN_PG_URL: wrong });
    assert.notEqual(failed.status, 0, show(failed));
    noSecret(s, failed.stdout + failed.stderr);
    assert.ok(!(failed.stdout + failed.stderr).includes(wrong));
    assert.match(failed.stderr, /password authentication failed|env:NAPKIN_PG_URL/, show(failed));
    const unset = napkinWithEnv(dir, { NAPKIN_PG_URL: '' });
    assert.notEqual(unset.status, 0);
    assert.match(unset.stderr, /env:NAPKIN_PG_URL: environment variable NAPKIN_PG_URL is not set/, show(unset));
  });
});

/** `napkin run replace_orders` with environment overrides (the helper passes process.env through). */
function napkinWithEnv(dir: string, env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return napkin(dir, 'run', 'replace_orders');
  } finally {
    for (const k of Object.keys(env)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}
