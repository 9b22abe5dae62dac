import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Value } from '../expr/types.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { type Rel, read } from '../flow/rel.ts';
import { MAX_TIMESTAMP } from '../time/timestamps.ts';
import { fixed, sliding } from '../time/windows.ts';
import type { Batch } from './batch.ts';
import { newMetrics, type Output, type StageMetrics } from './operator.ts';
import { intervalJoinOperator } from './ops/interval-join.ts';
import { type StatefulOperator, windowJoinOperator } from './ops/window-join.ts';
import { runTest, type TestRow, testStream } from './testing.ts';

// Mode equivalence for the time-bounded joins: both sides fed out of order (within a bounded-out-of-orderness bound
// that makes no row late), interleaved, in random batches, with each side's watermark at its newest time minus the
// bound or exactly at the earliest row still to come, give the multiset of rows the same flow gives over the input as
// one bounded batch, and the rows a naive nested loop gives. Every output row is also at or after the output
// watermark published before it.

const lefts = dataset('t.lefts', {
  contract: contract({ eventTime: 't', fields: { k: t.string().optional(), t: t.timestamp(), id: t.int64() } }),
});
const rights = dataset('t.rights', {
  contract: contract({ eventTime: 'rt', fields: { k: t.string().optional(), rt: t.timestamp(), rid: t.int64() } }),
});
const sink = dataset('t.joined', { owner: 'o', contract: contract({ content: 'open', fields: { id: t.int64() } }) });

interface Row {
  readonly k: string | null;
  readonly t: number;
}

// A narrow time range and small bounds make rows meet exactly at the bounds, where off-by-one mistakes show.
const rowArb = fc.record({
  k: fc.constantFrom<string | null>('a', 'b', 'c', null),
  t: fc.integer({ min: -30, max: 60 }),
});

/** The input, and how it arrives: per row a delay within the bound, a tie-breaker and whether a batch ends there. */
const inputArb = fc
  .record({
    left: fc.array(rowArb, { maxLength: 25 }),
    right: fc.array(rowArb, { maxLength: 25 }),
    bound: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 60 })),
    /** `bounded`: newest time minus the bound (M6); `tight`: exactly the earliest row still to come on that side. */
    watermarks: fc.constantFrom<'bounded' | 'tight'>('bounded', 'tight'),
  })
  .chain((s) => {
    const n = s.left.length + s.right.length;
    return fc.record({
      s: fc.constant(s),
      delay: fc.array(fc.integer({ min: 0, max: s.bound }), { minLength: n, maxLength: n }),
      tie: fc.array(fc.integer(), { minLength: n, maxLength: n }),
      cut: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
    });
  });
type Input = typeof inputArb extends fc.Arbitrary<infer T> ? T : never;

const leftTuple = (r: Row, id: number): Value[] => [r.k, r.t, id];
const rightTuple = (r: Row, id: number): Value[] => [r.k, r.t, 1_000 + id];

function batchOf(rows: readonly Value[][]): Batch {
  return { length: rows.length, columns: [0, 1, 2].map((c) => rows.map((r) => r[c])) };
}

/** Collects output rows as JSON and checks each against the watermark published before it. */
function recorder(): { out: Output; rows: string[]; wms: number[] } {
  const rows: string[] = [];
  const wms: number[] = [];
  const out: Output = {
    push(b) {
      const wm = wms.at(-1) ?? Number.NEGATIVE_INFINITY;
      for (let i = 0; i < b.length; i++) {
        const time = b.columns[1][i] as number;
        assert.ok(time >= wm, `an output row at ${time} came after the output watermark ${wm}`);
        rows.push(JSON.stringify(b.columns.map((c) => c[i])));
      }
    },
    watermark(wm) {
      assert.ok(wm > (wms.at(-1) ?? Number.NEGATIVE_INFINITY), 'the output watermark only rises');
      wms.push(wm);
    },
  };
  return { out, rows, wms };
}

/** Streams the input through `op`: sides interleaved by arrival, a side's watermark after each of its batches. */
function stream(input: Input, op: StatefulOperator): void {
  const { s, delay, tie, cut } = input;
  const events = [
    ...s.left.map((r, i) => ({ side: 0, row: leftTuple(r, i), t: r.t })),
    ...s.right.map((r, i) => ({ side: 1, row: rightTuple(r, i), t: r.t })),
  ].map((e, i) => ({ ...e, arrival: e.t + delay[i], tie: tie[i] }));
  events.sort((x, y) => x.arrival - y.arrival || x.tie - y.tie);
  const maxSeen = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  let bundle: Value[][] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    bundle.push(e.row);
    maxSeen[e.side] = Math.max(maxSeen[e.side], e.t);
    if (i < events.length - 1 && events[i + 1].side === e.side && !cut[i]) continue;
    op.push(e.side, batchOf(bundle));
    bundle = [];
    // Either way every row still to come on this side is at or after it: none is late.
    op.watermark(e.side, s.watermarks === 'bounded' ? maxSeen[e.side] - s.bound : earliestAfter(events, i, e.side));
  }
  op.watermark(0, MAX_TIMESTAMP);
  op.watermark(1, MAX_TIMESTAMP);
}

/** The earliest time among the events after `i` on one side; +∞ (the side's end) when there are none. */
function earliestAfter(events: readonly { side: number; t: number }[], i: number, side: number): number {
  let min = MAX_TIMESTAMP;
  for (let j = i + 1; j < events.length; j++) if (events[j].side === side && events[j].t < min) min = events[j].t;
  return min;
}

