// Crash suite, a stale writer against PostgreSQL at process level (spec reliability §2.6, G4; §3 "Zombie", check 6):
// a failover. Two copies of a project (two machines, each with its own state folder) write the same flow to one
// database. The first is paused with SIGSTOP in the middle of staging its epoch; the second takes the partition
// (raising its ownership epoch) and commits. When the first wakes, the fence refuses its writes: zero accepted, no
// staged or pending rows left, the table and commit keys exactly as the new owner left them, and it stops by itself.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { type PgServer, startPgServer } from '../pg-server.ts';
import { boundedInput } from './generate.ts';
import { type Proc, runOnce, startNapkin } from './harness.ts';
import { newProject, PG_PROJECT, removeProject, writeBoundedFiles } from './project.ts';

const FLOW = 'pg_events_clean';
/** Big enough that staging takes a while: the pause must land after the partition is taken, before the commit. */
const input = boundedInput(21, { files: 4, rows: 40_000, keys: 8, poison: 0 });

describe('crash suite: a stale PostgreSQL writer (failover between two copies of a project)', () => {
  let server: PgServer;
  let admin: postgres.Sql;
  let db: postgres.Sql;
  let url: string;
  const dirs: string[] = [];
  before(async () => {
    server = await startPgServer();
    admin = postgres(server.url, { max: 1, onnotice: () => undefined });
    await admin`create database fence`;
    url = server.url.replace(/\/postgres$/, '/fence');
    db = postgres(url, { max: 2, onnotice: () => undefined });
  });
  after(async () => {
    await db?.end();
    await admin?.end();
    await server?.stop();
    for (const d of dirs) removeProject(d);
  });

  it('the paused owner gets zero accepted writes once the partition is reassigned', async () => {
    const env = { NAPKIN_PG_URL: url };
    const [a, b] = [newProject(PG_PROJECT), newProject(PG_PROJECT)];
    dirs.push(a, b);
    for (const d of [a, b]) writeBoundedFiles(d, input, 4);

    const first: Proc = startNapkin(a, ['run', FLOW, '--json'], env);
    // Paused once its staging transaction is streaming rows: it took the partition and has not committed.
    let copying = false;
    const until = Date.now() + 60_000;
    while (!copying && Date.now() < until) {
      const rows = await db`select count(*)::int as n from pg_stat_activity
        where datname = 'fence' and application_name = 'napkin' and query ilike 'copy %'`;
      copying = Number(rows[0].n) > 0;
      if (!copying) await sleep(5);
    }
    assert.ok(copying, `the first run never staged rows:\n${first.stderr()}`);
    process.kill(first.pid, 'SIGSTOP');
    try {
      const stale = await db`select ownership_epoch::int as e from napkin.fence where flow = ${FLOW}`;
      assert.equal(stale[0].e, 1, 'the paused run took the partition first');
      const committedBefore = await db`select count(*)::int as n from napkin.commits where flow = ${FLOW}`;
      assert.equal(committedBefore[0].n, 0, 'the paused run had committed nothing');

      const second = await runOnce(b, ['run', FLOW, '--json'], undefined, env);
      assert.equal(second.code, 0, `the new owner runs while the old one is paused:\n${second.stderr}`);
    } finally {
      process.kill(first.pid, 'SIGCONT');
    }
    const owner = await db`select ownership_epoch::int as e from napkin.fence where flow = ${FLOW}`;
    assert.equal(owner[0].e, 2);
    const table = async () =>
      (
        await db`select count(*)::int as n, count(distinct id)::int as ids, sum(id)::text as s from crash.events_clean`
      )[0];
    const n = input.good.length;
    const expected = { n, ids: n, s: String((n * (n + 1)) / 2) };
    assert.deepEqual({ ...(await table()) }, expected, 'the new owner committed every event once');
    const keys = async () =>
      (
        await db`select sink, epoch::int as epoch, ownership_epoch::int as own from napkin.commits where flow = ${FLOW}`
      ).map((r) => ({ ...r }));
    assert.deepEqual(await keys(), [{ sink: 'write_crash_events_clean', epoch: 1, own: 2 }]);

    // The paused run wakes, finishes staging and is refused at its fence check.
    const until2 = Date.now() + 60_000;
    while (!/fenced/.test(first.stderr()) && Date.now() < until2) await sleep(20);
    const exited = await Promise.race([first.exited.then(() => true), sleep(15_000).then(() => false)]);
    if (!exited) first.child.kill('SIGKILL');
    const code = (await first.exited).code;
    assert.ok(exited, `the fenced process stops by itself:\n${first.stderr()}`);
    assert.equal(code, 1, 'the fenced process exits non-zero');
    assert.match(
      first.stderr(),
      new RegExp(
        `fenced: flow ${FLOW} partition 0: write with ownership epoch 1, fingerprint [0-9a-f]{12} refused; current is ownership epoch 2`,
      ),
    );
    assert.deepEqual({ ...(await table()) }, expected, 'nothing of the stale owner reached the table');
    assert.deepEqual(
      await keys(),
      [{ sink: 'write_crash_events_clean', epoch: 1, own: 2 }],
      'no key of the stale owner',
    );
    const pending = await db`select count(*)::int as n from napkin.pending`;
    assert.equal(pending[0].n, 0, 'no pending transaction of the stale owner');
    const stages = await db`select table_name from information_schema.tables
      where table_schema = 'napkin' and table_name like 'stage\\_%'`;
    for (const t of stages) {
      const rows = await db`select count(*)::int as n from ${db(`napkin.${t.table_name}`)}`;
      assert.equal(rows[0].n, 0, `no staged row of the stale owner in napkin.${t.table_name}`);
    }
    const still = await db`select ownership_epoch::int as e from napkin.fence where flow = ${FLOW}`;
    assert.equal(still[0].e, 2, 'the stale owner did not move the fence');
  });
});
