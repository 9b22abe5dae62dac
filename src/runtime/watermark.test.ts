import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_TIMESTAMP } from '../time/timestamps.ts';
import type { Batch } from './batch.ts';
import { newMetrics, type Operator, type Output } from './operator.ts';
import { joinOperator } from './ops/join.ts';
import { unionOperator } from './ops/union.ts';
import { MinWatermark } from './watermark.ts';

function recorder(): { out: Output; wms: number[]; rows: number[] } {
  const wms: number[] = [];
  const rows: number[] = [];
  return {
    out: {
      push: (b: Batch) => rows.push(b.length),
      watermark: (wm: number) => wms.push(wm),
    },
    wms,
    rows,
  };
}

const batch = (k: number): Batch => ({ length: 1, columns: [[k]] });

function join(out: Output): Operator {
  return joinOperator(
    { how: 'inner', leftKeys: [0], rightKeys: [0], rightOutput: [], leftWidth: 1, rightWidth: 1 },
    out,
    newMetrics(),
  );
}

/** Random watermark steps on two ports; a step may go back, which an input must ignore (T6). */
const steps = fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 100 })), { maxLength: 30 });

describe('watermarks of multi-input operators (M2)', () => {
  test('MinWatermark publishes the minimum over its inputs, only when it rises', () => {
    const w = new MinWatermark(2);
    assert.equal(w.advance(0, 10), undefined);
    assert.equal(w.advance(1, 5), 5);
    assert.equal(w.advance(1, 3), undefined);
    assert.equal(w.advance(1, 20), 10);
    assert.equal(w.advance(0, MAX_TIMESTAMP), 20);
  });

  test('union: the output watermark is the min of its inputs and never decreases', () => {
    fc.assert(
      fc.property(steps, (ss) => {
        const r = recorder();
        const u = unionOperator([[0], [0]], r.out, newMetrics());
        const ports = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
        let expected = Number.NEGATIVE_INFINITY;
        for (const [p, wm] of ss) {
          u.watermark(p, wm);
          ports[p] = Math.max(ports[p], wm);
          const min = Math.min(...ports);
          if (min > expected) {
            expected = min;
            assert.equal(r.wms.at(-1), min);
          }
        }
        for (let i = 1; i < r.wms.length; i++) assert.ok(r.wms[i] > r.wms[i - 1]);
        assert.equal(r.wms.length === 0 ? Number.NEGATIVE_INFINITY : r.wms.at(-1), expected);
      }),
    );
  });

  test('join: min of its inputs, never decreasing, and +∞ once both sides end', () => {
    fc.assert(
      fc.property(steps, (ss) => {
        const r = recorder();
        const j = join(r.out);
        const ports = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
        for (const [p, wm] of ss) {
          j.watermark(p, wm);
          ports[p] = Math.max(ports[p], wm);
          if (r.wms.length > 0) assert.equal(r.wms.at(-1), Math.min(...ports));
        }
        j.watermark(0, MAX_TIMESTAMP);
        j.watermark(1, MAX_TIMESTAMP);
        for (let i = 1; i < r.wms.length; i++) assert.ok(r.wms[i] > r.wms[i - 1]);
        assert.equal(r.wms.at(-1), MAX_TIMESTAMP);
      }),
    );
  });

  test('join: left rows waiting for the build side hold the output watermark', () => {
    const r = recorder();
    const j = join(r.out);
    j.push(0, batch(1));
    j.watermark(0, 50);
    j.watermark(1, 40);
    assert.deepEqual(r.wms, [], 'a waiting row may be older than 40');
    j.push(1, batch(1));
    j.watermark(1, MAX_TIMESTAMP);
    assert.deepEqual(r.rows, [1]);
    assert.deepEqual(r.wms, [50]);
    j.watermark(0, MAX_TIMESTAMP);
    assert.deepEqual(r.wms, [50, MAX_TIMESTAMP]);
  });
});
