import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { col, count } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { defineProject } from '../flow/project.ts';
import { read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { projectLineage } from '../plan/lineage.ts';
import { planProject } from '../plan/project-plan.ts';
import { afterCount, afterWatermark } from '../time/triggers.ts';
import { fixed, sessions, sliding } from '../time/windows.ts';
import { runTest, testStream } from './testing.ts';

const clicks = dataset('t.clicks', {
  contract: contract({ eventTime: 'at', fields: { user: t.string(), page: t.string(), at: t.timestamp() } }),
});
const counts = dataset('t.counts', {
  owner: 'o',
  contract: contract({ content: 'open', fields: { user: t.string() } }),
});
const late = dataset('t.late', {
  owner: 'o',
  contract: contract({
    content: 'open',
    fields: { user: t.string(), page: t.string(), window_start: t.timestamp().optional() },
  }),
});
const click = (user: string, at: number, page = '/') => ({ user, page, at });

const perMinute = (options = {}) =>
  read(clicks).window(fixed('1m'), options).groupBy('user').agg({ n: count() }).stage('win');
const flowOf = (agg: ReturnType<typeof perMinute>) =>
  flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(counts, agg), write(late, agg.lateRecords())] });

describe('late records: the side output of a windowed aggregate', () => {
  test('schema: the input columns, the window and the reason', () => {
    const bound = bindFlow(flowOf(perMinute()), createRegistry());
    assert.deepEqual(bound.findings, []);
    const stage = bound.stages.find((s) => s.op === 'lateRecords');
    assert.deepEqual(stage?.inputs, ['win']);
    assert.deepEqual(
      stage?.schema?.fields.map((f) => f.name),
      ['user', 'page', 'at', 'window_start', 'window_end', 'drop_reason'],
    );
  });

  test('only windowed aggregates have late records', () => {
    assert.throws(() => read(clicks).lateRecords(), /call it on a windowed aggregate/);
    assert.throws(() => read(clicks).groupBy('user').agg({ n: count() }).lateRecords(), /windowed aggregate/);
  });

  test('records past the allowed lateness leave on the side output, whole, once per window they missed', async () => {
    const input = testStream(clicks)
      .addElements(click('a', 1_000))
      .advanceWatermark(200_000)
      .addElements(click('a', 130_000, '/in-lateness'), click('b', 5_000, '/too-late'), click('a', 250_000));
    const r = await runTest(flowOf(perMinute({ allowedLateness: '1m' })), [input]);
    assert.deepEqual(r.rows.get('t.late'), [
      { user: 'b', page: '/too-late', at: 5_000, window_start: 0, window_end: 60_000, drop_reason: 'late' },
    ]);
    assert.equal(r.metrics.get('win')?.lateDropped, 1);
    const windows = (r.rows.get('t.counts') ?? []).map((x) => [x.user, x.window_start, x.n]);
    assert.deepEqual(windows, [
      ['a', 0, 1],
      ['a', 120_000, 1],
      ['a', 240_000, 1],
    ]);
  });

  test('sliding windows: one row per expired window of the record', async () => {
    const input = testStream(clicks).advanceWatermark(100_000).addElements(click('a', 55_000));
    const agg = read(clicks).window(sliding('1m', '30s')).groupBy('user').agg({ n: count() }).stage('win');
    const r = await runTest(flowOf(agg), [input]);
    // 55 s is in [0, 60 s) and [30 s, 90 s); both ended before the watermark reached 100 s.
    assert.deepEqual((r.rows.get('t.late') ?? []).map((x) => [x.window_start, x.window_end]).sort(), [
      [0, 60_000],
      [30_000, 90_000],
    ]);
  });

  test("sessions: the record's own proto-window", async () => {
    const input = testStream(clicks).advanceWatermark(100_000).addElements(click('a', 10_000));
    const agg = read(clicks).window(sessions('30s')).groupBy('user').agg({ n: count() }).stage('win');
    const r = await runTest(flowOf(agg), [input]);
    assert.deepEqual(
      (r.rows.get('t.late') ?? []).map((x) => [x.window_start, x.window_end, x.drop_reason]),
      [[10_000, 40_000, 'late']],
    );
  });

  test("a window whose trigger finished drops what comes after: reason 'closed'", async () => {
    const input = testStream(clicks)
      .addElements(click('a', 1_000))
      .addElements(click('a', 2_000, '/after'));
    const agg = read(clicks)
      .window(fixed('1m'), { trigger: afterCount(1) })
      .groupBy('user')
      .agg({ n: count() })
      .stage('win');
    const r = await runTest(flowOf(agg), [input]);
    assert.deepEqual(
      (r.rows.get('t.late') ?? []).map((x) => [x.page, x.drop_reason]),
      [['/after', 'closed']],
    );
  });

  test('counts add up: every input record is in a pane or on the side output', async () => {
    const input = testStream(clicks)
      .addElements(click('a', 1_000), click('b', 2_000))
      .advanceWatermark(180_000)
      .addElements(click('a', 3_000), click('b', 200_000), click('c', 4_000));
    const agg = read(clicks)
      .window(fixed('1m'), { trigger: afterWatermark({ late: afterCount(1) }), allowedLateness: '30s' })
      .groupBy('user')
      .agg({ n: count(col('user')) })
      .stage('win');
    const r = await runTest(flowOf(agg), [input]);
    const inPanes = (r.rows.get('t.counts') ?? []).reduce((s, x) => s + (x.n as number), 0);
    assert.equal(inPanes + (r.rows.get('t.late') ?? []).length, 5);
  });

  test('lineage: the side output carries the input columns; its window comes from the event time', () => {
    const plan = planProject(defineProject({ name: 'p', flows: [flowOf(perMinute())] }), createRegistry());
    const l = projectLineage(plan).get('t.late');
    assert.deepEqual(
      l?.fields.get('page')?.map((e) => `${e.dataset}.${e.column}:${e.subtype}`),
      ['t.clicks.page:IDENTITY'],
    );
    assert.deepEqual(
      l?.fields.get('window_start')?.map((e) => `${e.dataset}.${e.column}:${e.subtype}`),
      ['t.clicks.at:TRANSFORMATION'],
    );
  });
});
