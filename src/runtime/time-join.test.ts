import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { col } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { fieldTypeToString } from '../expr/types.ts';
import { contract, t } from '../flow/contract.ts';
import { type Dataset, dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { defineProject } from '../flow/project.ts';
import { Rel, type RelNode, read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { projectLineage } from '../plan/lineage.ts';
import { planProject } from '../plan/project-plan.ts';
import { parseSignedDuration } from '../time/duration.ts';
import { afterCount, afterWatermark } from '../time/triggers.ts';
import { fixed, global, sessions, sliding } from '../time/windows.ts';
import { liveColumns } from './liveness.ts';
import { runTest, testStream } from './testing.ts';

const M = 60_000;

const clicks = dataset('web.clicks', {
  contract: contract({ eventTime: 'at', fields: { user: t.string().optional(), page: t.string(), at: t.timestamp() } }),
});
const ads = dataset('web.ads', {
  contract: contract({ eventTime: 'shown_at', fields: { user: t.string(), ad: t.string(), shown_at: t.timestamp() } }),
});
const plain = dataset('web.plain', { contract: contract({ fields: { user: t.string(), n: t.int64() } }) });
const numbered = dataset('web.numbered', {
  contract: contract({ eventTime: 'at', fields: { user: t.int64(), at: t.timestamp() } }),
});
const sink = dataset('web.joined', {
  owner: 'o',
  contract: contract({ content: 'open', fields: { page: t.string() } }),
});

const flowOf = (rel: Rel, into: Dataset = sink) =>
  flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(into, rel.stage('j'))] });
const bound = (rel: Rel) => bindFlow(flowOf(rel), createRegistry());
const schemaOf = (rel: Rel) =>
  bound(rel)
    .stages.find((s) => s.id === 'j')
    ?.schema?.fields.map((f) => `${f.name}:${fieldTypeToString(f)}`);
const findings = (rel: Rel) => bound(rel).findings;

const perMinute = (how: 'inner' | 'left' = 'inner') =>
  read(clicks).window(fixed('1m')).join(read(ads), { on: 'user', how });
const adsBefore = () => read(clicks).intervalJoin(read(ads), { on: 'user', from: '-10s', to: '0s' });

describe('time-bounded joins: DSL', () => {
  test('signed durations', () => {
    assert.equal(parseSignedDuration('-10s'), -10_000);
    assert.equal(parseSignedDuration('+1m30s'), 90_000);
    assert.ok(Object.is(parseSignedDuration('-0s'), 0));
    assert.throws(() => parseSignedDuration('--1s'), /invalid duration '--1s'.*e\.g\. '-10s'/);
  });

  test('the nodes carry keys, window, bounds and explicit event times', () => {
    const w = read(clicks)
      .window(sliding('2m', '1m'), { eventTime: 'at' })
      .join(read(ads), {
        on: [{ left: 'user', right: 'user' }],
        rightEventTime: 'shown_at',
      });
    assert.equal(w.node.op, 'windowJoin');
    assert.deepEqual(w.node.op === 'windowJoin' && [w.node.how, w.node.window.size, w.node.leftEventTime], [
      'inner',
      120_000,
      'at',
    ]);
    const i = read(clicks).intervalJoin(read(ads), { on: 'user', from: -5, to: '1m' });
    assert.deepEqual(i.node.op === 'intervalJoin' && [i.node.from, i.node.to], [-5, 60_000]);
  });

  test('refuses sessions, the global window, pane options, from > to and an empty key list', () => {
    assert.throws(() => read(clicks).window(sessions('1m')).join(read(ads), { on: 'user' }), /sessions.*fixed\(\)/);
    assert.throws(() => read(clicks).window(global()).join(read(ads), { on: 'user' }), /rel\.join/);
    assert.throws(
      () =>
        read(clicks)
          .window(fixed('1m'), { trigger: afterWatermark({ early: afterCount(1) }) })
          .join(read(ads), { on: 'user' }),
      /emits each window once/,
    );
    assert.throws(() => read(clicks).intervalJoin(read(ads), { on: 'user', from: '1s', to: '-1s' }), /swap them/);
    assert.throws(() => read(clicks).intervalJoin(read(ads), { on: 'user', from: 'soon', to: '0s' }), /from: invalid/);
    assert.throws(() => read(clicks).intervalJoin(read(ads), { on: [], from: 0, to: 0 }), /at least one key/);
  });
});

