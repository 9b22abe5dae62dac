import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { avg, col, count, countDistinct, max, min, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { type Dataset, dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { type Rel, read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { afterProcessingTime, repeatedly } from '../time/triggers.ts';
import { fixed, global, sessions } from '../time/windows.ts';
import { runTest, testStream } from './testing.ts';

const clicks = dataset('t.clicks', {
  contract: contract({
    eventTime: 'at',
    fields: { user: t.string(), amount: t.decimal(12, 2), at: t.timestamp(), seen: t.timestamp().optional() },
  }),
});
const noTime = dataset('t.plain', { contract: contract({ fields: { user: t.string(), n: t.int64() } }) });
const sink = dataset('t.out', { owner: 'o', contract: contract({ content: 'open', fields: { user: t.string() } }) });

const flowOf = (rel: Rel, into: Dataset = sink) =>
  flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(into, rel.stage('win'))] });
const perMinute = (options = {}) =>
  read(clicks)
    .window(fixed('1m'), options)
    .groupBy('user')
    .agg({ total: sum(col('amount')), n: count(), top: max(col('amount')) });

describe('windowed aggregates: bind', () => {
  test('schema: keys, window bounds, aggregates, pane fields', () => {
    const bound = bindFlow(flowOf(perMinute()), createRegistry());
    assert.deepEqual(bound.findings, []);
    const s = bound.stages.find((x) => x.id === 'win')?.schema?.fields ?? [];
    assert.deepEqual(
      s.map((f) => `${f.name}:${f.type.kind}${f.nullable ? '?' : ''}`),
      [
        'user:string',
        'window_start:timestamp',
        'window_end:timestamp',
        'total:decimal?',
        'n:int64',
        'top:decimal?',
        'pane_timing:enum',
        'pane_index:int64',
        'pane_is_last:bool',
        'event_time:timestamp',
      ],
    );
  });

  test('the global window has null bounds', () => {
    const rel = read(clicks).window(global()).groupBy('user').agg({ n: count() });
    const s = bindFlow(flowOf(rel), createRegistry()).stages.find((x) => x.id === 'win')?.schema?.fields ?? [];
    assert.equal(s.find((f) => f.name === 'window_start')?.nullable, true);
  });

  test('NAP023 without an event-time column, or with one that is not a timestamp', () => {
    const codes = (rel: Rel) => bindFlow(flowOf(rel), createRegistry()).findings.map((f) => f.code);
    assert.deepEqual(codes(read(noTime).window(fixed('1m')).groupBy('user').agg({ n: count() })), ['NAP023']);
    assert.deepEqual(codes(read(noTime).window(fixed('1m'), { eventTime: 'n' }).groupBy('user').agg({ n2: count() })), [
      'NAP023',
    ]);
    assert.deepEqual(codes(perMinute({ eventTime: 'seen' })), ['NAP023'], 'a nullable timestamp cannot place a row');
    assert.deepEqual(codes(perMinute({ eventTime: 'nope' })), ['NAP023']);
  });
});

const row = (user: string, amount: number, at: number) => ({ user, amount, at, seen: null });

