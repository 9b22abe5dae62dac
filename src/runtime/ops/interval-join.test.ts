import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Value } from '../../expr/types.ts';
import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../../time/timestamps.ts';
import type { Batch } from '../batch.ts';
import { newMetrics, type Output } from '../operator.ts';
import { type IntervalJoinSpec, intervalJoinOperator, outputWatermark } from './interval-join.ts';
import type { StatefulOperator } from './window-join.ts';

// Left rows (a) are (k, t, id), right rows (b) (k, bt, bid); the output is k, t, id, bt, bid.

interface Run {
  readonly op: StatefulOperator;
  readonly rows: Value[][];
  readonly wms: number[];
}

function run(from: number, to: number, options: Partial<IntervalJoinSpec> = {}): Run {
  const rows: Value[][] = [];
  const wms: number[] = [];
  const out: Output = {
    push(b: Batch) {
      for (let i = 0; i < b.length; i++) rows.push(b.columns.map((c) => c[i]));
    },
    watermark: (wm: number) => wms.push(wm),
  };
  const spec: IntervalJoinSpec = {
    from,
    to,
    leftKeys: [0],
    rightKeys: [0],
    leftTime: 1,
    rightTime: 1,
    rightOutput: [1, 2],
    leftWidth: 3,
    rightWidth: 3,
    ...options,
  };
  return { op: intervalJoinOperator(spec, out, newMetrics()), rows, wms };
}

function batch(...rows: Value[][]): Batch {
  return { length: rows.length, columns: [0, 1, 2].map((c) => rows.map((r) => r[c])) };
}

const ids = (rows: Value[][]): string[] => rows.map((r) => `${r[2]}-${r[4]}`).sort();

describe('interval join: the bounds are inclusive', () => {
  test('b exactly at a + from and at a + to matches; one ms outside does not', () => {
    const r = run(-10_000, 0);
    r.op.push(0, batch(['k', 20_000, 'a']));
    r.op.push(1, batch(['k', 9_999, 'b0'], ['k', 10_000, 'b1'], ['k', 20_000, 'b2'], ['k', 20_001, 'b3']));
    assert.deepEqual(ids(r.rows), ['a-b1', 'a-b2']);
  });

  test('the same when b arrives first', () => {
    const r = run(-10_000, 0);
    r.op.push(1, batch(['k', 9_999, 'b0'], ['k', 10_000, 'b1'], ['k', 20_000, 'b2'], ['k', 20_001, 'b3']));
    r.op.push(0, batch(['k', 20_000, 'a']));
    assert.deepEqual(ids(r.rows), ['a-b1', 'a-b2']);
  });

  test('negative timestamps and a window entirely after a', () => {
    const r = run(5_000, 10_000);
    r.op.push(0, batch(['k', -20_000, 'a']));
    r.op.push(1, batch(['k', -15_001, 'b0'], ['k', -15_000, 'b1'], ['k', -10_000, 'b2'], ['k', -9_999, 'b3']));
    assert.deepEqual(ids(r.rows), ['a-b1', 'a-b2']);
  });

  test('pairs leave as soon as both rows are there, before any watermark', () => {
    const r = run(-10_000, 0);
    r.op.push(1, batch(['k', 5, 'b']));
    assert.deepEqual(r.rows, []);
    r.op.push(0, batch(['k', 5, 'a']));
    assert.deepEqual(r.rows, [['k', 5, 'a', 5, 'b']]);
    assert.deepEqual(r.wms, []);
  });

  test('keys must be equal, and a null key part matches nothing', () => {
    const r = run(-10, 10);
    r.op.push(0, batch(['k', 0, 'a1'], [null, 0, 'a2'], ['j', 0, 'a3']));
    r.op.push(1, batch(['k', 0, 'b1'], [null, 0, 'b2']));
    assert.deepEqual(ids(r.rows), ['a1-b1']);
  });
});

