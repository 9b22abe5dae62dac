import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Value } from '../../expr/types.ts';
import { MAX_TIMESTAMP } from '../../time/timestamps.ts';
import { fixed, sliding } from '../../time/windows.ts';
import type { Batch } from '../batch.ts';
import { newMetrics, type Output, type StageMetrics } from '../operator.ts';
import { type StatefulOperator, type WindowJoinSpec, windowJoinOperator } from './window-join.ts';

// Left rows are (k, t, id), right rows (k, rt, rid); the output is k, t, id, rt, rid, window_start, window_end.

interface Run {
  readonly op: StatefulOperator;
  readonly rows: Value[][];
  readonly wms: number[];
  readonly m: StageMetrics;
}

function run(options: Partial<WindowJoinSpec> = {}): Run {
  const rows: Value[][] = [];
  const wms: number[] = [];
  const out: Output = {
    push(b: Batch) {
      for (let i = 0; i < b.length; i++) rows.push(b.columns.map((c) => c[i]));
    },
    watermark: (wm: number) => wms.push(wm),
  };
  const m = newMetrics();
  const spec: WindowJoinSpec = {
    how: 'inner',
    window: fixed('1m'),
    leftKeys: [0],
    rightKeys: [0],
    leftTime: 1,
    rightTime: 1,
    rightOutput: [1, 2],
    leftWidth: 3,
    rightWidth: 3,
    ...options,
  };
  return { op: windowJoinOperator(spec, out, m), rows, wms, m };
}

/** One batch of rows given as tuples. */
function batch(...rows: Value[][]): Batch {
  const width = rows[0]?.length ?? 3;
  return { length: rows.length, columns: Array.from({ length: width }, (_, c) => rows.map((r) => r[c])) };
}

function both(r: Run, wm: number): void {
  r.op.watermark(0, wm);
  r.op.watermark(1, wm);
}

const sorted = (rows: Value[][]): string[] => rows.map((r) => JSON.stringify(r)).sort();

describe('window join: windows and the watermark', () => {
  test('a pair in one fixed window leaves when the watermark reaches the end, not at end − 1 (M4)', () => {
    const r = run();
    r.op.push(0, batch(['a', 59_999, 'l1']));
    r.op.push(1, batch(['a', 0, 'r1'], ['a', 60_000, 'r2']));
    both(r, 59_999);
    assert.deepEqual(r.rows, []);
    both(r, 60_000);
    assert.deepEqual(r.rows, [['a', 59_999, 'l1', 0, 'r1', 0, 60_000]]);
    both(r, MAX_TIMESTAMP);
    assert.equal(r.rows.length, 1, 'r2 is in the next window, with no left row');
  });

  test('negative timestamps fall in the window that contains them (W4)', () => {
    const r = run();
    r.op.push(0, batch(['a', -1, 'l1'], ['a', -60_001, 'l2']));
    r.op.push(1, batch(['a', -60_000, 'r1'], ['a', 0, 'r2']));
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(r.rows, [['a', -1, 'l1', -60_000, 'r1', -60_000, 0]]);
  });

  test('every pair of a key meets once per shared window; a multi-column key must match on all parts', () => {
    const r = run({ leftKeys: [0, 2], rightKeys: [0, 2], rightOutput: [1] });
    r.op.push(0, batch(['a', 1, 'x'], ['a', 2, 'x'], ['a', 3, 'y']));
    r.op.push(1, batch(['a', 10, 'x'], ['a', 20, 'x'], ['b', 30, 'x']));
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(sorted(r.rows), [
      '["a",1,"x",10,0,60000]',
      '["a",1,"x",20,0,60000]',
      '["a",2,"x",10,0,60000]',
      '["a",2,"x",20,0,60000]',
    ]);
  });

  test('sliding windows: one row per window both rows share', () => {
    const r = run({ window: sliding('2m', '1m') });
    r.op.push(0, batch(['a', 90_000, 'l1']));
    r.op.push(1, batch(['a', 30_000, 'r1'], ['a', 100_000, 'r2']));
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(sorted(r.rows), [
      '["a",90000,"l1",100000,"r2",0,120000]',
      '["a",90000,"l1",100000,"r2",60000,180000]',
      '["a",90000,"l1",30000,"r1",0,120000]',
    ]);
  });

  test('null key parts match nothing, not even each other', () => {
    const r = run();
    r.op.push(0, batch([null, 1, 'l1']));
    r.op.push(1, batch([null, 2, 'r1']));
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(r.rows, []);
    assert.equal(r.op.stateSize(), 0);
  });
});

