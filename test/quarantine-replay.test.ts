// `napkin quarantine replay` through the real CLI (issue 5, spec reliability §4 "replay after a fix: output = E, with
// no duplicates"): a contract fix, corrected records (--file), records that still fail, double replays, a new
// generation of a bounded file (fixes carried), a followed file (and a replay refused while it runs), and replays
// SIGKILLed at each named crash point, settled by the next replay or run. Outputs are tables without a key, so a
// record written twice shows up twice.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { quarantineId } from '../src/runtime/quarantine.ts';
import {
  BIN,
  type CliResult,
  copyProject,
  napkin,
  queryDuck,
  type Row,
  removeDir,
  show,
  tempProject,
  writeFiles,
} from './helpers.ts';

interface Settings {
  /** The enum's symbols: widening it is the contract fix. */
  readonly statuses: readonly string[];
  /** The followed file's stopAfterIdle. */
  readonly idle?: string;
}

function config(s: Settings): string {
  return `import { contract, csv, dataset, defineProject, duckdb, flow, jsonl, read, t, write } from 'napkin';

const fields = {
  id: t.int64(),
  status: t.enum('Status', ${JSON.stringify(s.statuses)}),
  qty: t.int64(),
  note: t.string().optional(),
};
const source = contract({ key: ['id'], fields });
const sink = contract({ fields });
const q = { onInvalid: 'quarantine', errorBudget: 'unlimited' } as const;
const orders = dataset('in.orders', { owner: 'tests', storage: csv('data/orders.csv'), contract: source });
const events = dataset('in.events', { owner: 'tests', storage: jsonl('data/events.jsonl'), contract: source });
const live = dataset('in.live', {
  owner: 'tests',
  storage: jsonl('data/live.jsonl', { follow: true, stopAfterIdle: '${s.idle ?? '1s'}', pollInterval: '50ms' }),
  contract: source,
});
const out = (name: string) => dataset(\`out.\${name}\`, { owner: 'tests', storage: duckdb(\`out.\${name}\`), contract: sink });

export default defineProject({
  name: 'replay',
  warehouse: 'out/warehouse.duckdb',
  flows: [
    flow({ name: 'orders_flow', owner: 'tests', sla: '1d', outputs: [write(out('orders'), read(orders, q))] }),
    flow({ name: 'orders_again', owner: 'tests', sla: '1d', outputs: [write(out('orders_again'), read(orders, q))] }),
    flow({ name: 'events_flow', owner: 'tests', sla: '1d', outputs: [write(out('events'), read(events, q))] }),
    flow({ name: 'live_flow', owner: 'tests', sla: '1s', outputs: [write(out('live'), read(live, q))] }),
  ],
});
`;
}

const NARROW = ['new', 'paid'];
const WIDE = ['new', 'paid', 'refunded'];
const HEADER = 'id,status,qty,note';
const ORDERS = [HEADER, '1,new,1,', '2,paid,2,', '3,refunded,3,late refund', '4,paid,four,', '5,new,5,'];

const dirs: string[] = [];
after(() => {
  for (const d of dirs) removeDir(d);
});

function project(files: Readonly<Record<string, string>>, s: Settings = { statuses: NARROW }): string {
  const dir = tempProject('napkin-qreplay-');
  dirs.push(dir);
  writeFiles(dir, { 'napkin.config.ts': config(s), ...files });
  return dir;
}

function setContract(dir: string, s: Settings): void {
  writeFileSync(join(dir, 'napkin.config.ts'), config(s));
}

const warehouse = (dir: string) => join(dir, 'out', 'warehouse.duckdb');

interface StageJson {
  readonly kind: string;
  readonly in: number;
  readonly out: number;
  readonly quarantined: number;
}

function run(dir: string, ...flows: string[]): { flow: string; stages: StageJson[] }[] {
  const r = napkin(dir, 'run', ...flows, '--json');
  assert.equal(r.status, 0, show(r));
  return JSON.parse(r.stdout) as { flow: string; stages: StageJson[] }[];
}

function replay(dir: string, ...args: string[]): CliResult {
  return napkin(dir, 'quarantine', 'replay', ...args);
}

