import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { col, count, sum } from '../expr/builders.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { fixed } from '../time/windows.ts';
import { runTest, type TestRow, testStream } from './testing.ts';

// Mode equivalence: a windowed aggregation fed out of order, in random bundles, under random watermark steps that
// never pass data still to come by more than the allowed lateness, ends with the rows the same flow gives over the
// input as one bounded batch, and the rows a naive evaluator gives.

const events = dataset('t.events', {
  contract: contract({ eventTime: 'at', fields: { key: t.string(), value: t.int64(), at: t.timestamp() } }),
});
const sink = dataset('t.sums', {
  owner: 'o',
  contract: contract({ content: 'open', fields: { key: t.string() } }),
});

type Accumulation = 'discarding' | 'accumulating';

function windowedFlow(size: number, lateness: number, accumulation: Accumulation) {
  const rel = read(events)
    .window(fixed(size), { allowedLateness: lateness, accumulation })
    .groupBy('key')
    .agg({ total: sum(col('value')), n: count() })
    .stage('win');
  return flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(sink, rel)] });
}

interface Final {
  key: string;
  start: number;
  end: number;
  total: number;
  n: number;
}

/** The final value of each (key, window): the last pane when accumulating, the sum of the panes when discarding. */
function finals(rows: readonly TestRow[], accumulation: Accumulation): Final[] {
  const byWindow = new Map<string, Final>();
  for (const r of rows) {
    const id = `${r.key}|${r.window_start}`;
    const prev = byWindow.get(id);
    const total = (r.total as number | null) ?? 0;
    const n = r.n as number;
    if (prev === undefined || accumulation === 'accumulating') {
      byWindow.set(id, {
        key: r.key as string,
        start: r.window_start as number,
        end: r.window_end as number,
        total,
        n,
      });
    } else {
      prev.total += total;
      prev.n += n;
    }
  }
  return sorted([...byWindow.values()]);
}

function naive(rows: readonly TestRow[], size: number): Final[] {
  const byWindow = new Map<string, Final>();
  for (const r of rows) {
    const at = r.at as number;
    const start = at - (((at % size) + size) % size);
    const id = `${r.key}|${start}`;
    const f = byWindow.get(id) ?? { key: r.key as string, start, end: start + size, total: 0, n: 0 };
    f.total += r.value as number;
    f.n++;
    byWindow.set(id, f);
  }
  return sorted([...byWindow.values()]);
}

function sorted(fs: Final[]): Final[] {
  return fs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.start - b.start));
}

const scenario = fc
  .record({
    size: fc.constantFrom(10, 25, 100),
    lateness: fc.integer({ min: 0, max: 120 }),
    accumulation: fc.constantFrom<Accumulation>('discarding', 'accumulating'),
    rows: fc.array(
      fc.record({
        key: fc.constantFrom('a', 'b', 'c'),
        value: fc.integer({ min: -1000, max: 1000 }),
        at: fc.integer({ min: -100, max: 400 }),
      }),
      { maxLength: 40 },
    ),
  })
  .chain((s) =>
    fc.record({
      s: fc.constant(s),
      // Arrival order: by event time plus a jitter of at most the allowed lateness (bounded out-of-orderness).
      jitter: fc.array(fc.integer({ min: 0, max: s.lateness }), { minLength: s.rows.length, maxLength: s.rows.length }),
      cuts: fc.array(fc.boolean(), { minLength: s.rows.length, maxLength: s.rows.length }),
      steps: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: s.rows.length, maxLength: s.rows.length }),
    }),
  );

test('mode equivalence: streamed out of order = one bounded batch = a naive evaluator', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ s, jitter, cuts, steps }) => {
      const rows: TestRow[] = s.rows;
      const order = rows
        .map((r, i) => ({ r, arrival: (r.at as number) + jitter[i] }))
        .sort((a, b) => a.arrival - b.arrival);
      let stream = testStream(events);
      let bundle: TestRow[] = [];
      let wm = Number.MIN_SAFE_INTEGER;
      for (let i = 0; i < order.length; i++) {
        bundle.push(order[i].r);
        if (!cuts[i] && i < order.length - 1) continue;
        stream = stream.addElements(...bundle);
        bundle = [];
        // The watermark may pass what is still to come by at most the allowed lateness, so nothing is dropped.
        let bound = Number.MAX_SAFE_INTEGER;
        for (let j = i + 1; j < order.length; j++) bound = Math.min(bound, (order[j].r.at as number) + s.lateness);
        if (bound === Number.MAX_SAFE_INTEGER) bound = 1_000;
        const from = Math.max(wm, -1_000);
        const next = Math.floor(from + ((bound - from) * steps[i]) / 100);
        if (next > wm) {
          wm = Math.min(next, bound);
          stream = stream.advanceWatermark(wm);
        }
      }
      const f = windowedFlow(s.size, s.lateness, s.accumulation);
      const streamed = await runTest(f, [stream]);
      const batch = await runTest(f, [testStream(events).addElements(...rows)]);
      assert.equal(streamed.metrics.get('win')?.lateDropped, 0);
      const expected = naive(rows, s.size);
      assert.deepEqual(finals(batch.rows.get('t.sums') ?? [], s.accumulation), expected);
      assert.deepEqual(finals(streamed.rows.get('t.sums') ?? [], s.accumulation), expected);
      assert.equal((batch.rows.get('t.sums') ?? []).length, expected.length, 'a batch run gives one pane per window');
    }),
    { numRuns: 300 },
  );
});
