// Exactly-once change data capture under SIGKILL (reliability §2.9, issue 6). While a writer keeps changing a table
// in transactions, `napkin run` is killed again and again: during the initial snapshot (cdc-slot-created, inside and
// after a two-chunk snapshot), then while streaming, alternately at a named crash point (the k-th hit of cdc-appended,
// cdc-acknowledged, ingest-append or an epoch step) and at a random moment; then it runs to the end. After every kill
// the slot is confirmed no further than napkin's log, and what the DuckDB sink committed chains exactly: every update
// and delete names (in `_before`) the version the changelog last gave its key, and nothing appears twice; at the end,
// replaying the changelog gives the table as PostgreSQL has it. NAPKIN_CDC_CRASH_TRIALS sets the number of kills
// while streaming (default 10), NAPKIN_CDC_CRASH_SEED the seed.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { formatLsn, parseLsn } from '../src/connectors/postgres/pgoutput.ts';
import { topicDir } from '../src/workspace/topic.ts';
import { Topic } from '../src/workspace/topic-log.ts';
import { BIN, queryDuck, removeDir, tempProject, writeFiles } from './helpers.ts';
import { usePgServer } from './pg-server.ts';

const TRIALS = Number(process.env.NAPKIN_CDC_CRASH_TRIALS ?? 10);
const SEED = Number(process.env.NAPKIN_CDC_CRASH_SEED ?? 20261202);
/** Crash points while streaming, each hit many times a run; the k-th hit (k = 1..3) is chosen at random. */
const POINTS = [
  'cdc-appended',
  'cdc-acknowledged',
  'epoch-checkpoint',
  'ingest-append',
  'epoch-sinks',
  'cdc-appended',
  'epoch-commit',
  'cdc-acknowledged',
];

const config = (
  name: string,
) => `import { cdcFields, col, contract, dataset, defineProject, flow, postgresCdc, read, t, write } from 'napkin';
const items = dataset('src.items', { owner: 'tests',
  storage: postgresCdc({ table: 'crash.${name}', connection: 'env:NAPKIN_PG_URL', stopAfterIdle: '1500ms' }),
  contract: contract({ key: ['id'], fields: { ...cdcFields(), id: t.int64(), v: t.int64(), seq: t.int64() } }) });
const changes = dataset('out.changes', { owner: 'tests', contract: contract({ fields: {
  op: t.string(), lsn: t.string(), id: t.int64(), seq: t.int64(), before: t.string().optional() } }) });
export default defineProject({ name: 'cdc_crash_${name}', flows: [flow({ name: 'cdc', owner: 'tests', sla: '1s',
  outputs: [write(changes, read(items).select({ op: col('_op').cast('string'), lsn: col('_lsn'), id: col('id'),
    seq: col('seq'), before: col('_before') }).stage('changelog'))] })] });
`;

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Keeps changing the table in small transactions (each touching distinct keys) until stopped. */
class Writer {
  private stopped = false;
  private readonly live: number[] = [];
  private next: number;
  readonly done: Promise<void>;
  commits = 0;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly table: string,
    initial: number,
    private readonly rand: () => number,
  ) {
    for (let i = 1; i <= initial; i++) this.live.push(i);
    this.next = initial + 1;
    this.done = this.loop();
  }

  stop(): Promise<void> {
    this.stopped = true;
    return this.done;
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const n = 1 + Math.floor(this.rand() * 3);
      const touched = new Set<number>();
      const ops: (['insert', number] | ['update' | 'delete', number])[] = [];
      for (let i = 0; i < n; i++) {
        const r = this.rand();
        if (r < 0.4 || this.live.length < 10) ops.push(['insert', this.next++]);
        else {
          const id = this.live[Math.floor(this.rand() * this.live.length)];
          if (touched.has(id)) continue;
          touched.add(id);
          ops.push([r < 0.8 ? 'update' : 'delete', id]);
        }
      }
      const t = this.sql(this.table);
      await this.sql.begin(async (tx) => {
        for (const [op, id] of ops) {
          if (op === 'insert') await tx`insert into ${t} values (${id}, 0, nextval('crash.seq'))`;
          else if (op === 'update') await tx`update ${t} set v = v + 1, seq = nextval('crash.seq') where id = ${id}`;
          else await tx`delete from ${t} where id = ${id}`;
        }
      });
      this.commits++;
      for (const [op, id] of ops) {
        if (op === 'insert') this.live.push(id);
        else if (op === 'delete') this.live.splice(this.live.indexOf(id), 1);
      }
      await new Promise((r) => setTimeout(r, 5 + this.rand() * 20));
    }
  }
}

interface Run {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** Killed by the test's timer (not by a crash point of its own). */
  readonly timedOut: boolean;
  readonly ms: number;
}

