// Crash tests of the PostgreSQL sink (spec reliability §3) with real processes: a task (test/pg-crash-child.ts) writes
// three epochs and is SIGKILLed at a named point (inside the staging transaction, after pre-commit, inside the commit
// transaction before COMMIT, after COMMIT) on its k-th hit, k = 1..3; then at seeded random schedules of several
// crashes. Each restart settles the epoch in flight. The final table must equal a crash-free run's, with no staging
// rows or pending transactions left.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { leftovers, tableText } from '../../../test/pg-fixtures.ts';
import { usePgServer } from '../../../test/pg-server.ts';
import { connectPg, type PgConnection } from './connection.ts';

const CHILD = join(import.meta.dirname, '..', '..', '..', 'test', 'pg-crash-child.ts');
const POINTS = ['pg-staging', 'pg-after-precommit', 'pg-commit', 'pg-after-commit'];
const MODES = ['append', 'merge'] as const;
type Mode = (typeof MODES)[number];

interface Life {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Runs one life of the task; resolves however it ends. */
function life(flow: string, table: string, mode: Mode, crashAt?: string): Promise<Life> {
  const env: NodeJS.ProcessEnv = { ...process.env, CRASH_FLOW: flow, CRASH_TABLE: table, CRASH_MODE: mode };
  if (crashAt === undefined) delete env.NAPKIN_CRASH_AT;
  else env.NAPKIN_CRASH_AT = crashAt;
  return new Promise((resolve) => {
    const child = execFile(process.execPath, ['--import', 'tsx', CHILD], { env }, (error, _out, stderr) => {
      resolve({ code: child.exitCode, signal: child.signalCode ?? (error?.signal as NodeJS.Signals | null), stderr });
    });
  });
}

/** A small seeded generator (mulberry32): schedules are the same on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('PostgreSQL sink under SIGKILL', () => {
  usePgServer();
  let conn: PgConnection;
  const reference = new Map<Mode, string[]>();
  let trials = 0;
  let kills = 0;
  before(async () => {
    conn = connectPg('env:NAPKIN_PG_URL');
    for (const mode of MODES) {
      const clean = await life(`ref_${mode}`, `crash.ref_${mode}`, mode);
      assert.equal(clean.code, 0, clean.stderr);
      reference.set(mode, await tableText(conn.sql, `crash.ref_${mode}`));
    }
  });
  after(async () => {
    await conn.sql.end();
  });

  /** Runs lives with the given crash points in turn, then one without; checks the result against the reference. */
  async function trial(name: string, mode: Mode, schedule: readonly string[], mustKillFirst: boolean): Promise<void> {
    trials++;
    const table = `crash.${name}`;
    for (const [i, at] of schedule.entries()) {
      const r = await life(name, table, mode, at);
      if (r.signal === 'SIGKILL') kills++;
      else assert.equal(r.code, 0, `life ${i + 1} (${at}) failed: ${r.stderr}`);
      if (i === 0 && mustKillFirst) assert.equal(r.signal, 'SIGKILL', `${at} was never reached`);
    }
    const last = await life(name, table, mode);
    assert.equal(last.code, 0, `recovery failed: ${last.stderr}`);
    const rows = await tableText(conn.sql, table);
    const expected = reference.get(mode) as string[];
    assert.equal(rows.length, expected.length, `${name}: row count after recovery`);
    assert.deepEqual(rows, expected, `${name}: rows after recovery differ from the crash-free run`);
    assert.deepEqual(await leftovers(conn.sql, table), { staged: 0, pending: 0 }, `${name}: leaked staging`);
  }

  for (const mode of MODES) {
    for (const point of POINTS) {
      for (const k of [1, 2, 3]) {
        it(`${mode}: killed at ${point} on hit ${k}, then recovered`, async () => {
          await trial(`${mode}_${point.replaceAll('-', '_')}_${k}`, mode, [`${point}:${k}`], true);
        });
      }
    }
  }

  it('append: seeded random schedules of repeated crashes, recovery included', async () => {
    const next = random(20240403);
    for (let s = 0; s < 6; s++) {
      const schedule = Array.from(
        { length: 2 + Math.floor(next() * 3) },
        () => `${POINTS[Math.floor(next() * POINTS.length)]}:${1 + Math.floor(next() * 2)}`,
      );
      await trial(`random_${s}`, 'append', schedule, true);
    }
  });

  it('ran every trial, each with at least one kill, and left nothing staged anywhere', async (t) => {
    t.diagnostic(`PostgreSQL sink crash suite: ${trials} crash trials, ${kills} processes SIGKILLed`);
    assert.equal(trials, MODES.length * POINTS.length * 3 + 6);
    assert.ok(kills >= trials, `${kills} kills in ${trials} trials`);
    assert.deepEqual(await leftovers(conn.sql), { staged: 0, pending: 0 });
  });
});