/** The same input as one bounded batch, through the whole engine. */
async function batchRun(input: Input, rel: Rel, columns: readonly string[]): Promise<string[]> {
  const l = testStream(lefts).addElements(...input.s.left.map((r, i) => ({ k: r.k, t: r.t, id: i })));
  const r = testStream(rights).addElements(...input.s.right.map((x, i) => ({ k: x.k, rt: x.t, rid: 1_000 + i })));
  const f = flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(sink, rel.stage('j'))] });
  const result = await runTest(f, [l, r]);
  return (result.rows.get('t.joined') ?? []).map((row: TestRow) => JSON.stringify(columns.map((c) => row[c])));
}

const sortedOf = (rows: readonly string[]): string[] => [...rows].sort();

// ------------------------------------------------------------------------------------------------------------------
// Window join

interface WindowCase {
  readonly size: number;
  readonly period: number;
  readonly how: 'inner' | 'left';
}

const windowArb = fc.record({
  size: fc.constantFrom(5, 10, 25),
  period: fc.constantFrom(3, 5, 10, 25, 40),
  how: fc.constantFrom<'inner' | 'left'>('inner', 'left'),
});

/** The windows `[s, s + size)` with `s` a multiple of `period` that contain `t`, found by trying every candidate. */
function windowsOf(w: WindowCase, time: number): number[] {
  const out: number[] = [];
  for (let k = Math.floor((time - w.size) / w.period); k <= Math.floor(time / w.period) + 1; k++) {
    const s = k * w.period;
    if (s <= time && time < s + w.size) out.push(s);
  }
  return out;
}

function naiveWindowJoin(input: Input, w: WindowCase): string[] {
  const out: string[] = [];
  input.s.left.forEach((l, i) => {
    for (const s of windowsOf(w, l.t)) {
      let matched = false;
      input.s.right.forEach((r, j) => {
        if (l.k === null || r.k !== l.k || !windowsOf(w, r.t).includes(s)) return;
        matched = true;
        out.push(JSON.stringify([l.k, l.t, i, r.t, 1_000 + j, s, s + w.size]));
      });
      if (!matched && w.how === 'left') out.push(JSON.stringify([l.k, l.t, i, null, null, s, s + w.size]));
    }
  });
  return sortedOf(out);
}

test('window join: streamed out of order = one bounded batch = a nested loop', async () => {
  await fc.assert(
    fc.asyncProperty(inputArb, windowArb, async (input, w) => {
      const fn = w.period === w.size ? fixed(w.size) : sliding(w.size, w.period);
      const r = recorder();
      const m: StageMetrics = newMetrics();
      const spec = {
        how: w.how,
        window: fn,
        leftKeys: [0],
        rightKeys: [0],
        leftTime: 1,
        rightTime: 1,
        rightOutput: [1, 2],
        leftWidth: 3,
        rightWidth: 3,
      };
      const op = windowJoinOperator(spec, r.out, m);
      stream(input, op);
      const expected = naiveWindowJoin(input, w);
      assert.equal(m.lateDropped, 0);
      assert.deepEqual(sortedOf(r.rows), expected);
      assert.equal(r.wms.at(-1), MAX_TIMESTAMP);
      assert.equal(op.stateSize(), 0);
      const rel = read(lefts).window(fn).join(read(rights), { on: 'k', how: w.how });
      const batch = await batchRun(input, rel, ['k', 't', 'id', 'rt', 'rid', 'window_start', 'window_end']);
      assert.deepEqual(sortedOf(batch), expected);
    }),
    { numRuns: 300 },
  );
});

// ------------------------------------------------------------------------------------------------------------------
// Interval join

const boundsArb = fc
  .record({ from: fc.integer({ min: -20, max: 10 }), width: fc.integer({ min: 0, max: 20 }) })
  .map(({ from, width }) => ({ from, to: from + width }));

function naiveIntervalJoin(input: Input, from: number, to: number): string[] {
  const out: string[] = [];
  input.s.left.forEach((a, i) => {
    input.s.right.forEach((b, j) => {
      if (a.k !== null && a.k === b.k && a.t + from <= b.t && b.t <= a.t + to)
        out.push(JSON.stringify([a.k, a.t, i, b.t, 1_000 + j]));
    });
  });
  return sortedOf(out);
}

test('interval join: streamed out of order = one bounded batch = a nested loop', async () => {
  await fc.assert(
    fc.asyncProperty(inputArb, boundsArb, async (input, { from, to }) => {
      const r = recorder();
      const spec = {
        from,
        to,
        leftKeys: [0],
        rightKeys: [0],
        leftTime: 1,
        rightTime: 1,
        rightOutput: [1, 2],
        leftWidth: 3,
        rightWidth: 3,
      };
      const op = intervalJoinOperator(spec, r.out, newMetrics());
      stream(input, op);
      const expected = naiveIntervalJoin(input, from, to);
      assert.deepEqual(sortedOf(r.rows), expected);
      assert.equal(r.wms.at(-1), MAX_TIMESTAMP);
      assert.equal(op.stateSize(), 0);
      const rel = read(lefts).intervalJoin(read(rights), { on: 'k', from, to });
      const batch = await batchRun(input, rel, ['k', 't', 'id', 'rt', 'rid']);
      assert.deepEqual(sortedOf(batch), expected);
    }),
    { numRuns: 300 },
  );
});