/** `napkin run`, SIGKILLed after `killAfterMs` unless it ended first. */
function runNapkin(dir: string, env: Record<string, string>, killAfterMs?: number): Promise<Run> {
  const child = spawn(process.execPath, [BIN, 'run'], { cwd: dir, env: { ...process.env, ...env }, stdio: 'pipe' });
  let stderr = '';
  child.stderr.on('data', (b) => {
    stderr += String(b);
  });
  child.stdout.resume();
  let timedOut = false;
  const started = Date.now();
  const timer =
    killAfterMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, killAfterMs);
  return new Promise((resolve) =>
    child.on('exit', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stderr, timedOut, ms: Date.now() - started });
    }),
  );
}

describe(`postgresCdc under SIGKILL (${TRIALS} streaming trials, seed ${SEED})`, () => {
  const server = usePgServer('NAPKIN_PG_URL', { logical: { maxReplicationSlots: 8, maxWalSenders: 8 } });
  let sql: postgres.Sql;
  const dirs: string[] = [];
  before(async () => {
    sql = postgres(server().url, { max: 3, onnotice: () => undefined });
    await sql`create schema crash`;
    await sql`create sequence crash.seq`;
  });
  after(async () => {
    await sql?.end();
    for (const d of dirs) removeDir(d);
  });

  /** A table of `initial` rows (REPLICA IDENTITY FULL) and a project reading it, with a writer changing it. */
  async function scenario(name: string, initial: number, seed: number) {
    const table = `crash.${name}`;
    await sql`create table ${sql(table)} (id int primary key, v int not null, seq bigint not null)`;
    await sql`alter table ${sql(table)} replica identity full`;
    await sql`insert into ${sql(table)} select i, 0, nextval('crash.seq') from generate_series(1, ${initial}) i`;
    const dir = tempProject('napkin-cdc-crash-');
    dirs.push(dir);
    writeFiles(dir, { 'napkin.config.ts': config(name) });
    // The writer draws from its own generator: how far it gets depends on timing, and the kills must not.
    return { table, dir, writer: new Writer(sql, table, initial, prng(seed + 101)) };
  }

  /** What the DuckDB sink holds (nothing before the first epoch commits). */
  async function changelog(dir: string): Promise<Record<string, unknown>[]> {
    return queryDuck(
      join(dir, '.napkin', 'warehouse.duckdb'),
      "SELECT op, lsn, id, seq, before FROM out.changes ORDER BY lsn, op <> 'snapshot'",
    ).catch((e: Error) => {
      if (/does not exist/.test(e.message)) return [];
      throw e;
    });
  }

  /**
   * After a kill: the slot (once its snapshot is in the log) is confirmed no further than the log's position, and
   * what the sink committed so far chains without a gap or a repeat.
   */
  async function afterKill(dir: string, what: string): Promise<void> {
    const [slot] = await sql`select confirmed_flush_lsn::text as lsn from pg_replication_slots
      where slot_name like 'napkin_src_items_%'`;
    const topic = await Topic.open(topicDir(join(dir, '.napkin'), 'src.items'), 'src.items').catch(() => undefined);
    if (topic !== undefined) {
      try {
        const pos = topic.state.position as { lsn: number; snapshotDone: number } | undefined;
        // A slot whose snapshot is not complete in the log is dropped and made again by the next run.
        if (slot?.lsn != null && pos?.snapshotDone === 1)
          assert.ok(
            parseLsn(slot.lsn) <= BigInt(pos.lsn),
            `${what}: slot confirmed to ${slot.lsn}, past the log's ${formatLsn(BigInt(pos.lsn))}`,
          );
      } finally {
        await topic.close();
      }
    }
    assert.deepEqual(checkChain(await changelog(dir)), [], `${what}: the committed changelog`);
  }

  /** Runs to the end (the writer stops meanwhile, so the source idles out), then checks the whole changelog. */
  async function finish(s: Awaited<ReturnType<typeof scenario>>, what: string): Promise<void> {
    const last = runNapkin(s.dir, {}, 120_000);
    await new Promise((r) => setTimeout(r, 1500));
    await s.writer.stop();
    const end = await last;
    assert.equal(end.status, 0, end.stderr);
    await afterKill(s.dir, `${what}, at the end`);
    const table = await sql`select id, seq from ${sql(s.table)} order by id`;
    const problems = checkChain(await changelog(s.dir), new Map(table.map((r) => [Number(r.id), Number(r.seq)])));
    assert.deepEqual(problems, [], `${what} (seed ${SEED}): ${problems.length} problems`);
    assert.ok(s.writer.commits > 0);
    const [slot] = await sql`select slot_name from pg_replication_slots where slot_name like 'napkin_src_items_%'`;
    await sql`select pg_drop_replication_slot(${slot.slot_name})`;
  }

  it('a snapshot cut anywhere (slot made, chunk 1 of 2, before its last append) is taken again, once', async (t) => {
    // 9,000 rows: two snapshot chunks of at most 8,192.
    const s = await scenario('snap', 9000, SEED);
    try {
      for (const point of ['cdc-slot-created:1', 'cdc-snapshot-chunk:1', 'ingest-append:3', 'cdc-snapshot-chunk:2']) {
        const run = await runNapkin(s.dir, { NAPKIN_CRASH_AT: point }, 60_000);
        assert.ok(run.signal === 'SIGKILL' && !run.timedOut, `${point} was not reached: ${JSON.stringify(run)}`);
        t.diagnostic(`killed at ${point} after ${run.ms} ms`);
        await afterKill(s.dir, `after ${point}`);
      }
      await finish(s, 'snapshot scenario');
    } finally {
      await s.writer.stop();
    }
  });

  it(`${TRIALS} kills while a writer streams changes: at named crash points and at random moments`, async (t) => {
    const rand = prng(SEED + 1);
    const s = await scenario('stream', 200, SEED + 1);
    const kills = { atPoint: 0, timer: 0, random: 0 };
    let typical = 8000;
    try {
      for (let trial = 0; trial < TRIALS; trial++) {
        if (trial % 2 === 0) {
          const point = `${POINTS[(trial / 2) % POINTS.length]}:${1 + Math.floor(rand() * 3)}`;
          const run = await runNapkin(s.dir, { NAPKIN_CRASH_AT: point }, 60_000);
          assert.equal(run.signal, 'SIGKILL', `trial ${trial}: ${JSON.stringify(run)}`);
          if (run.timedOut) kills.timer++;
          else kills.atPoint++;
          typical = run.ms;
          t.diagnostic(`trial ${trial}: killed at ${point} after ${run.ms} ms${run.timedOut ? ' (not reached)' : ''}`);
          await afterKill(s.dir, `trial ${trial} (${point})`);
        } else {
          // Anywhere from start-up to well into streaming: the last run's time to its crash point sets the scale.
          const at = Math.floor(rand() * typical * 1.5);
          const run = await runNapkin(s.dir, {}, at);
          assert.equal(run.signal, 'SIGKILL', `trial ${trial}: the run ended before ${at} ms: ${run.stderr}`);
          kills.random++;
          t.diagnostic(`trial ${trial}: killed at random after ${run.ms} ms`);
          await afterKill(s.dir, `trial ${trial} (random, ${at} ms)`);
        }
      }
      await finish(s, 'streaming scenario');
    } finally {
      await s.writer.stop();
    }
    t.diagnostic(`SIGKILLs: ${JSON.stringify(kills)}`);
    assert.ok(kills.atPoint >= kills.timer, `most named crash points were reached: ${JSON.stringify(kills)}`);
  });
});