/** The rows of an output table, by id. */
async function table(dir: string, name: string): Promise<Row[]> {
  return queryDuck(warehouse(dir), `SELECT id, status, qty, note FROM ${name} ORDER BY id, qty`);
}

async function ids(dir: string, name: string): Promise<number[]> {
  return (await table(dir, name)).map((r) => r.id as number);
}

interface Shown {
  readonly id: string;
  readonly status: string;
  readonly attempts: number;
  readonly replayedAt: string | null;
  readonly line: number | null;
  readonly record: number;
  readonly field: string | null;
  readonly errorClass: string;
  readonly found: string;
  readonly raw: string;
}

function shown(dir: string, dataset: string): Map<string, Shown> {
  const r = napkin(dir, 'quarantine', 'show', dataset, '--json');
  assert.equal(r.status, 0, show(r));
  const list = JSON.parse(r.stdout) as Shown[];
  const byId = new Map(list.map((x) => [x.id, x]));
  assert.equal(byId.size, list.length, `each quarantined record once: ${r.stdout}`);
  return byId;
}

/** The id of a CSV record of data/orders.csv (record n is line n + 1). */
const csvId = (record: number, raw: string) => quarantineId('in.orders', { source: 'data/orders.csv', record, raw });
const jsonlId = (record: number, raw: string) =>
  quarantineId('in.events', { source: 'data/events.jsonl', record, raw });

