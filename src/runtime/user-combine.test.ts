import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { col, combine, max, min } from '../expr/builders.ts';
import type { Value } from '../expr/types.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { type Rel, read } from '../flow/rel.ts';
import { fixed, sessions } from '../time/windows.ts';
import { runTest, type TestRow, testStream } from './testing.ts';

const readings = dataset('t.readings', {
  contract: contract({
    eventTime: 'at',
    fields: { sensor: t.string(), value: t.float64().optional(), at: t.timestamp() },
  }),
});
const sink = dataset('t.out', { owner: 'o', contract: contract({ content: 'open', fields: { sensor: t.string() } }) });
const flowOf = (rel: Rel) => flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(sink, rel.stage('agg'))] });

interface Range {
  lo: number | null;
  hi: number | null;
}

/** max − min: a combine function whose merge matters (sessions merge their accumulators). */
const spread = {
  name: 'spread',
  result: t.float64(),
  create: (): Range => ({ lo: null, hi: null }),
  add(acc: Range, v: Value): Range {
    const x = v as number;
    if (acc.lo === null || x < acc.lo) acc.lo = x;
    if (acc.hi === null || x > acc.hi) acc.hi = x;
    return acc;
  },
  merge(accs: readonly Range[]): Range {
    const out: Range = { lo: null, hi: null };
    for (const a of accs) {
      if (a.lo !== null) this.add(out, a.lo);
      if (a.hi !== null) this.add(out, a.hi);
    }
    return out;
  },
  extract: (acc: Range): Value => (acc.lo === null || acc.hi === null ? null : acc.hi - acc.lo),
};

/** A class instance: its methods live on the prototype and use `this`. */
class Product {
  readonly name = 'product';
  readonly result = t.float64();
  create(): number[] {
    return [1];
  }
  add(acc: number[], v: Value): number[] {
    acc[0] = this.times(acc[0], v as number);
    return acc;
  }
  merge(accs: readonly number[][]): number[] {
    return [accs.reduce((p, a) => this.times(p, a[0]), 1)];
  }
  extract(acc: number[]): Value {
    return acc[0];
  }
  private times(a: number, b: number): number {
    return a * b;
  }
}

const row = (sensor: string, value: number | null, at: number) => ({ sensor, value, at });

describe('user-defined combine functions', () => {
  test('unwindowed: one result per key; nulls are skipped like every aggregate', async () => {
    const input = testStream(readings).addElements(
      row('a', 3, 0),
      row('a', 10, 5),
      row('b', 2, 1),
      row('a', null, 2),
      row('c', null, 3),
    );
    const rel = read(readings)
      .groupBy('sensor')
      .agg({ s: combine(spread, col('value')), p: combine(new Product(), col('value')) });
    const r = await runTest(flowOf(rel), [input]);
    assert.deepEqual(
      (r.rows.get('t.out') ?? []).map((x) => [x.sensor, x.s, x.p]),
      [
        ['a', 7, 30],
        ['b', 0, 2],
        ['c', null, 1],
      ],
    );
  });

  test('windowed: sessions merge the accumulators through merge()', async () => {
    const input = testStream(readings)
      .addElements(row('a', 3, 0), row('a', 1, 50_000))
      .addElements(row('a', 9, 20_000), row('a', 4, 200_000));
    const rel = read(readings)
      .window(sessions('1m'))
      .groupBy('sensor')
      .agg({ s: combine(spread, col('value')), p: combine(new Product(), col('value')) });
    const r = await runTest(flowOf(rel), [input]);
    assert.deepEqual(
      (r.rows.get('t.out') ?? []).map((x) => [x.window_start, x.window_end, x.s, x.p]),
      [
        [0, 110_000, 8, 27],
        [200_000, 260_000, 0, 4],
      ],
    );
  });

  test('a result that breaks the declared type stops the run naming the stage and the function', async () => {
    const liar = { ...spread, name: 'liar', extract: (): Value => 'not a number' };
    const rel = read(readings)
      .groupBy('sensor')
      .agg({ s: combine(liar, col('value')) });
    await assert.rejects(
      runTest(flowOf(rel), [testStream(readings).addElements(row('a', 1, 0))]),
      /stage agg, s: combine function liar returned "not a number" where float64/,
    );
  });

  test('the DSL refuses a function without its parts', () => {
    const { merge: _, ...noMerge } = spread;
    assert.throws(() => combine(noMerge as typeof spread, col('value')), /combine\(spread\): merge must be a function/);
    assert.throws(() => combine({ ...spread, name: '' }, col('value')), /give the function a name/);
  });

  test('property: combine(spread) over sessions equals max − min, whatever the arrival order and bundles', async () => {
    const element = fc.record({
      sensor: fc.constantFrom('a', 'b'),
      value: fc.integer({ min: -100, max: 100 }),
      at: fc.integer({ min: -300_000, max: 300_000 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(element, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        async (rows, size) => {
          let input = testStream(readings);
          for (let i = 0; i < rows.length; i += size) input = input.addElements(...rows.slice(i, i + size));
          const rel = read(readings)
            .window(sessions('30s'))
            .groupBy('sensor')
            .agg({ s: combine(spread, col('value')), lo: min(col('value')), hi: max(col('value')) });
          const out = (await runTest(flowOf(rel), [input])).rows.get('t.out') ?? [];
          assert.ok(out.length > 0);
          for (const x of out) assert.equal(x.s, (x.hi as number) - (x.lo as number), JSON.stringify(x));
        },
      ),
      { numRuns: 60 },
    );
  });

  test('fixed windows: combine and built-ins agree per pane', async () => {
    const rows: TestRow[] = [row('a', 5, 1), row('a', -2, 59_999), row('a', 7, 60_000)];
    const rel = read(readings)
      .window(fixed('1m'))
      .groupBy('sensor')
      .agg({ s: combine(spread, col('value')) });
    const r = await runTest(flowOf(rel), [testStream(readings).addElements(...rows)]);
    assert.deepEqual(
      (r.rows.get('t.out') ?? []).map((x) => [x.window_start, x.s]),
      [
        [0, 7],
        [60_000, 0],
      ],
    );
  });
});
