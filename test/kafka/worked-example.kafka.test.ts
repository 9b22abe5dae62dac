// The README's worked example end to end against real servers: orders inserted into PostgreSQL, captured by
// `napkin run orders_to_kafka` (CDC into a Kafka topic keyed by region), summed per region and minute by two
// `napkin worker --flow revenue_per_minute` processes into a PostgreSQL table; checked against sums computed here,
// printing the time from the last order's commit to the last minute's rows in the table (the flow's SLA is 30 s;
// measured, not asserted: timing belongs to benchmarks).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { BIN, copyProject, removeDir } from '../helpers.ts';
import { useKafkaServer } from '../kafka-server.ts';
import { pgBinDir, usePgServer } from '../pg-server.ts';
import { createTopic } from './committed.ts';

const EXAMPLE = resolve(import.meta.dirname, '..', '..', 'examples', 'orders-cdc');
const REGIONS = ['north', 'south', 'east', 'west', 'central'];
const MINUTE = 60_000;

interface Proc {
  readonly child: ChildProcess;
  readonly stderr: () => string;
}

describe('worked example: PostgreSQL → CDC → Kafka → revenue per minute (workers) → PostgreSQL', {
  skip: pgBinDir() === undefined ? 'no PostgreSQL server binaries (apt-get install postgresql)' : false,
}, () => {
  const procs: Proc[] = [];
  const dirs: string[] = [];
  let sql: postgres.Sql | undefined;
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await sql?.end({ timeout: 5 });
    for (const d of dirs) removeDir(d);
  });
  const pg = usePgServer('NAPKIN_PG_URL', { logical: { maxReplicationSlots: 10, maxWalSenders: 10 } });
  const broker = useKafkaServer('NAPKIN_KAFKA_BROKERS', { properties: { 'group.min.session.timeout.ms': 500 } });

  const napkinProc = (dir: string, ...args: string[]): Proc => {
    const child = spawn(process.execPath, [BIN, '--project', dir, ...args], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const p = { child, stderr: () => err };
    procs.push(p);
    return p;
  };

  it('every minute of every region once, with its exact revenue; its latency printed against the SLA', async () => {
    const dir = copyProject(EXAMPLE);
    dirs.push(dir);
    const db = postgres(pg().url, { max: 2, onnotice: () => undefined });
    sql = db;
    await db.unsafe(readFileSync(join(dir, 'setup.sql'), 'utf8'));
    await createTopic(broker().bootstrap, 'shop.orders', 3);
    // Orders over the last 20 minutes: some before napkin starts (the CDC snapshot), the rest while it runs.
    const base = Math.floor((Date.now() - 20 * MINUTE) / MINUTE) * MINUTE;
    const all: { id: number; region: string; cents: number; at: number }[] = [];
    for (let i = 0; i < 400; i++)
      all.push({
        id: i + 1,
        region: REGIONS[i % REGIONS.length],
        cents: 100 + ((i * 7919) % 50_000),
        at: base + i * 2500,
      });
    const insert = async (rows: typeof all) => {
      for (const r of rows)
        await db`insert into public.orders (id, region, amount, placed_at)
          values (${r.id}, ${r.region}, ${(r.cents / 100).toFixed(2)}, ${new Date(r.at)})`;
    };
    await insert(all.slice(0, 150));
    const capture = napkinProc(dir, 'run', 'orders_to_kafka');
    const workers = [
      napkinProc(dir, 'worker', '--flow', 'revenue_per_minute', '--session-timeout', '2s'),
      napkinProc(dir, 'worker', '--flow', 'revenue_per_minute', '--session-timeout', '2s'),
    ];
    await insert(all.slice(150));
    // One order per region placed now: every region's partition's watermark passes the minutes before.
    const now = Date.now();
    await insert(REGIONS.map((region, i) => ({ id: 10_000 + i, region, cents: 100, at: now })));
    const lastCommit = Date.now();

    const want = new Map<string, { revenue: string; orders: number }>();
    for (const r of all) {
      const k = `${r.region}|${new Date(Math.floor(r.at / MINUTE) * MINUTE).toISOString()}`;
      const v = want.get(k) ?? { revenue: '0', orders: 0 };
      want.set(k, { revenue: String(Math.round(Number(v.revenue) * 100 + r.cents) / 100), orders: v.orders + 1 });
    }
    const read = async () => {
      const rows = await db`select region, window_start, revenue::text as revenue, orders
        from mart.revenue_per_minute`.catch(() => []);
      return new Map(
        rows.map((r) => [
          `${r.region}|${new Date(r.window_start as Date).toISOString()}`,
          { revenue: String(Number(r.revenue)), orders: Number(r.orders) },
        ]),
      );
    };
    let got = await read();
    const deadline = Date.now() + 180_000;
    while ([...want.keys()].some((k) => !got.has(k)) && Date.now() < deadline) {
      await sleep(250);
      got = await read();
    }
    const latency = Date.now() - lastCommit;
    for (const p of [capture, ...workers]) p.child.kill('SIGTERM');
    for (const p of [capture, ...workers])
      await new Promise((r) => (p.child.exitCode !== null ? r(null) : p.child.on('exit', r)));
    const show = () => [capture, ...workers].map((p) => p.stderr()).join('\n---\n');
    for (const [k, v] of want) assert.deepEqual(got.get(k), v, `${k}\n${show()}`);
    const extra = [...got.keys()].filter((k) => !want.has(k));
    assert.deepEqual(extra, [], show());
    console.log(
      `worked example: ${want.size} region-minutes from ${all.length} orders; the last minute's rows were in PostgreSQL ${(latency / 1000).toFixed(1)} s after the last order's commit (SLA 30 s)`,
    );
  });
});
