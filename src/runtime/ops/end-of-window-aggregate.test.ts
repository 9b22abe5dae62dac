import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { col } from '../../expr/builders.ts';
import { compileProjection } from '../../expr/compile.ts';
import { createRegistry } from '../../expr/functions.ts';
import type { Schema, Value } from '../../expr/types.ts';
import { MAX_TIMESTAMP } from '../../time/timestamps.ts';
import { resolveWindowing } from '../../time/windowing.ts';
import { fixed, sliding } from '../../time/windows.ts';
import type { Batch } from '../batch.ts';
import { newMetrics, type Operator, type Output } from '../operator.ts';
import type { AggSpec } from './aggregate.ts';
import { endOfWindowAggregateOperator, endOfWindowApplies } from './end-of-window-aggregate.ts';
import { windowedAggregateOperator } from './windowed-aggregate.ts';

// The specialised end-of-window aggregate must give exactly what the general stage (spec §8) gives wherever it
// applies: the same rows, the same drops, the same watermarks.

const schema: Schema = {
  fields: [
    { name: 'k', type: { kind: 'string' }, nullable: true },
    { name: 'v', type: { kind: 'int64' }, nullable: true },
    { name: 't', type: { kind: 'timestamp' }, nullable: false },
  ],
};
const registry = createRegistry();
const args = compileProjection([col('v').node], schema, registry);
const int = { kind: 'int64' } as const;
const aggs: AggSpec[] = [
  { fn: 'count', arg: -1, type: int },
  { fn: 'count', arg: 0, type: int },
  { fn: 'sum', arg: 0, type: int },
  { fn: 'avg', arg: 0, type: { kind: 'float64' } },
  { fn: 'min', arg: 0, type: int },
  { fn: 'max', arg: 0, type: int },
];

interface Run {
  readonly rows: string[];
  readonly watermarks: number[];
  lateDropped: number;
  filtered: number;
}

type Step = { readonly rows: readonly (readonly Value[])[] } | { readonly watermark: number };

function drive(make: (out: Output, m: ReturnType<typeof newMetrics>) => Operator, steps: readonly Step[]): Run {
  const run: Run = { rows: [], watermarks: [], lateDropped: 0, filtered: 0 };
  const m = newMetrics();
  const out: Output = {
    push(b: Batch) {
      for (let i = 0; i < b.length; i++) run.rows.push(JSON.stringify(b.columns.map((c) => c[i])));
    },
    watermark: (wm) => run.watermarks.push(wm),
  };
  const op = make(out, m);
  for (const s of steps) {
    if ('watermark' in s) op.watermark(0, s.watermark);
    else op.push(0, { length: s.rows.length, columns: [0, 1, 2].map((c) => s.rows.map((r) => r[c])) });
  }
  op.watermark(0, MAX_TIMESTAMP);
  run.lateDropped = m.lateDropped;
  run.filtered = m.filtered;
  run.rows.sort();
  return run;
}

function both(window: ReturnType<typeof fixed> | ReturnType<typeof sliding>, steps: readonly Step[]): [Run, Run] {
  const windowing = resolveWindowing({ window });
  assert.ok(endOfWindowApplies(windowing, aggs));
  const period = window.kind === 'sliding' ? window.period : window.size;
  const general = drive(
    (out, m) => windowedAggregateOperator({ keyColumns: [0], eventTime: 2, args, aggs, windowing }, out, m),
    steps,
  );
  const fast = drive(
    (out, m) =>
      endOfWindowAggregateOperator(
        { keyColumns: [0], eventTime: 2, args, aggs, window: { size: window.size, period, offset: window.offset } },
        out,
        m,
      ),
    steps,
  );
  return [fast, general];
}

const stepsArb = fc
  .array(
    fc.oneof(
      fc.record({
        rows: fc.array(
          fc.tuple(
            fc.constantFrom<Value>('a', 'b', null),
            fc.option(fc.integer({ min: -50, max: 50 }), { nil: null }),
            fc.integer({ min: -40_000, max: 40_000 }),
          ),
          { minLength: 1, maxLength: 12 },
        ),
      }),
      fc.record({ watermark: fc.integer({ min: -40_000, max: 40_000 }) }),
    ),
    { maxLength: 12 },
  )
  // Watermarks never go back (M1): keep the running maximum.
  .map((steps) => {
    let wm = Number.NEGATIVE_INFINITY;
    return steps.map((s) => {
      if (!('watermark' in s)) return s;
      wm = Math.max(wm, s.watermark);
      return { watermark: wm };
    });
  });

describe('end-of-window aggregate = the general stage where it applies', () => {
  test('property: fixed windows, random bundles, watermarks and late rows', () => {
    fc.assert(
      fc.property(stepsArb, fc.integer({ min: 1, max: 20_000 }), (steps, size) => {
        const [fast, general] = both(fixed(size), steps);
        assert.deepEqual(fast, general);
      }),
      { numRuns: 300 },
    );
  });

  test('property: sliding windows, including periods longer than the size (rows in no window)', () => {
    fc.assert(
      fc.property(
        stepsArb,
        fc.integer({ min: 1, max: 20_000 }),
        fc.integer({ min: 1, max: 30_000 }),
        (steps, size, period) => {
          const [fast, general] = both(sliding(size, period), steps);
          assert.deepEqual(fast, general);
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a row at end − 1 is in the window, at end in the next; a fired window drops what comes after', () => {
    const [fast] = both(fixed(10), [
      {
        rows: [
          ['a', 1, 9],
          ['a', 2, 10],
        ],
      },
      { watermark: 10 },
      { rows: [['a', 4, 5]] },
    ]);
    assert.deepEqual(fast.rows, [
      JSON.stringify(['a', 0, 10, 1, 1, 1, 1, 1, 1, 'ON_TIME', 0, true, 9]),
      JSON.stringify(['a', 10, 20, 1, 1, 2, 2, 2, 2, 'ON_TIME', 0, true, 19]),
    ]);
    assert.equal(fast.lateDropped, 1);
  });

  test('only the default trigger, no lateness, end timestamps and flat aggregates take the fast path', () => {
    assert.equal(endOfWindowApplies(resolveWindowing({ window: fixed(10), allowedLateness: 1 }), aggs), false);
    assert.equal(
      endOfWindowApplies(resolveWindowing({ window: fixed(10), timestampCombiner: 'earliest' }), aggs),
      false,
    );
    assert.equal(
      endOfWindowApplies(resolveWindowing({ window: fixed(10) }), [{ fn: 'countDistinct', arg: 0, type: int }]),
      false,
    );
  });
});
