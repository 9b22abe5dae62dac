// PostgreSQL change data capture (postgresCdc) through the real CLI against a server with wal_level = logical: the
// initial snapshot and then inserts, updates and deletes land in DuckDB (a changelog table and a merged mirror); a
// second run resumes with nothing missing or repeated; the slot is never confirmed past napkin's log; a bad value is
// quarantined with its table and LSN; a schema change stops the run as contract drift; napkin check names missing
// changelog columns; a CDC table is the right side of a temporal join.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { formatLsn, parseLsn } from '../src/connectors/postgres/pgoutput.ts';
import { defaultSlot } from '../src/workspace/cdc-ingest.ts';
import { kindOf, topicDir } from '../src/workspace/topic.ts';
import { Topic } from '../src/workspace/topic-log.ts';
import { BIN, napkin, queryDuck, removeDir, show, tempProject, writeFiles } from './helpers.ts';
import { usePgServer } from './pg-server.ts';

const ITEMS = (
  idle: string,
  options = '',
) => `import { cdcFields, col, contract, dataset, defineProject, flow, postgresCdc, read, t, write } from 'napkin';
const items = dataset('src.items', {
  owner: 'tests',
  storage: postgresCdc({ table: 'shop.items', connection: 'env:NAPKIN_PG_URL', stopAfterIdle: '${idle}' }),
  contract: contract({ key: ['id'], fields: {
    ...cdcFields({ committedAt: true }),
    id: t.int64(), name: t.string().optional(), price: t.decimal(8, 2), in_stock: t.bool(),
    added: t.timestamp().optional(), day: t.date().optional(),
  } }),
});
const changes = dataset('out.changes', { owner: 'tests', contract: contract({ fields: {
  op: t.string(), lsn: t.string(), id: t.int64(), name: t.string().optional(), price: t.decimal(8, 2),
  before: t.string().optional(), at: t.timestamp() } }) });
const mirror = dataset('out.mirror', { owner: 'tests', contract: contract({ key: ['id'], fields: {
  id: t.int64(), name: t.string().optional(), price: t.decimal(8, 2), in_stock: t.bool(),
  added: t.timestamp().optional(), day: t.date().optional(), retraction: t.bool() } }) });
export default defineProject({
  name: 'cdc_e2e',
  flows: [flow({ name: 'items_cdc', owner: 'tests', sla: '2s', outputs: [
    write(changes, read(items${options}).select({ op: col('_op').cast('string'), lsn: col('_lsn'), id: col('id'),
      name: col('name'), price: col('price'), before: col('_before'), at: col('_committed_at') }).stage('changelog')),
    write(mirror, read(items${options}).withColumns({ retraction: col('_op').eq('delete') })
      .select('id', 'name', 'price', 'in_stock', 'added', 'day', 'retraction'), { writeMode: 'merge' }),
  ] })],
});
`;

/** Starts `napkin run` in the background; resolves with its exit code and output when it ends. */
function start(dir: string, env: Record<string, string> = {}) {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'run', '--summary'], {
    cwd: dir,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (b) => {
    stdout += String(b);
  });
  child.stderr?.on('data', (b) => {
    stderr += String(b);
  });
  const done = new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (status) => resolve({ status, stdout, stderr })),
  );
  return { child, done };
}

/** Waits until `check` holds (polling), or fails after `ms`. */
async function until(what: string, check: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The LSN napkin's log holds for a CDC dataset (its last marker's position). */
async function loggedLsn(dir: string, dataset: string): Promise<bigint> {
  const topic = await Topic.open(topicDir(join(dir, '.napkin'), dataset), dataset);
  try {
    return BigInt((topic.state.position as { lsn: number }).lsn);
  } finally {
    await topic.close();
  }
}