describe('napkin quarantine replay', () => {
  it('replays records a contract fix lets through: once in every flow, original ids; the rest stay with attempts', async () => {
    const dir = project({ 'data/orders.csv': `${ORDERS.join('\n')}\n` });
    run(dir, 'orders_flow', 'orders_again');
    assert.deepEqual(await ids(dir, 'out.orders'), [1, 2, 5]);
    const refund = csvId(3, ORDERS[3]);
    const four = csvId(4, ORDERS[4]);
    let q = shown(dir, 'in.orders');
    assert.deepEqual([...q.keys()].sort(), [refund, four].sort(), 'ids are derived from dataset, source, record, text');
    assert.equal(q.get(refund)?.status, 'open');
    assert.equal(q.get(refund)?.attempts, 1);
    // A second run reads the same input again: the same ids, each record shown once.
    run(dir, 'orders_flow');
    q = shown(dir, 'in.orders');
    assert.deepEqual([...q.keys()].sort(), [refund, four].sort());

    setContract(dir, { statuses: WIDE });
    const dry = replay(dir, 'in.orders', '--dry-run');
    assert.equal(dry.status, 1, show(dry));
    assert.match(dry.stdout, new RegExp(`^would replay +${refund}  data/orders.csv:4$`, 'm'));
    assert.match(dry.stdout, new RegExp(`^would fail +${four}  data/orders.csv:5  /qty type: expected int64`, 'm'));
    assert.match(dry.stdout, /dry run, nothing written: 1 would be replayed, 1 would still fail/);
    assert.equal(shown(dir, 'in.orders').get(refund)?.attempts, 1, 'a dry run records nothing');

    const r = replay(dir, 'in.orders');
    assert.equal(r.status, 1, `some still fail: exit 1\n${show(r)}`);
    assert.match(r.stdout, new RegExp(`^replayed +${refund}  data/orders.csv:4$`, 'm'));
    assert.match(
      r.stdout,
      new RegExp(
        `^still failing +${four}  data/orders.csv:5  /qty type: expected int64, found four \\(attempt 2\\)$`,
        'm',
      ),
    );
    assert.match(r.stdout, /^in\.orders: 1 replayed, 1 still failing \(type \/qty: 1\), 0 already replayed$/m);
    q = shown(dir, 'in.orders');
    assert.equal(q.get(refund)?.status, 'replayed');
    assert.equal(q.get(refund)?.attempts, 2);
    assert.ok(q.get(refund)?.replayedAt, 'replayed_at is set');
    assert.equal(q.get(four)?.status, 'open');
    assert.equal(q.get(four)?.attempts, 2);
    assert.equal(q.get(four)?.replayedAt, null);
    assert.deepEqual(await ids(dir, 'out.orders'), [1, 2, 5], 'a replay writes no output itself');

    const flows = run(dir, 'orders_flow', 'orders_again');
    for (const name of ['out.orders', 'out.orders_again']) {
      assert.deepEqual(await table(dir, name), [
        { id: 1, status: 'new', qty: 1, note: null },
        { id: 2, status: 'paid', qty: 2, note: null },
        { id: 3, status: 'refunded', qty: 3, note: 'late refund' },
        { id: 5, status: 'new', qty: 5, note: null },
      ]);
    }
    const src = flows[0].stages.find((s) => s.kind === 'source') as StageJson;
    assert.deepEqual(
      [src.in, src.out, src.quarantined],
      [5, 4, 1],
      'the replayed record stands for the quarantined one',
    );

    // Replaying again appends nothing: the marker in the log says the id is resolved.
    const again = replay(dir, 'in.orders', '--id', refund);
    assert.equal(again.status, 0, show(again));
    assert.match(again.stdout, new RegExp(`^already replayed ${refund}  data/orders.csv:4$`, 'm'));
    assert.match(again.stdout, /^in\.orders: 0 replayed, 0 still failing, 1 already replayed$/m);
    const all = replay(dir, 'in.orders');
    assert.match(all.stdout, /^in\.orders: 0 replayed, 1 still failing \(type \/qty: 1\), 1 already replayed$/m);
    run(dir, 'orders_flow');
    assert.deepEqual(await ids(dir, 'out.orders'), [1, 2, 3, 5], 'still once after replaying twice and running again');
    q = shown(dir, 'in.orders');
    assert.equal(q.get(refund)?.attempts, 2, 'an id already replayed is not tried again');
    assert.equal(q.get(four)?.attempts, 3);
    const text = napkin(dir, 'quarantine', 'show', 'in.orders');
    assert.match(text.stdout, new RegExp(`id ${refund}  replayed \\d{4}-`));
    assert.match(text.stdout, new RegExp(`id ${four}  open, attempts 3`));
    const list = JSON.parse(napkin(dir, 'quarantine', 'list', '--json').stdout) as Record<string, unknown>[];
    assert.deepEqual(
      list.map((l) => [l.dataset, l.errorClass, l.count, l.replayed]),
      [
        ['in.orders', 'enum', 0, 1],
        ['in.orders', 'type', 1, 0],
      ],
    );
  });

  it('replays corrected records given with --file, refuses a file that would change a key, names unknown ids', async () => {
    const lines = [
      '{"id":1,"status":"new","qty":1}',
      '{"id":2,"status":"paid","qty":"two"}',
      '{"id":3,"status":"lost","qty":3}',
      '{"id":4,"status":"paid","qty":4,"extra":true}',
    ];
    const dir = project({ 'data/events.jsonl': `${lines.join('\n')}\n` });
    run(dir, 'events_flow');
    assert.deepEqual(await ids(dir, 'out.events'), [1]);
    const [two, three, four] = [jsonlId(2, lines[1]), jsonlId(3, lines[2]), jsonlId(4, lines[3])];
    assert.deepEqual([...shown(dir, 'in.events').keys()].sort(), [two, three, four].sort());

    const fix = (o: Record<string, unknown>) => JSON.stringify(o);
    const usage = (content: string, pattern: RegExp) => {
      writeFileSync(join(dir, 'fixed.jsonl'), content);
      const r = replay(dir, 'in.events', '--file', 'fixed.jsonl');
      assert.equal(r.status, 2, show(r));
      assert.match(r.stderr, pattern);
    };
    usage('{"id": 2,\n', /fixed\.jsonl:1: not JSON/);
    usage(`${fix({ id: 2, status: 'paid', qty: 2 })}\n`, /fixed\.jsonl:1: _quarantine_id must be the id/);
    usage(
      `${fix({ _quarantine_id: 'abcdefabcdef', id: 2, status: 'paid', qty: 2 })}\n`,
      /dataset in\.events has no quarantined record abcdefabcdef \(fixed\.jsonl:1\) in its current input/,
    );
    usage(
      `${fix({ _quarantine_id: two, id: 20, status: 'paid', qty: 2 })}\n`,
      new RegExp(
        `fixed\\.jsonl:1: the corrected record for ${two} \\(data/events.jsonl:2\\) changes its key id from 2 to 20`,
      ),
    );
    const badId = replay(dir, 'in.events', '--id', 'nope');
    assert.equal(badId.status, 2, show(badId));
    assert.match(badId.stderr, /--id nope: a quarantine id is 12 hex digits/);
    const unknown = replay(dir, 'no.such');
    assert.equal(unknown.status, 2, show(unknown));
    assert.match(unknown.stderr, /unknown dataset no\.such; the project has /);
    assert.equal(shown(dir, 'in.events').get(two)?.attempts, 1, 'refused files change nothing');

    writeFileSync(
      join(dir, 'fixed.jsonl'),
      [
        fix({ _quarantine_id: two, id: 2, status: 'paid', qty: 2 }),
        '',
        fix({ _quarantine_id: three, id: 3, status: 'paid', qty: 3, note: 'was lost' }),
        fix({ _quarantine_id: four, id: 4, status: 'paid', qty: 'x' }),
      ].join('\n'),
    );
    const onlyFour = replay(dir, 'in.events', '--file', 'fixed.jsonl', '--id', four, '--dry-run');
    assert.equal(onlyFour.status, 1, show(onlyFour));
    assert.match(onlyFour.stdout, /0 would be replayed, 1 would still fail \(type \/qty: 1\)/);

    const r = replay(dir, 'in.events', '--file', 'fixed.jsonl');
    assert.equal(r.status, 1, show(r));
    assert.match(r.stdout, new RegExp(`^replayed +${two}  data/events.jsonl:2  \\(corrected record\\)$`, 'm'));
    assert.match(r.stdout, new RegExp(`^replayed +${three}  data/events.jsonl:3  \\(corrected record\\)$`, 'm'));
    assert.match(
      r.stdout,
      new RegExp(`^still failing +${four}  .*/qty type: expected int64, found "x" \\(attempt 2\\)`, 'm'),
    );
    run(dir, 'events_flow');
    assert.deepEqual(await table(dir, 'out.events'), [
      { id: 1, status: 'new', qty: 1, note: null },
      { id: 2, status: 'paid', qty: 2, note: null },
      { id: 3, status: 'paid', qty: 3, note: 'was lost' },
    ]);
    const q = shown(dir, 'in.events');
    assert.equal(q.get(four)?.status, 'open');
    assert.equal(q.get(four)?.attempts, 2);
    assert.equal(q.get(four)?.field, '/qty', 'a record that still fails shows its new error');
    assert.equal(q.get(four)?.raw, lines[3], 'and keeps its original text');

    // The same file again: nothing is appended twice.
    const again = replay(dir, 'in.events', '--file', 'fixed.jsonl');
    assert.match(again.stdout, /^in\.events: 0 replayed, 1 still failing \(type \/qty: 1\), 2 already replayed$/m);
    run(dir, 'events_flow');
    assert.deepEqual(await ids(dir, 'out.events'), [1, 2, 3]);
  });

  it('carries fixes into a new generation of a changed file; a record corrected in the file wins', async () => {
    const dir = project({ 'data/orders.csv': `${ORDERS.join('\n')}\n` });
    run(dir, 'orders_flow');
    const refund = csvId(3, ORDERS[3]);
    const four = csvId(4, ORDERS[4]);
    writeFileSync(
      join(dir, 'fixed.jsonl'),
      `${JSON.stringify({ _quarantine_id: four, id: 4, status: 'paid', qty: 44 })}\n`,
    );
    assert.equal(replay(dir, 'in.orders', '--file', 'fixed.jsonl').status, 0);
    setContract(dir, { statuses: WIDE });
    assert.equal(replay(dir, 'in.orders').status, 0);
    run(dir, 'orders_flow');
    assert.deepEqual(await ids(dir, 'out.orders'), [1, 2, 3, 4, 5]);

    // A new line: the file changed, so it is ingested again as a new generation. The refund passes the widened
    // contract by itself; the record with qty 'four' is quarantined again, unchanged, and its fix is carried.
    appendFileSync(join(dir, 'data', 'orders.csv'), '6,new,6,\n');
    run(dir, 'orders_flow');
    assert.deepEqual(await table(dir, 'out.orders'), [
      { id: 1, status: 'new', qty: 1, note: null },
      { id: 2, status: 'paid', qty: 2, note: null },
      { id: 3, status: 'refunded', qty: 3, note: 'late refund' },
      { id: 4, status: 'paid', qty: 44, note: null },
      { id: 5, status: 'new', qty: 5, note: null },
      { id: 6, status: 'new', qty: 6, note: null },
    ]);
    let q = shown(dir, 'in.orders');
    assert.equal(q.get(four)?.status, 'replayed');
    assert.equal(q.get(four)?.attempts, 3, 'ingestion, the replay, the carry into the new generation');
    const carried = replay(dir, 'in.orders', '--id', four);
    assert.match(carried.stdout, /0 replayed, 0 still failing, 1 already replayed/);

    // The record corrected in the file itself: read as a row, the old fix not applied.
    const fixed = [...ORDERS.slice(0, 4), '4,paid,40,', ORDERS[5], '6,new,6,'];
    writeFileSync(join(dir, 'data', 'orders.csv'), `${fixed.join('\n')}\n`);
    run(dir, 'orders_flow');
    assert.deepEqual(await ids(dir, 'out.orders'), [1, 2, 3, 4, 5, 6]);
    assert.equal((await table(dir, 'out.orders'))[3].qty, 40);

    // Broken again, one line further down: another record (a new id), open, with no fix carried.
    const moved = [HEADER, '0,new,0,', ...ORDERS.slice(1)];
    writeFileSync(join(dir, 'data', 'orders.csv'), `${moved.join('\n')}\n`);
    run(dir, 'orders_flow');
    assert.deepEqual(await ids(dir, 'out.orders'), [0, 1, 2, 3, 5]);
    q = shown(dir, 'in.orders');
    const movedFour = csvId(5, ORDERS[4]);
    assert.notEqual(movedFour, four);
    assert.equal(q.get(movedFour)?.status, 'open');
    assert.equal(q.get(movedFour)?.attempts, 1);
    assert.equal(q.get(refund)?.status, 'replayed');
  });

  it('replays into a followed file: the next epoch has the record once, ingestion goes on where it was', async () => {
    const first = [
      '{"id":1,"status":"new","qty":1}',
      '{"id":2,"status":"lost","qty":2}',
      '{"id":3,"status":"paid","qty":3}',
    ];
    const dir = project({ 'data/live.jsonl': `${first.join('\n')}\n` }, { statuses: NARROW, idle: '10m' });
    const lost = quarantineId('in.live', { source: 'data/live.jsonl', record: 2, raw: first[1] });
    const commits = join(dir, '.napkin', 'flows', 'live_flow', 'commits');
    const committed = () => (existsSync(commits) ? readdirSync(commits).length : 0);

    // While the live flow runs, it holds the topic: a replay is refused, naming the process.
    const running = startLive(dir);
    await until(() => committed() > 0, 'the live flow committed its first epoch');
    const refused = replay(dir, 'in.live');
    assert.equal(refused.status, 1, show(refused));
    assert.match(refused.stderr, new RegExp(`dataset in\\.live: its topic is in use by pid ${running.pid} `));
    assert.equal(await running.stop(), 0);
    assert.deepEqual(await ids(dir, 'out.live'), [1, 3]);
    assert.equal(shown(dir, 'in.live').get(lost)?.status, 'open');

    writeFileSync(
      join(dir, 'fixed.jsonl'),
      `${JSON.stringify({ _quarantine_id: lost, id: 2, status: 'paid', qty: 2 })}\n`,
    );
    const r = replay(dir, 'in.live', '--file', 'fixed.jsonl');
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^in\.live: 1 replayed, 0 still failing, 0 already replayed$/m);

    // The flow goes on from its last epoch (same version): the replayed row and a line appended since.
    appendFileSync(join(dir, 'data', 'live.jsonl'), '{"id":4,"status":"new","qty":4}\n');
    const before = committed();
    const again = startLive(dir);
    await until(() => committed() > before, 'the live flow committed an epoch');
    assert.equal(await again.stop(), 0);
    assert.deepEqual(await table(dir, 'out.live'), [
      { id: 1, status: 'new', qty: 1, note: null },
      { id: 2, status: 'paid', qty: 2, note: null },
      { id: 3, status: 'paid', qty: 3, note: null },
      { id: 4, status: 'new', qty: 4, note: null },
    ]);
    const q = shown(dir, 'in.live');
    assert.equal(q.get(lost)?.status, 'replayed');
    assert.equal(q.get(lost)?.attempts, 2);
  });

  describe('a replay SIGKILLed at a crash point ends exactly once', () => {
    const base = project({ 'data/orders.csv': `${[...ORDERS.slice(0, 4), ORDERS[5]].join('\n')}\n` });
    const refund = csvId(3, ORDERS[3]);
    let prepared = false;
    const prepare = () => {
      if (prepared) return;
      run(base, 'orders_flow');
      setContract(base, { statuses: WIDE });
      prepared = true;
    };
    // Where it stops, whether the rows are in the log by then, and what is run next.
    const cases: [string, boolean, 'run first' | 'replay first'][] = [
      ['quarantine-replay-validated', false, 'run first'],
      ['ingest-append', true, 'replay first'],
      ['quarantine-replay-append', true, 'run first'],
      ['quarantine-replay-bookkept', true, 'replay first'],
    ];
    for (const [point, appended, next] of cases) {
      it(`${point}, then ${next}`, async () => {
        prepare();
        const dir = copyProject(base, { keepOut: true });
        dirs.push(dir);
        // The copy keeps the file's modification time, else ingestion sees a changed file (a new generation).
        // Ingestion compares whole milliseconds; a time set as a Date goes through seconds as a double and can land
        // a nanosecond below its millisecond, so it is set half a millisecond in.
        const { atimeMs, mtimeMs } = statSync(join(base, 'data', 'orders.csv'));
        const inMs = (ms: number) => (Math.trunc(ms) + 0.5) / 1000;
        utimesSync(join(dir, 'data', 'orders.csv'), inMs(atimeMs), inMs(mtimeMs));
        assert.equal(
          Math.trunc(statSync(join(dir, 'data', 'orders.csv')).mtimeMs),
          Math.trunc(mtimeMs),
          'the copy keeps the modification time (ms)',
        );
        const crashed = napkinWith(dir, { NAPKIN_CRASH_AT: `${point}:1` }, 'quarantine', 'replay', 'in.orders');
        assert.equal(crashed.signal, 'SIGKILL', `${point} was reached: ${crashed.stderr}`);
        if (next === 'run first') {
          run(dir, 'orders_flow');
          assert.deepEqual(await ids(dir, 'out.orders'), appended ? [1, 2, 3, 5] : [1, 2, 5]);
          const status = await queryDuck(
            warehouse(dir),
            `SELECT DISTINCT status, attempts FROM napkin_meta.quarantine WHERE id = '${refund}'`,
          );
          assert.deepEqual(status, [{ status: appended ? 'replayed' : 'open', attempts: appended ? 2 : 1 }]);
        }
        const r = replay(dir, 'in.orders');
        assert.equal(r.status, 0, show(r));
        assert.match(
          r.stdout,
          appended ? /0 replayed, 0 still failing, 1 already replayed/ : /^in\.orders: 1 replayed,/m,
        );
        run(dir, 'orders_flow');
        assert.deepEqual(await ids(dir, 'out.orders'), [1, 2, 3, 5]);
        const q = shown(dir, 'in.orders');
        assert.equal(q.get(refund)?.status, 'replayed');
        assert.equal(q.get(refund)?.attempts, 2);
      });
    }
  });
});

/** The CLI with extra environment variables, its signal reported. */
function napkinWith(
  dir: string,
  env: Readonly<Record<string, string>>,
  ...args: string[]
): { status: number | null; signal: NodeJS.Signals | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, '--project', dir, ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  return { status: r.status, signal: r.signal, stderr: r.stderr };
}

/** Starts the live flow; `stop` sends SIGTERM (a clean stop: its last epoch commits) and resolves its exit code. */
function startLive(dir: string): { pid: number; stop: () => Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, '--project', dir, 'run', 'live_flow'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return {
    pid: child.pid as number,
    stop: async () => {
      child.kill('SIGTERM');
      const code = await exited;
      if (code !== 0) process.stderr.write(stderr);
      return code;
    },
  };
}

async function until(done: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1200 && !done(); i++) await sleep(50);
  assert.ok(done(), `timed out waiting until ${what}`);
}