describe('window join: left join', () => {
  test('an unmatched left row leaves once per window with nulls on the right; a null key is unmatched', () => {
    const r = run({ how: 'left' });
    r.op.push(0, batch(['a', 1, 'l1'], [null, 2, 'l2'], ['b', 3, 'l3']));
    r.op.push(1, batch(['a', 60_000, 'r1'], ['b', 4, 'r3']));
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(sorted(r.rows), [
      '["a",1,"l1",null,null,0,60000]',
      '["b",3,"l3",4,"r3",0,60000]',
      '[null,2,"l2",null,null,0,60000]',
    ]);
  });

  test('with sliding windows an unmatched row appears in each of its windows', () => {
    const r = run({ how: 'left', window: sliding('2m', '1m') });
    r.op.push(0, batch(['a', 90_000, 'l1']));
    r.op.push(1, batch(['a', 130_000, 'r1']));
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(sorted(r.rows), [
      '["a",90000,"l1",130000,"r1",60000,180000]',
      '["a",90000,"l1",null,null,0,120000]',
    ]);
  });
});

describe('window join: late rows', () => {
  test('a row for a window already emitted is dropped and counted; the next instant is not late', () => {
    const r = run();
    r.op.push(0, batch(['a', 10, 'l1'], ['a', 60_000, 'l2']));
    both(r, 60_000);
    r.op.push(1, batch(['a', 59_999, 'late'], ['a', 60_000, 'r2']));
    assert.equal(r.m.lateDropped, 1);
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(r.rows, [['a', 60_000, 'l2', 60_000, 'r2', 60_000, 120_000]]);
  });

  test('lateness is per window: a sliding row late for one window still joins in the other', () => {
    const r = run({ window: sliding('2m', '1m') });
    r.op.push(0, batch(['a', 90_000, 'l1']));
    both(r, 120_000);
    r.op.push(1, batch(['a', 100_000, 'r1']));
    assert.equal(r.m.lateDropped, 1);
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(r.rows, [['a', 90_000, 'l1', 100_000, 'r1', 60_000, 180_000]]);
  });

  test('only the combined watermark closes a window: a row behind its own side alone is not late', () => {
    const r = run();
    r.op.push(0, batch(['a', 10, 'l1']));
    r.op.watermark(1, 120_000);
    r.op.push(1, batch(['a', 20, 'r1']));
    assert.equal(r.m.lateDropped, 0);
    r.op.watermark(0, MAX_TIMESTAMP);
    assert.deepEqual(r.rows, [['a', 10, 'l1', 20, 'r1', 0, 60_000]]);
  });
});

describe('window join: output watermark', () => {
  test('held at the earliest left row of an open window, released when it closes, +∞ at the end', () => {
    const r = run();
    r.op.push(0, batch(['a', 10, 'l1']));
    both(r, 30_000);
    assert.deepEqual(r.wms, [10]);
    both(r, 60_000);
    assert.deepEqual(r.wms, [10, 60_000]);
    both(r, MAX_TIMESTAMP);
    assert.deepEqual(r.wms, [10, 60_000, MAX_TIMESTAMP]);
  });

  test('the minimum of both inputs while nothing is held', () => {
    const r = run();
    r.op.watermark(0, 500);
    assert.deepEqual(r.wms, []);
    r.op.watermark(1, 300);
    assert.deepEqual(r.wms, [300]);
  });
});

describe('window join: state', () => {
  test('a long stream keeps only the open windows', () => {
    const r = run({ window: sliding('10s', '5s') });
    let most = 0;
    for (let w = 0; w < 2_000; w++) {
      const t = w * 1_000;
      r.op.push(0, batch([`k${w % 7}`, t, w]));
      r.op.push(1, batch([`k${w % 7}`, t + 500, w]));
      both(r, t - 5_000);
      most = Math.max(most, r.op.stateSize());
    }
    assert.ok(most <= 40, `state held ${most} rows`);
    both(r, MAX_TIMESTAMP);
    assert.equal(r.op.stateSize(), 0);
    assert.ok(r.rows.length > 2_000);
  });
});

describe('window join: idle inputs (M7)', () => {
  test('a silent side does not hold windows open once it is idle', () => {
    const r = run({ how: 'left' });
    r.op.push(0, batch(['a', 1_000, 'l1']));
    r.op.watermark(0, 120_000);
    assert.deepEqual(r.rows, [], 'the right side still holds the window');
    r.op.idle?.(1, true);
    assert.deepEqual(r.rows, [['a', 1_000, 'l1', null, null, 0, 60_000]]);
    assert.equal(r.wms.at(-1), 120_000);
  });
});
