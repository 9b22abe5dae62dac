import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { col, combine, count, countDistinct, max, min, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { testIO } from '../runtime/testing.ts';
import { afterCount, afterProcessingTime, afterWatermark, repeatedly } from '../time/triggers.ts';
import { boundedOutOfOrderness } from '../time/watermarks.ts';
import { fixed, sessions, sliding } from '../time/windows.ts';
import { type EpochContext, EpochRunner, topicInputs } from './epoch-run.ts';
import { EpochStore } from './epochs.ts';
import { Topic } from './topic-log.ts';

// State snapshots: a run restarted after any epoch from the snapshot of its last committed epoch (no epoch
// replayed) commits the same rows as a run that never stopped, for every kind of stateful operator at once.

const events = dataset('s.events', {
  contract: contract({ eventTime: 'at', fields: { key: t.string(), value: t.int64(), at: t.timestamp() } }),
});
const table = dataset('s.table', {
  contract: contract({ eventTime: 'at', fields: { key: t.string(), label: t.string(), at: t.timestamp() } }),
});
const open = (name: string) =>
  dataset(name, { owner: 'o', contract: contract({ content: 'open', fields: { key: t.string() } }) });
const OUTPUTS = [
  'sessions',
  'ticking',
  'late',
  'sliding',
  'totals',
  'distinct',
  'unioned',
  'as_of',
  'windowed',
  'near',
  'joined',
] as const;

/** A user combine function: its accumulator is plain data, so it goes into snapshots. */
const spread = {
  name: 'spread',
  result: t.float64(),
  create: () => ({ lo: null as number | null, hi: null as number | null }),
  add: (a: { lo: number | null; hi: number | null }, v: unknown) => ({
    lo: a.lo === null ? (v as number) : Math.min(a.lo, v as number),
    hi: a.hi === null ? (v as number) : Math.max(a.hi, v as number),
  }),
  merge: (accs: { lo: number | null; hi: number | null }[]) =>
    accs.reduce((x, y) => ({
      lo: x.lo === null ? y.lo : y.lo === null ? x.lo : Math.min(x.lo, y.lo),
      hi: x.hi === null ? y.hi : y.hi === null ? x.hi : Math.max(x.hi, y.hi),
    })),
  extract: (a: { lo: number | null; hi: number | null }) => (a.lo === null || a.hi === null ? null : a.hi - a.lo),
};

function everything() {
  const src = read(events, { watermark: boundedOutOfOrderness(2_000) });
  const tbl = read(table, { watermark: boundedOutOfOrderness(1_000) });
  const perSession = src
    .window(sessions(5_000), {
      trigger: afterWatermark({ early: afterCount(2), late: afterCount(1) }),
      allowedLateness: 3_000,
      accumulation: 'retracting',
    })
    .groupBy('key')
    .agg({
      total: sum(col('value')),
      n: count(),
      d: countDistinct(col('value')),
      spread: combine(spread, col('value')),
    })
    .stage('per_session');
  const outputs = {
    sessions: perSession,
    late: perSession.lateRecords().stage('late_records'),
    // Processing-time firings: each epoch's recorded clock moves processing time (timers in the snapshot).
    ticking: src
      .window(fixed(20_000), {
        trigger: repeatedly(afterProcessingTime(1_500)),
        accumulation: 'accumulating',
      })
      .groupBy('key')
      .agg({ n: count() })
      .stage('ticking'),
    sliding: src
      .window(sliding(10_000, 5_000))
      .groupBy('key')
      .agg({ n: count(), top: max(col('value')) })
      .stage('per_slide'),
    totals: src
      .groupBy('key')
      .agg({ n: count(), total: sum(col('value')), low: min(col('value')) })
      .stage('totals'),
    distinct: src.dedupe('key', 'value').stage('first_seen'),
    unioned: src
      .filter(col('value').gt(80))
      .union(src.filter(col('value').lt(10)))
      .stage('extremes'),
    as_of: src.temporalJoin(tbl, { on: 'key', how: 'left' }).stage('as_of'),
    windowed: src.window(fixed(10_000)).join(tbl, { on: 'key' }).stage('same_window'),
    near: src.intervalJoin(tbl, { on: 'key', from: '-5s', to: '5s' }).stage('near'),
    joined: src.join(tbl.select('key', 'label'), { on: 'key' }).stage('joined'),
  };
  return flow({
    name: 'f',
    owner: 'o',
    sla: '30s',
    outputs: OUTPUTS.map((o) => write(open(`s.${o}`), outputs[o])),
  });
}

type Row = { key: string; n: number; at: number };
/** One ingested chunk of each topic. */
type Step = { events: Row[]; table: Row[] };

const row = fc.record({
  key: fc.constantFrom('a', 'b', 'c'),
  n: fc.integer({ min: 0, max: 100 }),
  at: fc.integer({ min: 0, max: 60_000 }),
});
const steps = fc.array(
  fc.record({ events: fc.array(row, { minLength: 1, maxLength: 6 }), table: fc.array(row, { maxLength: 3 }) }),
  { minLength: 1, maxLength: 8 },
);

async function withTopics<T>(
  input: Step[],
  body: (topics: Map<string, Topic>, ends: Map<string, number>[], dir: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'napkin-snapshots-'));
  const ev = await Topic.open(join(dir, 'log-e'), 's.events', { fsync: 'unsafe-none' });
  const tb = await Topic.open(join(dir, 'log-t'), 's.table', { fsync: 'unsafe-none' });
  try {
    await ev.startGeneration(['key', 'value', 'at']);
    await tb.startGeneration(['key', 'label', 'at']);
    const ends: Map<string, number>[] = [];
    for (const s of input) {
      const append = async (topic: Topic, rows: Row[], text: (r: Row) => string | number) => {
        if (rows.length === 0) return;
        const columns = [rows.map((r) => r.key), rows.map(text), rows.map((r) => r.at)];
        await topic.appendChunk({ batch: { length: rows.length, columns }, rejected: [] }, 2, 0, {
          kind: 'chunk',
          file: 'x',
        });
      };
      await append(ev, s.events, (r) => r.n);
      await append(tb, s.table, (r) => `label-${r.n}`);
      ends.push(
        new Map([
          ['s.events', ev.state.end],
          ['s.table', tb.state.end],
        ]),
      );
    }
    return await body(
      new Map([
        ['s.events', ev],
        ['s.table', tb],
      ]),
      ends,
      dir,
    );
  } finally {
    await ev.close();
    await tb.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs an epoch per step, the last final; with `restart`, a new runner takes over after every epoch. */
async function run(topics: Map<string, Topic>, ends: Map<string, number>[], dir: string, restart: boolean) {
  const registry = createRegistry();
  const bound = bindFlow(everything(), registry);
  const { io, rows } = testIO(bound.stages, []);
  const storeDir = join(dir, `epochs-${Math.random()}`);
  const ctx: EpochContext = {
    bound,
    registry,
    io,
    store: new EpochStore(storeDir, 'f'),
    inputs: topicInputs(topics, bound),
    fingerprint: 'x',
    quarantine: async () => {},
    snapshotEveryMs: restart ? 0 : Number.POSITIVE_INFINITY,
    warn: (line) => assert.fail(line),
  };
  let runner = new EpochRunner(ctx);
  await runner.start();
  const collected = new Map<string, unknown[]>();
  const harvest = () => {
    for (const [k, v] of rows) collected.set(k, [...(collected.get(k) ?? []), ...v.splice(0)]);
  };
  for (let i = 0; i < ends.length; i++) {
    const final = i === ends.length - 1;
    await runner.epoch({ final, upTo: ends[i], clock: 1_000 * i });
    harvest();
    if (restart && !final) {
      await runner.close();
      runner = new EpochRunner(ctx);
      await runner.start();
      assert.equal(runner.restoredFrom, i + 1, 'the restart restores the snapshot of the last committed epoch');
      assert.equal(runner.replayed, 0, 'and replays no epoch');
      // Only the latest snapshot is kept.
      assert.equal(readdirSync(join(storeDir, 'snapshots')).length, 1);
    }
  }
  return Object.fromEntries([...collected].map(([k, v]) => [k, v.map((r) => JSON.stringify(r)).sort()]));
}

test('a run restarted from its state snapshot after any epoch commits what a run that never stopped commits', async () => {
  await fc.assert(
    fc.asyncProperty(steps, async (input) => {
      await withTopics(input, async (topics, ends, dir) => {
        const reference = await run(topics, ends, dir, false);
        assert.ok((reference['s.totals'] ?? []).length > 0, 'the global aggregate answered at the end');
        assert.deepEqual(await run(topics, ends, dir, true), reference);
      });
    }),
    { numRuns: 30 },
  );
});

/** A combine function whose accumulator is a class instance: its state cannot go into a snapshot. */
class Tally {
  n = 0;
  add(): Tally {
    this.n++;
    return this;
  }
}

function withClassState() {
  const src = read(events, { watermark: boundedOutOfOrderness(2_000) });
  const tally = {
    name: 'tally',
    result: t.int64(),
    create: () => new Tally(),
    add: (a: Tally) => a.add(),
    merge: (accs: Tally[]) => accs.reduce((x, y) => Object.assign(new Tally(), { n: x.n + y.n })),
    extract: (a: Tally) => a.n,
  };
  const agg = src
    .window(fixed(10_000))
    .groupBy('key')
    .agg({ n: combine(tally, col('value')) })
    .stage('tallies');
  return flow({ name: 'g', owner: 'o', sla: '30s', outputs: [write(open('s.tallies'), agg)] });
}

test('state that cannot be snapshotted is said once, and a restart rebuilds it by replay', async () => {
  const input: Step[] = [
    { events: [{ key: 'a', n: 1, at: 1_000 }], table: [] },
    { events: [{ key: 'a', n: 2, at: 2_000 }], table: [] },
    { events: [{ key: 'b', n: 3, at: 30_000 }], table: [] },
  ];
  await withTopics(input, async (topics, ends, dir) => {
    const registry = createRegistry();
    const bound = bindFlow(withClassState(), registry);
    const { io, rows } = testIO(bound.stages, []);
    const warnings: string[] = [];
    const ctx: EpochContext = {
      bound,
      registry,
      io,
      store: new EpochStore(join(dir, 'epochs-class'), 'g'),
      inputs: topicInputs(topics, bound),
      fingerprint: 'x',
      quarantine: async () => {},
      snapshotEveryMs: 0,
      warn: (line) => warnings.push(line),
    };
    let runner = new EpochRunner(ctx);
    await runner.start();
    await runner.epoch({ final: false, upTo: ends[0] });
    await runner.epoch({ final: false, upTo: ends[1] });
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(
      warnings[0],
      /flow g: no state snapshots \(stage tallies: state holds an instance of Tally, which snapshots do not know, at agg\.store\.scalars/,
    );
    await runner.close();
    runner = new EpochRunner(ctx);
    await runner.start();
    assert.equal(runner.restoredFrom, undefined);
    assert.equal(runner.replayed, 2);
    await runner.epoch({ final: true, upTo: ends[2] });
    const out = (rows.get('s.tallies') ?? []).map((r) => [r.key, r.n]);
    assert.deepEqual(out.sort(), [
      ['a', 2],
      ['b', 1],
    ]);
  });
});

test('a damaged snapshot is said, and the state is rebuilt by replaying the output', async () => {
  const input: Step[] = [
    { events: [{ key: 'a', n: 1, at: 1_000 }], table: [] },
    { events: [{ key: 'a', n: 2, at: 2_000 }], table: [] },
  ];
  await withTopics(input, async (topics, ends, dir) => {
    const registry = createRegistry();
    const bound = bindFlow(everything(), registry);
    const { io } = testIO(bound.stages, []);
    const storeDir = join(dir, 'epochs-damaged');
    const warnings: string[] = [];
    const ctx: EpochContext = {
      bound,
      registry,
      io,
      store: new EpochStore(storeDir, 'f'),
      inputs: topicInputs(topics, bound),
      fingerprint: 'x',
      quarantine: async () => {},
      snapshotEveryMs: 0,
      warn: (line) => warnings.push(line),
    };
    let runner = new EpochRunner(ctx);
    await runner.start();
    await runner.epoch({ final: false, upTo: ends[0] });
    await runner.close();
    const [file] = readdirSync(join(storeDir, 'snapshots'));
    const path = join(storeDir, 'snapshots', file);
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 0xff;
    writeFileSync(path, bytes);
    runner = new EpochRunner(ctx);
    await assert.rejects(runner.start(), /fails its checksum: the state snapshot is damaged; delete it/);
    rmSync(path);
    runner = new EpochRunner(ctx);
    await runner.start();
    assert.equal(runner.restoredFrom, undefined);
    assert.equal(runner.replayed, 1);
    assert.deepEqual(warnings, []);
  });
});