describe('interval join: state', () => {
  test('a is kept until the b watermark passes a + to; b until the a watermark passes b − from', () => {
    const r = run(-10_000, 0);
    r.op.push(0, batch(['k', 20_000, 'a']));
    r.op.watermark(1, 20_000);
    assert.equal(r.op.stateSize(), 1, 'a b at 20 000 may still come');
    r.op.watermark(1, 20_001);
    assert.equal(r.op.stateSize(), 0);
    r.op.push(1, batch(['k', 30_000, 'b']));
    r.op.watermark(0, 30_000);
    assert.equal(r.op.stateSize(), 1, 'an a at 30 000 may still come (b − from = 40 000)');
    r.op.watermark(0, 40_000);
    assert.equal(r.op.stateSize(), 1);
    r.op.watermark(0, 40_001);
    assert.equal(r.op.stateSize(), 0);
  });

  test('a row exactly at the bound the other watermark allows is kept, and meets its partner', () => {
    const r = run(-10_000, 0);
    r.op.watermark(1, 20_000);
    r.op.push(0, batch(['k', 20_000, 'a']));
    r.op.watermark(0, 30_000);
    r.op.push(1, batch(['k', 20_000, 'b']));
    assert.equal(r.op.stateSize(), 2, 'a meets a b at 20 000, b an a at 30 000');
    r.op.push(0, batch(['k', 30_000, 'a2']));
    assert.deepEqual(ids(r.rows), ['a-b', 'a2-b']);
  });

  test('a row behind its own watermark still meets the partners kept, and is not stored once it cannot match', () => {
    const r = run(-10_000, 0);
    r.op.push(1, batch(['k', 15_000, 'b']));
    r.op.watermark(0, 20_000);
    r.op.watermark(1, 18_000);
    r.op.push(0, batch(['k', 19_000, 'late-a']));
    assert.deepEqual(ids(r.rows), ['late-a-b']);
    assert.equal(r.op.stateSize(), 2, 'late-a can still meet a b in [18 000, 19 000]');
    r.op.push(0, batch(['k', 17_000, 'later-a']));
    assert.deepEqual(ids(r.rows), ['late-a-b', 'later-a-b']);
    assert.equal(r.op.stateSize(), 2, 'later-a (≤ 17 000) cannot meet a b ≥ 18 000: not kept');
  });

  test('a long stream keeps only the rows of the retention interval', () => {
    const r = run(-500, 500);
    let most = 0;
    for (let i = 0; i < 5_000; i++) {
      const t = i * 100;
      r.op.push(0, batch([`k${i % 13}`, t, i]));
      r.op.push(1, batch([`k${i % 13}`, t + 50, i]));
      r.op.watermark(0, t - 1_000);
      r.op.watermark(1, t - 1_000);
      most = Math.max(most, r.op.stateSize());
    }
    assert.ok(most <= 40, `state held ${most} rows`);
    r.op.watermark(0, MAX_TIMESTAMP);
    r.op.watermark(1, MAX_TIMESTAMP);
    assert.equal(r.op.stateSize(), 0);
    assert.equal(r.rows.length, 5_000, 'each a meets only the b of the same step: its key recurs 1.3 s later');
  });
});

describe('interval join: output watermark', () => {
  test('min(wmA, wmB − to), published only when it rises, +∞ once both end', () => {
    const r = run(-10_000, -5_000);
    r.op.watermark(0, 100_000);
    assert.deepEqual(r.wms, []);
    r.op.watermark(1, 50_000);
    assert.deepEqual(r.wms, [55_000]);
    r.op.watermark(1, 200_000);
    assert.deepEqual(r.wms, [55_000, 100_000]);
    r.op.watermark(0, MAX_TIMESTAMP);
    assert.deepEqual(r.wms, [55_000, 100_000, 205_000]);
    r.op.watermark(1, MAX_TIMESTAMP);
    assert.deepEqual(r.wms, [55_000, 100_000, 205_000, MAX_TIMESTAMP]);
  });

  test('stays finite until b ends, and within the time range at −∞', () => {
    assert.ok(outputWatermark(MAX_TIMESTAMP, MAX_TIMESTAMP - 10, -1_000) < MAX_TIMESTAMP);
    assert.equal(outputWatermark(MIN_TIMESTAMP, MIN_TIMESTAMP, 1_000), MIN_TIMESTAMP);
    assert.equal(outputWatermark(MAX_TIMESTAMP, MAX_TIMESTAMP, 1_000), MAX_TIMESTAMP);
  });
});

describe('interval join: idle inputs (M7)', () => {
  test('an idle b side counts as caught up: the output watermark follows a, and a rows are evicted', () => {
    const r = run(-10_000, 0);
    r.op.push(0, batch(['k', 5_000, 'a1']));
    r.op.watermark(0, 50_000);
    r.op.watermark(1, 1_000);
    assert.equal(r.wms.at(-1), 1_000);
    r.op.idle?.(1, true);
    assert.equal(r.wms.at(-1), 50_000);
    assert.equal(r.op.stateSize(), 0, 'a1 can meet no b at or after 50 s');
  });
});