describe('windowed aggregates: run', () => {
  test('a bounded input gives one ON_TIME pane per key and window', async () => {
    const input = testStream(clicks).addElements(row('a', 1.1, 1_000), row('b', 2, 61_000), row('a', 2.2, 59_999));
    const r = await runTest(flowOf(perMinute()), [input]);
    assert.deepEqual(r.rows.get('t.out'), [
      {
        user: 'a',
        window_start: 0,
        window_end: 60_000,
        total: 3.3,
        n: 2,
        top: 2.2,
        pane_timing: 'ON_TIME',
        pane_index: 0,
        pane_is_last: true,
        event_time: 59_999,
      },
      {
        user: 'b',
        window_start: 60_000,
        window_end: 120_000,
        total: 2,
        n: 1,
        top: 2,
        pane_timing: 'ON_TIME',
        pane_index: 0,
        pane_is_last: true,
        event_time: 119_999,
      },
    ]);
  });

  test('watermark advances fire windows as they pass; late data is dropped and counted', async () => {
    const input = testStream(clicks)
      .addElements(row('a', 1, 1_000))
      .advanceWatermark(60_000)
      .addElements(row('a', 5, 2_000), row('a', 7, 70_000));
    const r = await runTest(flowOf(perMinute()), [input]);
    const rows = r.rows.get('t.out') ?? [];
    assert.deepEqual(
      rows.map((x) => [x.window_start, x.total, x.pane_timing]),
      [
        [0, 1, 'ON_TIME'],
        [60_000, 7, 'ON_TIME'],
      ],
    );
    assert.equal(r.metrics.get('win')?.lateDropped, 1);
  });

  test('allowed lateness: a late element gives a LATE pane (accumulating)', async () => {
    const input = testStream(clicks)
      .addElements(row('a', 1, 1_000))
      .advanceWatermark(60_000)
      .addElements(row('a', 5, 2_000));
    const r = await runTest(flowOf(perMinute({ allowedLateness: '1m', accumulation: 'accumulating' })), [input]);
    const rows = r.rows.get('t.out') ?? [];
    assert.deepEqual(
      rows.map((x) => [x.total, x.pane_timing, x.pane_index]),
      [
        [1, 'ON_TIME', 0],
        [6, 'LATE', 1],
      ],
    );
    assert.equal(r.metrics.get('win')?.lateDropped, 0);
  });

  test('processing-time triggers fire from the test clock, without sleeping', async () => {
    const input = testStream(clicks)
      .addElements(row('a', 1, 1_000))
      .advanceProcessingTime('10s')
      .addElements(row('a', 2, 2_000))
      .advanceProcessingTime('10s');
    const rel = read(clicks)
      .window(fixed('1m'), { trigger: repeatedly(afterProcessingTime('5s')) })
      .groupBy('user')
      .agg({ total: sum(col('amount')) });
    const r = await runTest(flowOf(rel), [input]);
    assert.deepEqual(
      (r.rows.get('t.out') ?? []).map((x) => [x.total, x.pane_timing]),
      [
        [1, 'EARLY'],
        [2, 'EARLY'],
      ],
    );
  });

  test('testStream refuses rows that break the contract and watermarks that go back', () => {
    assert.throws(() => testStream(clicks).addElements({ user: 'a', amount: 1, at: 'soon' }), /'at'/);
    assert.throws(() => testStream(clicks).advanceWatermark(10).advanceWatermark(5), /never goes back/);
  });
});

describe('windowed aggregates: merging windows', () => {
  test('sessions merge the accumulators of every aggregate', async () => {
    const input = testStream(clicks)
      .addElements(row('a', 3, 0), row('a', 1, 50_000))
      .addElements(row('a', 2, 20_000), row('a', 1, 200_000));
    const rel = read(clicks)
      .window(sessions('1m'))
      .groupBy('user')
      .agg({
        n: count(),
        lo: min(col('amount')),
        hi: max(col('amount')),
        mean: avg(col('amount')),
        d: countDistinct(col('amount')),
      });
    const r = await runTest(flowOf(rel), [input]);
    assert.deepEqual(
      (r.rows.get('t.out') ?? []).map((x) => [x.window_start, x.window_end, x.n, x.lo, x.hi, x.mean, x.d]),
      [
        [0, 110_000, 3, 1, 3, 2, 3],
        [200_000, 260_000, 1, 1, 1, 1, 1],
      ],
    );
  });
});

describe('end of input as a watermark', () => {
  test('a stream that advances to +∞ itself ends once: an unwindowed aggregate emits once', async () => {
    const input = testStream(clicks)
      .addElements(row('a', 1, 0), row('b', 2, 0))
      .advanceWatermarkToInfinity();
    const rel = read(clicks).groupBy('user').agg({ n: count() });
    const r = await runTest(flowOf(rel), [input]);
    assert.deepEqual(r.rows.get('t.out'), [
      { user: 'a', n: 1 },
      { user: 'b', n: 1 },
    ]);
  });
});
