import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BenchRecord } from '../../nexmark/bench.ts';
import { compareToBaseline } from './bench.ts';

const rec = (query: string, eventsPerCpuSecond: number): BenchRecord =>
  ({ query, eventsPerCpuSecond }) as unknown as BenchRecord;

test('a query regresses only when its ratio to the generator falls more than 30% below the baseline', () => {
  const baseline = [rec('generator', 2_000_000), rec('q0', 1_800_000), rec('q5', 800_000)];
  // A machine half as fast moves every figure together: no regression.
  assert.deepEqual(
    compareToBaseline([rec('generator', 1_000_000), rec('q0', 900_000), rec('q5', 400_000)], baseline),
    [],
  );
  // q5 at 0.27 of the generator against 0.4 recorded: more than 30% below.
  const out = compareToBaseline([rec('generator', 2_000_000), rec('q0', 1_800_000), rec('q5', 540_000)], baseline);
  assert.equal(out.length, 1);
  assert.match(out[0], /^q5 regressed: 0\.270 of the generator's events\/CPU-s, baseline 0\.400 \(limit 0\.280\)$/);
  // Exactly at the limit passes.
  assert.deepEqual(compareToBaseline([rec('generator', 2_000_000), rec('q5', 560_000)], baseline), []);
});
