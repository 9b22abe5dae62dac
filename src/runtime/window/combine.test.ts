import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { avg, type CombineFn, compareValues, count, list, max, min, sum } from './combine.ts';

function run<V, A, O>(fn: CombineFn<V, A, O>, ...parts: V[][]): O {
  const accs = parts.map((values) => values.reduce((acc, v) => fn.add(acc, v), fn.create()));
  return fn.extract(fn.merge(accs));
}

describe('combine functions', () => {
  it('fold, merge and extract', () => {
    assert.equal(run(sum, [1, 2], [3]), 6);
    assert.equal(run(count, ['a', 'b'], [null]), 3);
    assert.deepEqual(run(list, [10, 9], [3, 100]), [3, 9, 10, 100]);
    assert.equal(run(min, [4, 2], [], [3]), 2);
    assert.equal(run(max, [4, 2], [], [3]), 4);
    assert.equal(run(avg, [1, 2], [6]), 3);
  });

  it('read out an empty window as the empty value (A5)', () => {
    assert.equal(sum.extract(sum.create()), 0);
    assert.equal(count.extract(count.create()), 0);
    assert.deepEqual(list.extract(list.create()), []);
    assert.equal(min.extract(min.create()), null);
    assert.equal(avg.extract(avg.create()), null);
  });

  it('list extracts a copy, sorted numbers numerically and strings by code unit', () => {
    const acc = list.add(list.add(list.add(list.create(), 'b'), 'B'), 'a');
    const out = list.extract(acc);
    assert.deepEqual(out, ['B', 'a', 'b']);
    list.add(acc, 'c');
    assert.deepEqual(out, ['B', 'a', 'b']);
    assert.deepEqual([10, 9, 100].sort(compareValues), [9, 10, 100]);
    assert.deepEqual([null, 'x', 2, true].sort(compareValues), [null, true, 2, 'x']);
  });

  it('accumulators are plain data', () => {
    const acc = avg.add(avg.add(avg.create(), 1), 2);
    assert.deepEqual(JSON.parse(JSON.stringify(acc)), acc);
  });
});
