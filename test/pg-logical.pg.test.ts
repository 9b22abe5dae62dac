// test/pg-server.ts started with `logical: true` (for change data capture): wal_level = logical, a pgoutput
// replication slot decodes committed changes; a default server keeps wal_level = replica.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { type PgServer, startPgServer, usePgServer } from './pg-server.ts';

describe('test PostgreSQL server with logical decoding', () => {
  const server = usePgServer('NAPKIN_PG_LOGICAL_URL', { logical: { maxReplicationSlots: 4, maxWalSenders: 4 } });
  let sql: postgres.Sql;
  before(() => {
    sql = postgres(server().url, { max: 1, onnotice: () => undefined });
  });
  after(async () => {
    await sql?.end();
  });

  it('runs with wal_level = logical and the asked-for slots and senders', async () => {
    const rows = await sql`SELECT name, setting FROM pg_settings
      WHERE name IN ('wal_level', 'max_replication_slots', 'max_wal_senders') ORDER BY name`;
    assert.deepEqual(
      rows.map((r) => [r.name, r.setting]),
      [
        ['max_replication_slots', '4'],
        ['max_wal_senders', '4'],
        ['wal_level', 'logical'],
      ],
    );
  });

  it('decodes committed changes through a pgoutput slot', async () => {
    await sql`CREATE TABLE orders (id int PRIMARY KEY, amount numeric)`;
    await sql`CREATE PUBLICATION napkin_pub FOR TABLE orders`;
    await sql`SELECT pg_create_logical_replication_slot('napkin_slot', 'pgoutput')`;
    await sql`INSERT INTO orders VALUES (1, 9.5), (2, 3)`;
    await sql`UPDATE orders SET amount = 4 WHERE id = 2`;
    const [{ n }] = await sql`SELECT count(*)::int AS n FROM pg_logical_slot_get_binary_changes(
      'napkin_slot', NULL, NULL, 'proto_version', '1', 'publication_names', 'napkin_pub')`;
    // BEGIN, RELATION, INSERT, INSERT, COMMIT, then BEGIN, UPDATE, COMMIT at least.
    assert.ok(n >= 7, `expected the two transactions' messages, got ${n}`);
    await sql`SELECT pg_drop_replication_slot('napkin_slot')`;
  });
});

describe('test PostgreSQL server by default', () => {
  let server: PgServer | undefined;
  after(async () => {
    await server?.stop();
  });

  it('keeps wal_level = replica', async () => {
    server = await startPgServer();
    const sql = postgres(server.url, { max: 1 });
    try {
      const [{ wal_level }] = await sql`SHOW wal_level`;
      assert.equal(wal_level, 'replica');
    } finally {
      await sql.end();
    }
  });
});
