import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { count } from '../expr/builders.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { MIN_TIMESTAMP } from '../time/timestamps.ts';
import { boundedOutOfOrderness, monotonic } from '../time/watermarks.ts';
import { fixed } from '../time/windows.ts';
import { SourceWatermark } from './source-watermark.ts';
import { runTest, testStream } from './testing.ts';

describe('watermark strategies (M6)', () => {
  test('descriptions: durations in ms, monotonic is bound 0, bad values refused', () => {
    assert.deepEqual(boundedOutOfOrderness('5s'), { kind: 'boundedOutOfOrderness', boundMs: 5_000 });
    assert.deepEqual(monotonic({ idleTimeout: '1m' }), { kind: 'monotonic', idleTimeoutMs: 60_000 });
    assert.throws(() => boundedOutOfOrderness(-1), /maxDelay/);
    assert.throws(() => monotonic({ idleTimeout: 0 }), /idleTimeout/);
  });

  test('MIN before the first record, maxSeen − bound after each batch, published only when it rises', () => {
    const w = new SourceWatermark(boundedOutOfOrderness(1_000));
    assert.equal(w.observe([], 0), undefined);
    assert.equal(w.watermark, MIN_TIMESTAMP);
    assert.equal(w.observe([null], 1), undefined, 'a null event time says nothing');
    assert.equal(w.observe([5_000, 9_000, 7_000], 3), 8_000);
    assert.equal(w.observe([8_500], 1), undefined, 'older than maxSeen: no rise');
    assert.equal(w.observe([9_000], 1), undefined, 'equal to maxSeen: no rise');
    assert.equal(w.observe([2_000, 12_000], 2), 11_000);
    assert.equal(w.watermark, 11_000);
  });

  test('monotonic: the newest record is the watermark', () => {
    const w = new SourceWatermark(monotonic());
    assert.equal(w.observe([3, 1, 2], 3), 3);
  });

  test('the subtraction is guarded near MIN_TIMESTAMP', () => {
    const w = new SourceWatermark(boundedOutOfOrderness(10));
    assert.equal(w.observe([MIN_TIMESTAMP + 5], 1), undefined);
  });

  test('idleness (M7): countdown from the first empty probe, idle strictly after the timeout, reset by a record', () => {
    const w = new SourceWatermark(boundedOutOfOrderness(0, { idleTimeout: 100 }));
    w.observe([1], 1);
    assert.equal(w.probe(0), false, 'a record since the last probe');
    assert.equal(w.probe(10), false, 'countdown starts here');
    assert.equal(w.probe(110), false, 'exactly the timeout is not more');
    assert.equal(w.probe(111), true);
    w.observe([2], 1);
    assert.equal(w.probe(200), false, 'active again');
    assert.equal(new SourceWatermark(monotonic()).probe(1e9), false, 'no timeout, never idle');
  });
});

const clicks = dataset('t.clicks', {
  contract: contract({ eventTime: 'at', fields: { page: t.string(), at: t.timestamp() } }),
});
const out = dataset('t.views', { owner: 'o', contract: contract({ content: 'open', fields: { page: t.string() } }) });

describe('source watermarks in the executor', () => {
  test('every chunk advances the watermark; records behind it are late downstream', async () => {
    const rel = read(clicks, { watermark: boundedOutOfOrderness('5s') })
      .window(fixed('1m'), { allowedLateness: '10s' })
      .groupBy('page')
      .agg({ views: count() })
      .stage('win');
    const f = flow({ name: 'f', owner: 'o', sla: '1m', outputs: [write(out, rel)] });
    const r = (page: string, at: number) => ({ page, at });
    const input = testStream(clicks)
      .addElements(r('a', 10_000), r('a', 50_000))
      // maxSeen 66 s → W = 61 s: window [0, 60 s) fires ON_TIME.
      .addElements(r('a', 66_000))
      // 58 s is behind W but within lateness (GC at 70 s): a LATE pane.
      .addElements(r('a', 58_000), r('a', 80_000))
      // W = 75 s ≥ 60 s + 10 s: the window is gone, this one is dropped.
      .addElements(r('a', 1_000));
    const res = await runTest(f, [input]);
    const rows = (res.rows.get('t.views') ?? []).map((x) => `${x.window_start}:${x.pane_timing}:${x.views}`);
    assert.deepEqual(rows, ['0:ON_TIME:2', '0:LATE:1', '60000:ON_TIME:2']);
    assert.equal(res.metrics.get('win')?.lateDropped, 1);
  });

  test('a watermark strategy needs an event-time column', () => {
    const plain = dataset('t.plain', { contract: contract({ fields: { page: t.string() } }) });
    assert.throws(() => read(plain, { watermark: monotonic() }), /eventTime/);
  });
});