/**
 * Replays a changelog (rows in commit order; a transaction touches a key at most once) and lists what is wrong: a
 * change to a key the changelog does not hold, or whose `_before` is not the version it holds (a missing or repeated
 * change), an insert of a key it holds (repeated), and, given the table's final rows, any difference from them.
 */
function checkChain(rows: readonly Record<string, unknown>[], table?: ReadonlyMap<number, number>): string[] {
  const problems: string[] = [];
  const held = new Map<number, number>();
  for (const r of rows) {
    const id = Number(r.id);
    const seq = Number(r.seq);
    const op = String(r.op);
    const where = `${op} of ${id} (seq ${seq}) at ${String(r.lsn)}`;
    if (op === 'snapshot' || op === 'insert') {
      if (held.has(id)) problems.push(`${where}: the key is already there (a repeated change)`);
      held.set(id, seq);
      continue;
    }
    const before = Number((JSON.parse(String(r.before)) as { seq: string }).seq);
    if (!held.has(id)) problems.push(`${where}: the key is not there (a change went missing or came twice)`);
    else if (held.get(id) !== before)
      problems.push(`${where}: _before has seq ${before}, the changelog had ${held.get(id)} (missing or repeated)`);
    if (op === 'update') held.set(id, seq);
    else held.delete(id);
  }
  if (table === undefined) return problems.slice(0, 20);
  for (const [id, seq] of table)
    if (held.get(id) !== seq) problems.push(`key ${id}: the table has seq ${seq}, the changelog ${held.get(id)}`);
  for (const id of held.keys()) if (!table.has(id)) problems.push(`key ${id}: deleted in the table, not in the log`);
  return problems.slice(0, 20);
}