describe('time-bounded joins: bind', () => {
  test('window join schema: left, right without the shared key, then the window bounds', () => {
    assert.deepEqual(schemaOf(perMinute()), [
      'user:string?',
      'page:string',
      'at:timestamp',
      'ad:string',
      'shown_at:timestamp',
      'window_start:timestamp',
      'window_end:timestamp',
    ]);
    assert.deepEqual(schemaOf(perMinute('left'))?.slice(3, 5), ['ad:string?', 'shown_at:timestamp?']);
  });

  test('interval join schema: all of the left, then the right without the shared key', () => {
    assert.deepEqual(schemaOf(adsBefore()), [
      'user:string?',
      'page:string',
      'at:timestamp',
      'ad:string',
      'shown_at:timestamp',
    ]);
  });

  test('NAP023 names the side without an event time, and each side is checked', () => {
    const f = findings(read(clicks).intervalJoin(read(plain), { on: 'user', from: 0, to: 0 }));
    assert.deepEqual(
      f.map((x) => x.code),
      ['NAP023'],
    );
    assert.match(f[0].message, /interval join has no event-time column on its right side \(read_2\)/);
    assert.match(f[0].hint, /rightEventTime/);
    const both = findings(read(plain).window(fixed('1m')).join(read(plain), { on: 'user' }));
    assert.deepEqual(
      both.map((x) => x.code),
      ['NAP023', 'NAP023'],
    );
    const notTime = findings(
      read(clicks).intervalJoin(read(ads), { on: 'user', from: 0, to: 0, leftEventTime: 'page' }),
    );
    assert.match(notTime[0].message, /event-time column 'page' of the interval join's left side is string/);
  });

  test('NAP003: keys of different types; a clash names both sides', () => {
    const keys = findings(read(numbered).intervalJoin(read(ads), { on: 'user', from: 0, to: 0 }));
    assert.equal(keys[0]?.code, 'NAP003');
    assert.match(keys[0].message, /join key user is int64 on the left and string on the right/);
    const clash = findings(
      read(clicks)
        .window(fixed('1m'))
        .join(read(ads).withColumns({ page: col('ad') }), { on: 'user' }),
    );
    assert.equal(clash[0]?.code, 'NAP003');
    assert.match(clash[0].message, /page are on both the left \(stage read_1\) and the right \(stage withColumns_1\)/);
  });

  test('NAP024: a hand-built window join over sessions', () => {
    const node = perMinute().node as Extract<RelNode, { op: 'windowJoin' }>;
    const bad = new Rel({ ...node, window: sessions('1m') } as unknown as RelNode);
    const f = findings(bad);
    assert.deepEqual(
      f.map((x) => x.code),
      ['NAP024'],
    );
    assert.match(f[0].message, /sessions gap 60000ms: sessions are formed from each side's own rows/);
  });

  test('liveness: both joins read every column of both sides, event times included', () => {
    for (const rel of [perMinute(), adsBefore()]) {
      const live = liveColumns(bound(rel.select('page')).stages);
      assert.deepEqual(
        [live.get('read_1'), live.get('read_2')],
        [
          [true, true, true],
          [true, true, true],
        ],
      );
    }
  });

  test('draw shows the op and what it does', () => {
    const s = bindFlow(
      flow({
        name: 'f',
        owner: 'o',
        sla: '1d',
        outputs: [write(sink, perMinute('left')), write(plainSink, adsBefore())],
      }),
      createRegistry(),
    ).stages;
    const details = s
      .filter((x) => x.op === 'windowJoin' || x.op === 'intervalJoin')
      .map((x) => `${x.id}: ${x.detail}`);
    assert.deepEqual(details, [
      'windowJoin_1: left window join fixed 60000ms on user',
      'intervalJoin_1: interval join on user, right time in left time + [-10s, 0ms]',
    ]);
  });

  test('lineage: columns DIRECT from their side; keys and event times INDIRECT; bounds from both event times', () => {
    const plan = planProject(defineProject({ name: 'p', flows: [flowOf(perMinute(), wide)] }), createRegistry());
    const l = projectLineage(plan).get('web.wide');
    const edges = (c: string) => l?.fields.get(c)?.map((e) => `${e.dataset}.${e.column}:${e.subtype}`);
    assert.deepEqual(edges('page'), ['web.clicks.page:IDENTITY']);
    assert.deepEqual(edges('ad'), ['web.ads.ad:IDENTITY']);
    assert.deepEqual(edges('window_start')?.sort(), [
      'web.ads.shown_at:TRANSFORMATION',
      'web.clicks.at:TRANSFORMATION',
    ]);
    assert.deepEqual((l?.indirect ?? []).map((e) => `${e.dataset}.${e.column}:${e.type}:${e.subtype}`).sort(), [
      'web.ads.shown_at:INDIRECT:WINDOW',
      'web.ads.user:INDIRECT:JOIN',
      'web.clicks.at:INDIRECT:WINDOW',
      'web.clicks.user:INDIRECT:JOIN',
    ]);
  });
});

const wide = dataset('web.wide', {
  owner: 'o',
  contract: contract({ fields: { page: t.string(), ad: t.string(), window_start: t.timestamp() } }),
});
const plainSink = dataset('web.near', {
  owner: 'o',
  contract: contract({ content: 'open', fields: { page: t.string() } }),
});

const click = (user: string | null, page: string, at: number) => ({ user, page, at });
const ad = (user: string, name: string, shown_at: number) => ({ user, ad: name, shown_at });

describe('time-bounded joins: run', () => {
  test('window join over streams: pairs per minute, unmatched clicks, a late ad dropped and counted', async () => {
    const c = testStream(clicks).addElements(
      click('u1', '/a', 10_000),
      click('u1', '/b', 70_000),
      click(null, '/c', 20_000),
      click('u2', '/d', 30_000),
    );
    const a = testStream(ads)
      .addElements(ad('u1', 'x', 59_999), ad('u2', 'y', 60_000))
      .advanceWatermark(M)
      // Later in processing time than every click, whether the executor reads sources in turn or interleaved.
      .advanceProcessingTime('1s')
      .addElements(ad('u2', 'late', 50_000), ad('u1', 'z', 61_000));
    const r = await runTest(flowOf(perMinute('left')), [c, a]);
    const rows = (r.rows.get('web.joined') ?? []).map((x) => [x.page, x.ad, x.window_start, x.window_end]);
    assert.deepEqual(
      rows.sort((p, q) => String(p[0]).localeCompare(String(q[0]))),
      [
        ['/a', 'x', 0, M],
        ['/b', 'z', M, 2 * M],
        ['/c', null, 0, M],
        ['/d', null, 0, M],
      ],
    );
    assert.equal(r.metrics.get('j')?.lateDropped, 1);
  });

  test('interval join: each click with the ads of its user shown in the 10 s before it, bounds included', async () => {
    const c = testStream(clicks).addElements(click('u1', '/a', 20_000), click('u2', '/b', -5_000));
    const a = testStream(ads)
      .addElements(ad('u1', 'too-early', 9_999), ad('u1', 'first', 10_000), ad('u2', 'neg', -15_000))
      .advanceWatermark(15_000)
      .addElements(ad('u1', 'same-time', 20_000), ad('u1', 'after', 20_001));
    const r = await runTest(flowOf(adsBefore()), [c, a]);
    const rows = (r.rows.get('web.joined') ?? []).map((x) => `${x.page} ${x.ad}`).sort();
    assert.deepEqual(rows, ['/a first', '/a same-time', '/b neg']);
  });

  test('the same flows as one bounded batch give the same rows', async () => {
    const c = testStream(clicks).addElements(click('u1', '/a', 20_000), click('u1', '/b', 65_000));
    const a = testStream(ads).addElements(ad('u1', 'x', 15_000), ad('u1', 'y', 64_000));
    const w = await runTest(flowOf(perMinute()), [c, a]);
    assert.deepEqual(
      (w.rows.get('web.joined') ?? []).map((x) => `${x.page} ${x.ad} ${x.window_start}`),
      ['/a x 0', '/b y 60000'],
    );
    const i = await runTest(flowOf(adsBefore()), [c, a]);
    assert.deepEqual((i.rows.get('web.joined') ?? []).map((x) => `${x.page} ${x.ad}`).sort(), ['/a x', '/b y']);
  });
});
