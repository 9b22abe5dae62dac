import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Value } from '../../expr/types.ts';
import { MAX_TIMESTAMP } from '../../time/timestamps.ts';
import type { Batch } from '../batch.ts';
import { newMetrics, type Output, type StageMetrics } from '../operator.ts';
import { type TemporalJoinOperator, temporalJoinOperator } from './temporal-join.ts';

// Left rows: [key, time, id]. Right versions: [key, time, rate, deleted]. Output: [key, time, id, rate].

type Row = readonly Value[];

function batchOf(rows: readonly Row[], width: number): Batch {
  return { length: rows.length, columns: Array.from({ length: width }, (_, c) => rows.map((r) => r[c])) };
}

interface Harness {
  readonly op: TemporalJoinOperator;
  readonly rows: Row[];
  readonly watermarks: number[];
  readonly m: StageMetrics;
  left(...rows: Row[]): void;
  right(...rows: Row[]): void;
}

function harness(how: 'inner' | 'left' = 'left'): Harness {
  const rows: Row[] = [];
  const watermarks: number[] = [];
  const out: Output = {
    push(b) {
      for (let i = 0; i < b.length; i++) rows.push(b.columns.map((c) => c[i]));
    },
    watermark(wm) {
      watermarks.push(wm);
    },
  };
  const m = newMetrics();
  const op = temporalJoinOperator(
    {
      how,
      leftKeys: [0],
      rightKeys: [0],
      leftTime: 1,
      rightTime: 1,
      deletedWhen: 3,
      rightOutput: [2],
      leftWidth: 3,
    },
    out,
    m,
  );
  return {
    op,
    rows,
    watermarks,
    m,
    left: (...r) => op.push(0, batchOf(r, 3)),
    right: (...r) => op.push(1, batchOf(r, 4)),
  };
}