/** The rows in a dataset's topic (values in the contract's field order). */
async function topicRows(dir: string, dataset: string): Promise<unknown[][]> {
  const topic = await Topic.open(topicDir(join(dir, '.napkin'), dataset), dataset);
  try {
    const out: unknown[][] = [];
    for (let at = topic.startOffset; at < topic.endOffset; ) {
      const records = await topic.read(at, 1000);
      if (records.length === 0) break;
      for (const r of records)
        if (kindOf(r) === 'row') out.push(JSON.parse(Buffer.from(r.value as Uint8Array).toString()));
      at = records[records.length - 1].offset + 1;
    }
    return out;
  } finally {
    await topic.close();
  }
}

describe('postgresCdc: change data capture into napkin', () => {
  const server = usePgServer('NAPKIN_PG_URL', { logical: { maxReplicationSlots: 10, maxWalSenders: 10 } });
  let sql: postgres.Sql;
  const dirs: string[] = [];
  const project = (files: Record<string, string>) => {
    const dir = tempProject('napkin-cdc-');
    dirs.push(dir);
    writeFiles(dir, files);
    return dir;
  };
  before(async () => {
    sql = postgres(server().url, { max: 2, onnotice: () => undefined });
    await sql`create schema shop`;
  });
  after(async () => {
    await sql?.end();
    for (const d of dirs) removeDir(d);
  });
  /** Whether a slot named like this streams (its snapshot, taken while the slot is created, is in the log). */
  const streaming = async (slotLike: string) =>
    (
      await sql`select 1 from pg_stat_replication r join pg_replication_slots s on s.active_pid = r.pid
        where s.slot_name like ${slotLike} and r.state in ('catchup', 'streaming')`
    ).length > 0;

  it('takes a snapshot, then streams inserts, updates and deletes; a second run resumes exactly', async () => {
    await sql`create table shop.items (id int primary key, name text, price numeric(8,2) not null,
      in_stock boolean not null, added timestamptz, day date)`;
    await sql`alter table shop.items replica identity full`;
    await sql`insert into shop.items values (1, 'kettle', 19.99, true, '2024-03-01 10:00:00.123456+00', '2024-03-01'),
      (2, null, 5, false, null, null)`;
    const dir = project({ 'napkin.config.ts': ITEMS('2s') });
    const run = start(dir);
    await until('the CDC slot to stream', () => streaming('napkin_src_items_%'));
    await sql`insert into shop.items values (3, 'toaster', 30, true, null, '2024-03-02')`;
    await sql`update shop.items set price = 21.50 where id = 1`;
    await sql`delete from shop.items where id = 2`;
    await sql.begin(async (tx) => {
      await tx`insert into shop.items values (4, 'it''s "q"', 1.25, true, null, null)`;
      await tx`update shop.items set name = 'toaster 2' where id = 3`;
    });
    const first = await run.done;
    assert.equal(first.status, 0, show(first));
    const warehouse = join(dir, '.napkin', 'warehouse.duckdb');
    const changes = await queryDuck(
      warehouse,
      `SELECT op, id, name, CAST(price AS VARCHAR) AS price, json_extract_string(before, '$.price') AS before_price
       FROM out.changes ORDER BY lsn, op DESC, id`,
    );
    assert.deepEqual(
      changes.map((r) => [r.op, r.id, r.name, r.price, r.before_price]),
      [
        ['snapshot', 1, 'kettle', '19.99', null],
        ['snapshot', 2, null, '5.00', null],
        ['insert', 3, 'toaster', '30.00', null],
        ['update', 1, 'kettle', '21.50', '19.99'],
        ['delete', 2, null, '5.00', '5.00'],
        ['update', 3, 'toaster 2', '30.00', '30.00'],
        ['insert', 4, `it's "q"`, '1.25', null],
      ],
    );
    // The LSNs are PostgreSQL's, zero-padded; the commit time is the transaction's.
    const lsns = await queryDuck(warehouse, `SELECT DISTINCT lsn FROM out.changes ORDER BY lsn`);
    assert.ok(lsns.every((r) => /^[0-9A-F]{8}\/[0-9A-F]{8}$/.test(String(r.lsn))));
    const mirror = await queryDuck(
      warehouse,
      `SELECT id, name, CAST(price AS VARCHAR) AS price, in_stock, CAST(added AS VARCHAR) AS added,
       CAST(day AS VARCHAR) AS day FROM out.mirror ORDER BY id`,
    );
    const pg = await sql`select id, name, price::text, in_stock, day::text from shop.items order by id`;
    assert.deepEqual(
      mirror.map((r) => [r.id, r.name, r.price, r.in_stock, r.day]),
      pg.map((r) => [r.id, r.name, r.price, r.in_stock, r.day]),
    );
    assert.equal(mirror[0].added, '2024-03-01 10:00:00.123');

    // The slot is confirmed exactly up to what the log holds, never past it.
    const logged = await loggedLsn(dir, 'src.items');
    const [slot] = await sql`select slot_name, confirmed_flush_lsn::text as lsn from pg_replication_slots`;
    assert.ok(parseLsn(slot.lsn) <= logged, `slot at ${slot.lsn}, log at ${formatLsn(logged)}`);

    // Changes made while no napkin runs are streamed by the next run, once.
    await sql`update shop.items set in_stock = false where id = 4`;
    await sql`delete from shop.items where id = 1`;
    const second = napkin(dir, 'run');
    assert.equal(second.status, 0, show(second));
    const after = await queryDuck(warehouse, `SELECT op, id FROM out.changes ORDER BY lsn, op DESC, id`);
    assert.deepEqual(
      after.slice(changes.length).map((r) => [r.op, r.id]),
      [
        ['update', 4],
        ['delete', 1],
      ],
    );
    // napkin status shows the CDC topic like any source's: every record in it is covered by a committed epoch.
    const status = JSON.parse(napkin(dir, 'status', '--json').stdout) as {
      flows: { sources: { dataset: string; state: string; records?: number }[] }[];
    };
    assert.deepEqual(
      status.flows[0].sources.map((x) => [x.dataset, x.state, x.records]),
      [['src.items', 'ok', 0]],
    );
    const mirror2 = await queryDuck(warehouse, `SELECT id, in_stock FROM out.mirror ORDER BY id`);
    assert.deepEqual(
      mirror2.map((r) => [r.id, r.in_stock]),
      [
        [3, true],
        [4, false],
      ],
    );
  });

  it('reconnects when the replication connection is lost, resuming from the log: nothing missed or repeated', async () => {
    await sql`create table shop.events (id int primary key, n int not null)`;
    await sql`alter table shop.events replica identity full`;
    const dir = project({
      'napkin.config.ts': `import { cdcFields, col, contract, dataset, defineProject, flow, postgresCdc, read, t, write } from 'napkin';
const events = dataset('src.events', {
  owner: 'tests',
  storage: postgresCdc({ table: 'shop.events', connection: 'env:NAPKIN_PG_URL', stopAfterIdle: '4s', reconnectFor: '1m' }),
  contract: contract({ key: ['id'], fields: { ...cdcFields(), id: t.int64(), n: t.int64() } }),
});
const changes = dataset('out.events', { owner: 'tests', contract: contract({ fields: {
  op: t.string(), lsn: t.string(), id: t.int64(), n: t.int64() } }) });
export default defineProject({
  name: 'cdc_reconnect',
  flows: [flow({ name: 'events_cdc', owner: 'tests', sla: '2s', outputs: [
    write(changes, read(events).select({ op: col('_op').cast('string'), lsn: col('_lsn'), id: col('id'), n: col('n') })),
  ] })],
});
`,
    });
    const run = start(dir);
    const slot = 'napkin_src_events_%';
    const kill = async () => {
      const killed = await sql`select pg_terminate_backend(active_pid) as ok from pg_replication_slots
        where slot_name like ${slot} and active_pid is not null`;
      assert.equal(killed.length, 1, 'one walsender serves the slot');
    };
    const insert = async (from: number, to: number) => {
      for (let i = from; i <= to; i++) await sql`insert into shop.events values (${i}, ${i * 10})`;
    };
    const streams = (what: string) =>
      until(what, () => streaming(slot)).catch(async (e: Error) => {
        run.child.kill('SIGKILL');
        throw new Error(`${e.message}: ${show(await run.done)}`);
      });
    await streams('the CDC slot to stream');
    await insert(1, 40);
    await kill();
    // Committed while no session streams: the next one gets them from the slot.
    await insert(41, 80);
    await streams('the CDC slot to stream again');
    await insert(81, 100);
    await kill();
    await insert(101, 120);
    const done = await run.done;
    assert.equal(done.status, 0, show(done));
    const notices = done.stderr.split('\n').filter((l) => l.includes('reconnecting'));
    assert.ok(notices.length >= 2, `one notice per lost connection:\n${done.stderr}`);
    assert.match(
      notices[0],
      /src\.events: the replication stream of slot napkin_src_events_\w+ ended \(.+\); it resumes from LSN [0-9A-F]+\/[0-9A-F]+; reconnecting in \d+ ms \(attempt 1\)/,
    );
    const rows = await queryDuck(
      join(dir, '.napkin', 'warehouse.duckdb'),
      `SELECT count(*) AS n, count(DISTINCT id) AS ids, min(id) AS lo, max(id) AS hi, sum(n) AS total,
       count(*) FILTER (WHERE op <> 'insert') AS other FROM out.events`,
    );
    assert.deepEqual(rows[0], { n: 120, ids: 120, lo: 1, hi: 120, total: 10 * ((120 * 121) / 2), other: 0 });
  });

  it('quarantines a value the contract refuses, naming the table and the LSN', async () => {
    await sql`create table shop.prices (id int primary key, name text, price numeric not null,
      in_stock boolean not null, added timestamptz, day date)`;
    await sql`alter table shop.prices replica identity full`;
    await sql`insert into shop.prices values (1, 'ok', 1, true, null, null)`;
    const config = ITEMS('1500ms', ", { onInvalid: 'quarantine', errorBudget: 5 }")
      .replace("table: 'shop.items'", "table: 'shop.prices'")
      .replace("name: 'cdc_e2e'", "name: 'cdc_bad'");
    const dir = project({ 'napkin.config.ts': config });
    const run = start(dir);
    await until('the CDC slot to stream', () => streaming('%'));
    await sql.begin(async (tx) => {
      await tx`insert into shop.prices values (2, 'too dear', 123456789.5, true, null, null)`;
      await tx`insert into shop.prices values (3, 'fine', 2.5, true, null, null)`;
    });
    const done = await run.done;
    assert.equal(done.status, 0, show(done));
    const warehouse = join(dir, '.napkin', 'warehouse.duckdb');
    const rows = await queryDuck(warehouse, `SELECT op, id, lsn FROM out.changes ORDER BY lsn, id`);
    assert.deepEqual(
      rows.map((r) => [r.op, r.id]),
      [
        ['snapshot', 1],
        ['insert', 3],
      ],
    );
    const q = await queryDuck(
      warehouse,
      `SELECT DISTINCT source, record, field, error_class, expected, found FROM napkin_meta.quarantine`,
    );
    assert.equal(q.length, 1, JSON.stringify(q));
    assert.match(String(q[0].source), /^postgres shop\.prices lsn [0-9A-F]{8}\/[0-9A-F]{8}$/);
    // A quarantined change is fixed in the table itself (the fix arrives as an update), not replayed.
    const replay = napkin(dir, 'quarantine', 'replay', 'src.items');
    assert.notEqual(replay.status, 0);
    assert.match(replay.stderr, /change data capture from postgres shop\.prices: correct the row in the table itself/);
    // The bad record's transaction is the good one's: the same commit LSN.
    assert.equal(String(q[0].source).split(' ').at(-1), rows[1].lsn);
    assert.deepEqual(
      [q[0].record, q[0].field, q[0].error_class, q[0].expected, q[0].found],
      [1, '/price', 'type', 'decimal(8,2)', '123456789.5'],
    );
  });

  it('stops with contract drift when the table changes under it, keeping what came before', async () => {
    await sql`create table shop.drifting (id int primary key, name text, price numeric(8,2) not null,
      in_stock boolean not null, added timestamptz, day date)`;
    await sql`alter table shop.drifting replica identity full`;
    const config = ITEMS('20s')
      .replace("table: 'shop.items'", "table: 'shop.drifting'")
      .replace("name: 'cdc_e2e'", "name: 'cdc_drift'");
    const dir = project({ 'napkin.config.ts': config });
    const run = start(dir);
    await until('the CDC slot to stream', () => streaming('%'));
    await sql`insert into shop.drifting values (1, 'before', 1, true, null, null)`;
    await sql`alter table shop.drifting add column colour text, drop column day`;
    await sql`insert into shop.drifting values (2, 'after', 2, true, null, 'red')`;
    const done = await run.done;
    assert.notEqual(done.status, 0, show(done));
    const line = done.stderr.split('\n').find((l) => l.includes('contract drift')) ?? '';
    assert.match(
      line,
      /contract drift: table shop\.drifting at LSN [0-9A-F/]+ no longer matches dataset src\.items's contract v1 \(added colour \(text\); removed day \(date\)\); change the contract/,
      show(done),
    );
    // The log (the truth) holds the change before the drift, none after it.
    const logged = (await topicRows(dir, 'src.items')).map((r) => [r[0], r[4]]);
    assert.deepEqual(logged, [['insert', 1]]);
    // A restart meets the same change and stops the same way: nothing after the drift is taken, nothing is lost.
    const again = napkin(dir, 'run');
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, /contract drift: .*added colour \(text\); removed day \(date\)/);
  });

  it('moves the slot of a quiet table on over the WAL other tables write, never past the log', async () => {
    await sql`create table shop.quiet (id int primary key, name text, price numeric(8,2) not null,
      in_stock boolean not null, added timestamptz, day date)`;
    await sql`alter table shop.quiet replica identity full`;
    await sql`create table shop.busy (id serial primary key, x int)`;
    const config = ITEMS('13s')
      .replace("table: 'shop.items'", "table: 'shop.quiet'")
      .replace("name: 'cdc_e2e'", "name: 'cdc_quiet'");
    const dir = project({ 'napkin.config.ts': config });
    const run = start(dir);
    await until('the CDC slot to stream', () => streaming('%'));
    const slot = defaultSlot('cdc_quiet', 'src.items');
    const [{ lsn: startLsn }] =
      await sql`select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = ${slot}`;
    // Eleven seconds of writes elsewhere: past the 10 s after which an idle slot is moved on.
    for (let i = 0; i < 44; i++) {
      await sql`insert into shop.busy (x) values (${i})`;
      await new Promise((r) => setTimeout(r, 250));
    }
    const done = await run.done;
    assert.equal(done.status, 0, show(done));
    const [{ lsn: endLsn }] =
      await sql`select confirmed_flush_lsn::text as lsn from pg_replication_slots where slot_name = ${slot}`;
    const logged = await loggedLsn(dir, 'src.items');
    assert.ok(parseLsn(endLsn) > parseLsn(startLsn), `the slot stayed at ${startLsn}`);
    assert.ok(parseLsn(endLsn) <= logged, `slot at ${endLsn}, log at ${formatLsn(logged)}`);
    assert.deepEqual(await topicRows(dir, 'src.items'), []);
  });

  it('napkin check names the changelog columns a CDC contract lacks', () => {
    const dir = project({
      'napkin.config.ts': `import { contract, dataset, defineProject, flow, postgresCdc, read, t, write } from 'napkin';
const src = dataset('src.bare', { owner: 'tests',
  storage: postgresCdc({ table: 'bare', connection: 'env:NAPKIN_PG_URL' }),
  contract: contract({ fields: { id: t.int64(), _lsn: t.int64() } }) });
const out = dataset('out.bare', { owner: 'tests', contract: contract({ fields: { id: t.int64(), _lsn: t.int64() } }) });
export default defineProject({ name: 'bare', flows: [flow({ name: 'bare', owner: 'tests', sla: '1d',
  outputs: [write(out, read(src))] })] });
`,
    });
    const r = napkin(dir, 'check');
    assert.equal(r.status, 3, show(r));
    assert.match(
      r.stdout,
      /error NAP026 src\.bare: the contract of change-data-capture dataset 'src\.bare' \(postgres bare\): it lacks the changelog column _op \(t\.enum\('CdcOp', \['snapshot', 'insert', 'update', 'delete'\]\)\); _lsn must be t\.string\(\); it lacks the changelog column _before \(t\.string\(\)\.optional\(\)\); it has no key/,
    );
  });

  it('feeds a temporal join: each order meets the rate in force at its time', async () => {
    await sql`create table shop.rates (currency text primary key, rate numeric(10,4) not null)`;
    await sql`alter table shop.rates replica identity full`;
    await sql`insert into shop.rates values ('USD', 0.9), ('GBP', 1.2)`;
    const dir = project({
      'data/orders.jsonl': '',
      'napkin.config.ts': `import { cdcFields, col, contract, dataset, defineProject, flow, jsonl, postgresCdc, read, t, write } from 'napkin';
const rates = dataset('fx.rates', { owner: 'tests',
  storage: postgresCdc({ table: 'shop.rates', connection: 'env:NAPKIN_PG_URL', stopAfterIdle: '3s' }),
  contract: contract({ key: ['currency'], eventTime: '_committed_at',
    fields: { ...cdcFields({ committedAt: true }), currency: t.string(), rate: t.decimal(10, 4) } }) });
const orders = dataset('shop.orders', { owner: 'tests',
  storage: jsonl('data/orders.jsonl', { follow: true, stopAfterIdle: '3s', pollInterval: '100ms' }),
  contract: contract({ eventTime: 'at', fields: { order_id: t.string(), currency: t.string(), at: t.timestamp() } }) });
const priced = dataset('out.priced', { owner: 'tests', contract: contract({ key: ['order_id'],
  fields: { order_id: t.string(), rate: t.decimal(10, 4).optional() } }) });
const table = read(rates).withColumns({ deleted: col('_op').eq('delete') }).select('currency', 'rate', '_committed_at', 'deleted');
export default defineProject({ name: 'fx', flows: [flow({ name: 'pricing', owner: 'tests', sla: '2s', outputs: [
  write(priced, read(orders).temporalJoin(table, { on: 'currency', how: 'left', deletedWhen: 'deleted' })
    .stage('rate_as_of').select('order_id', 'rate')) ] })] });
`,
    });
    const t0 = Date.now();
    const run = start(dir);
    await until('the CDC slot to stream', () => streaming('napkin_fx_rates_%'));
    const snapshotted = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    const beforeUpdate = Date.now();
    await sql`update shop.rates set rate = 0.95 where currency = 'USD'`;
    const updated = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    const beforeDelete = Date.now();
    await sql`delete from shop.rates where currency = 'GBP'`;
    const deleted = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const order = (id: string, currency: string, at: number) =>
      `${JSON.stringify({ order_id: id, currency, at: iso(at) })}\n`;
    appendFileSync(
      join(dir, 'data', 'orders.jsonl'),
      order('o0', 'USD', t0 - 60_000) + // before the snapshot: no rate known
        order('o1', 'USD', Math.floor((snapshotted + beforeUpdate) / 2)) + // the snapshot's rate
        order('o2', 'USD', deleted + 200) + // the updated rate
        order('o3', 'GBP', Math.floor((updated + beforeDelete) / 2)) + // GBP still in force
        order('o4', 'GBP', deleted + 200), // GBP deleted
    );
    const done = await run.done;
    assert.equal(done.status, 0, show(done));
    const rows = await queryDuck(
      join(dir, '.napkin', 'warehouse.duckdb'),
      `SELECT order_id, CAST(rate AS VARCHAR) AS rate FROM out.priced ORDER BY order_id`,
    );
    assert.deepEqual(
      rows.map((r) => [r.order_id, r.rate]),
      [
        ['o0', null],
        ['o1', '0.9000'],
        ['o2', '0.9500'],
        ['o3', '1.2000'],
        ['o4', null],
      ],
    );
  });
});