describe('temporal join operator', () => {
  it('a left row waits until the right watermark is past its time (M4), then meets the version as of it', () => {
    const h = harness();
    h.right(['EUR', 100, 1.1, false], ['EUR', 150, 1.2, false]);
    h.left(['EUR', 149, 'o1'], ['EUR', 150, 'o2']);
    assert.deepEqual(h.rows, []);
    h.op.watermark(1, 150);
    assert.deepEqual(h.rows, [['EUR', 149, 'o1', 1.1]], 'a watermark of 150 settles the table below 150 only');
    h.op.watermark(1, 151);
    assert.deepEqual(h.rows[1], ['EUR', 150, 'o2', 1.2]);
    assert.equal(h.op.stateSize().waiting, 0);
  });

  it('a left row behind the right watermark is answered at once', () => {
    const h = harness();
    h.right(['EUR', 100, 1.1, false]);
    h.op.watermark(1, 500);
    h.left(['EUR', 120, 'o1'], ['EUR', 500, 'o2']);
    assert.deepEqual(h.rows, [['EUR', 120, 'o1', 1.1]], 'a row at the watermark itself waits');
    h.right(['EUR', 500, 1.5, false]);
    h.op.watermark(1, 501);
    assert.deepEqual(h.rows[1], ['EUR', 500, 'o2', 1.5], 'a version at the watermark is not late and counts');
  });

  it('left join keeps unmatched rows with nulls; inner drops them', () => {
    for (const how of ['left', 'inner'] as const) {
      const h = harness(how);
      h.right(['EUR', 100, 1.1, false]);
      h.left(['EUR', 99, 'before'], ['USD', 100, 'no key'], ['EUR', 100, 'hit']);
      h.op.watermark(1, MAX_TIMESTAMP);
      const expected: Row[] =
        how === 'left'
          ? [
              ['EUR', 99, 'before', null],
              ['USD', 100, 'no key', null],
              ['EUR', 100, 'hit', 1.1],
            ]
          : [['EUR', 100, 'hit', 1.1]];
      assert.deepEqual(h.rows, expected, how);
    }
  });

  it('null keys match nothing, on either side', () => {
    const h = harness();
    h.right([null, 10, 9.9, false], ['EUR', 10, 1.1, false]);
    h.left([null, 20, 'null key'], ['EUR', 20, 'eur']);
    h.op.watermark(1, MAX_TIMESTAMP);
    assert.deepEqual(h.rows, [
      [null, 20, 'null key', null],
      ['EUR', 20, 'eur', 1.1],
    ]);
    assert.equal(h.op.stateSize().keys, 1, 'a version with a null key is not stored');
  });

  it('a tombstone removes the row from its time on, until a later version', () => {
    const h = harness('left');
    h.right(['EUR', 10, 1.1, false], ['EUR', 20, null, true], ['EUR', 30, 1.3, null]);
    h.left(['EUR', 15, 'a'], ['EUR', 20, 'b'], ['EUR', 29, 'c'], ['EUR', 30, 'd']);
    h.op.watermark(1, MAX_TIMESTAMP);
    assert.deepEqual(
      h.rows.map((r) => r[3]),
      [1.1, null, null, 1.3],
      'deletedWhen null counts as false',
    );
  });

  it('a right version behind the right watermark is late: counted and dropped', () => {
    const h = harness();
    h.right(['EUR', 100, 1.1, false]);
    h.op.watermark(1, 200);
    h.right(['EUR', 150, 9.9, false], ['EUR', 200, 1.2, false]);
    assert.equal(h.m.lateDropped, 1);
    h.left(['EUR', 199, 'a'], ['EUR', 200, 'b']);
    h.op.watermark(1, MAX_TIMESTAMP);
    assert.deepEqual(
      h.rows.map((r) => r[3]),
      [1.1, 1.2],
    );
  });

  it('a left row behind the left watermark is late: counted and dropped', () => {
    const h = harness();
    h.op.watermark(0, 100);
    h.left(['EUR', 99, 'late'], ['EUR', 100, 'on time']);
    h.op.watermark(1, MAX_TIMESTAMP);
    assert.equal(h.m.lateDropped, 1);
    assert.deepEqual(
      h.rows.map((r) => r[2]),
      ['on time'],
    );
  });

  it('the output watermark is min(left, right, earliest waiting row), published only when it rises', () => {
    const h = harness();
    h.op.watermark(0, 50);
    h.op.watermark(1, 40);
    assert.deepEqual(h.watermarks, [40]);
    h.left(['EUR', 60, 'a']);
    h.op.watermark(0, 100);
    h.op.watermark(1, 55);
    assert.deepEqual(h.watermarks, [40, 55]);
    h.op.watermark(1, 80);
    assert.deepEqual(h.watermarks, [40, 55, 80], 'the waiting row at 60 was released by 80');
    h.op.watermark(1, MAX_TIMESTAMP);
    h.op.watermark(0, MAX_TIMESTAMP);
    assert.deepEqual(h.watermarks, [40, 55, 80, 100, MAX_TIMESTAMP]);
  });

  it('the output watermark follows the slower input while rows wait', () => {
    const h = harness();
    h.left(['EUR', 10, 'a']);
    h.op.watermark(0, 1_000);
    assert.deepEqual(h.watermarks, []);
    h.op.watermark(1, 5);
    assert.deepEqual(h.watermarks, [5]);
    h.op.watermark(1, 900);
    assert.deepEqual(h.watermarks, [5, 900]);
  });

  it('keeps few versions per key once watermarks advance', () => {
    const h = harness();
    let maxVersions = 0;
    for (let step = 0; step < 1_000; step++) {
      const t = step * 10;
      h.right(['EUR', t, step, false], ['USD', t + 5, step, false], ['GBP', t + 1, null, step % 7 === 0]);
      h.left(['EUR', t, `o${step}`]);
      h.op.watermark(0, t - 20);
      h.op.watermark(1, t - 30);
      const s = h.op.stateSize();
      maxVersions = Math.max(maxVersions, s.versions);
      assert.ok(s.waiting <= 4, `step ${step}: ${s.waiting} rows waiting`);
      assert.ok(s.scheduled <= 4 * s.keys, `step ${step}: ${s.scheduled} schedule entries`);
    }
    assert.ok(maxVersions <= 20, `at most a few versions per key were kept; saw ${maxVersions}`);
    h.op.watermark(0, MAX_TIMESTAMP);
    h.op.watermark(1, MAX_TIMESTAMP);
    assert.equal(h.rows.length, 1_000);
    assert.deepEqual(h.rows[999], ['EUR', 9_990, 'o999', 999]);
  });
});

describe('temporal join: an idle table (M7)', () => {
  it('an idle table counts as unchanged up to the left watermark: waiting rows are answered, later versions are late', () => {
    const h = harness();
    h.right(['EUR', 100, 1.1, false]);
    h.op.watermark(1, 101);
    h.left(['EUR', 200, 'o1']);
    h.op.watermark(0, 300);
    assert.deepEqual(h.rows, [], 'an active table that has not passed 200 holds the row');
    h.op.idle?.(1, true);
    assert.deepEqual(h.rows, [['EUR', 200, 'o1', 1.1]]);
    assert.equal(h.watermarks.at(-1), 300, 'the output follows the left side');
    h.op.idle?.(1, false);
    h.right(['EUR', 250, 9.9, false]);
    assert.equal(h.m.lateDropped, 1, 'a version below the combined watermark after idleness is late (M7.4)');
  });
});
