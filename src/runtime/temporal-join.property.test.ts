import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { Value } from '../expr/types.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { MAX_TIMESTAMP } from '../time/timestamps.ts';
import { boundedOutOfOrderness } from '../time/watermarks.ts';
import type { Batch } from './batch.ts';
import { newMetrics } from './operator.ts';
import { temporalJoinOperator } from './ops/temporal-join.ts';
import { runTest, type TestRow, testStream } from './testing.ts';

// Mode equivalence for the temporal join: random left rows and a random changelog (tombstones included), arriving out
// of order within a bound, in random bundles, under watermarks that never pass data still to come, give the rows of
// the same input as one bounded batch and of a naive evaluator that scans every version for each left row.
// Right versions are unique per (key, time): with two, "the last one received wins" depends on arrival order.

// Type aliases, not interfaces: test rows must be assignable to a record of values.
type Left = { readonly id: number; readonly k: string | null; readonly at: number };
type Right = { readonly k: string | null; readonly v: number; readonly vt: number; readonly del: boolean };
type How = 'inner' | 'left';

const lefts = dataset('t.left', {
  contract: contract({ eventTime: 'at', fields: { id: t.int64(), k: t.string().optional(), at: t.timestamp() } }),
});
const rights = dataset('t.right', {
  contract: contract({
    eventTime: 'vt',
    fields: { k: t.string().optional(), v: t.int64(), vt: t.timestamp(), del: t.bool() },
  }),
});
const sink = dataset('t.joined', { owner: 'o', contract: contract({ content: 'open', fields: { id: t.int64() } }) });

function joinFlow(how: How, boundMs: number | undefined) {
  const options = boundMs === undefined ? {} : { watermark: boundedOutOfOrderness(boundMs) };
  const rel = read(lefts, options)
    .temporalJoin(read(rights, options), { on: 'k', how, deletedWhen: 'del' })
    .stage('tj');
  return flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(sink, rel)] });
}

/** Output rows as `id:v@vt`, sorted: a multiset of rows (ids are unique). */
function canonical(rows: readonly (readonly Value[])[]): string[] {
  return rows.map(([id, v, vt]) => `${id}:${v}@${vt}`).sort();
}

function naive(ls: readonly Left[], rs: readonly Right[], how: How): string[] {
  const out: (readonly Value[])[] = [];
  for (const l of ls) {
    let best: Right | undefined;
    for (const r of rs) {
      if (l.k !== null && r.k === l.k && r.vt <= l.at && (best === undefined || r.vt > best.vt)) best = r;
    }
    if (best !== undefined && !best.del) out.push([l.id, best.v, best.vt]);
    else if (how === 'left') out.push([l.id, null, null]);
  }
  return canonical(out);
}

const key = fc.constantFrom<string | null>('a', 'b', 'c', null);
const scenario = fc
  .record({
    how: fc.constantFrom<How>('inner', 'left'),
    bound: fc.integer({ min: 0, max: 60 }),
    lefts: fc.array(fc.record({ k: key, at: fc.integer({ min: 0, max: 300 }) }), { maxLength: 30 }),
    rights: fc.uniqueArray(
      fc.record({
        k: key,
        v: fc.integer({ min: -100, max: 100 }),
        vt: fc.integer({ min: 0, max: 300 }),
        del: fc.boolean(),
      }),
      { maxLength: 30, selector: (r) => `${r.k}|${r.vt}` },
    ),
  })
  .chain((s) => {
    const jitter = (n: number) => fc.array(fc.integer({ min: 0, max: s.bound }), { minLength: n, maxLength: n });
    const cuts = (n: number) => fc.array(fc.boolean(), { minLength: n, maxLength: n });
    return fc.record({
      s: fc.constant(s),
      leftJitter: jitter(s.lefts.length),
      rightJitter: jitter(s.rights.length),
      leftCuts: cuts(s.lefts.length),
      rightCuts: cuts(s.rights.length),
      // Which side's next bundle reaches the operator next, when both have some left.
      sides: fc.array(fc.boolean(), { minLength: s.lefts.length + s.rights.length, maxLength: 80 }),
    });
  });

/** Rows in arrival order (event time plus a jitter of at most the bound), cut into bundles. */
function bundles<R>(rows: readonly R[], time: (r: R) => number, jitter: readonly number[], cuts: readonly boolean[]) {
  const order = rows.map((r, i) => ({ r, arrival: time(r) + jitter[i] })).sort((a, b) => a.arrival - b.arrival);
  const out: R[][] = [];
  let current: R[] = [];
  for (const [i, o] of order.entries()) {
    current.push(o.r);
    if (cuts[i] || i === order.length - 1) {
      out.push(current);
      current = [];
    }
  }
  return out;
}

test('temporal join, mode equivalence: streamed out of order = one bounded batch = a naive evaluator', async () => {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ s, leftJitter, rightJitter, leftCuts, rightCuts }) => {
      const ls: Left[] = s.lefts.map((l, id) => ({ id, ...l }));
      let leftStream = testStream(lefts);
      for (const b of bundles(ls, (l) => l.at, leftJitter, leftCuts)) leftStream = leftStream.addElements(...b);
      let rightStream = testStream(rights);
      for (const b of bundles(s.rights, (r) => r.vt, rightJitter, rightCuts))
        rightStream = rightStream.addElements(...b);
      const streamed = await runTest(joinFlow(s.how, s.bound), [leftStream, rightStream]);
      const batch = await runTest(joinFlow(s.how, undefined), [
        testStream(lefts).addElements(...ls),
        testStream(rights).addElements(...s.rights),
      ]);
      const rows = (r: readonly TestRow[] = []) => canonical(r.map((x) => [x.id, x.v, x.vt]));
      const expected = naive(ls, s.rights, s.how);
      assert.equal(streamed.metrics.get('tj')?.lateDropped, 0, 'the watermarks never passed data still to come');
      assert.deepEqual(rows(batch.rows.get('t.joined')), expected);
      assert.deepEqual(rows(streamed.rows.get('t.joined')), expected);
    }),
    { numRuns: 150 },
  );
});

// The executor drives one source after the other; this drives the operator with both sides interleaved at random, so
// rows wait, get released and versions get pruned while the other side is still arriving.
test('temporal join operator, sides interleaved: the naive answer, and no row behind the output watermark', () => {
  fc.assert(
    fc.property(scenario, ({ s, leftJitter, rightJitter, leftCuts, rightCuts, sides }) => {
      const ls: Left[] = s.lefts.map((l, id) => ({ id, ...l }));
      const got: (readonly Value[])[] = [];
      let outWm = Number.NEGATIVE_INFINITY;
      const m = newMetrics();
      const op = temporalJoinOperator(
        {
          how: s.how,
          leftKeys: [1],
          rightKeys: [0],
          leftTime: 2,
          rightTime: 2,
          deletedWhen: 3,
          rightOutput: [1, 2],
          leftWidth: 3,
        },
        {
          push(b) {
            for (let i = 0; i < b.length; i++) {
              assert.ok((b.columns[2][i] as number) >= outWm, 'a row behind the published output watermark');
              got.push([b.columns[0][i], b.columns[3][i], b.columns[4][i]]);
            }
          },
          watermark(wm) {
            assert.ok(wm > outWm, 'the output watermark only rises');
            outWm = wm;
          },
        },
        m,
      );
      const queues = [
        bundles(ls, (l) => l.at, leftJitter, leftCuts).map((b) => batchOf(b.map((l) => [l.id, l.k, l.at]))),
        bundles(s.rights, (r) => r.vt, rightJitter, rightCuts).map((b) =>
          batchOf(b.map((r) => [r.k, r.v, r.vt, r.del])),
        ),
      ];
      const maxSeen = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
      let step = 0;
      while (queues[0].length > 0 || queues[1].length > 0) {
        const port = queues[1].length === 0 || (queues[0].length > 0 && (sides[step++] ?? true)) ? 0 : 1;
        const b = queues[port].shift() as Batch;
        op.push(port, b);
        for (const time of b.columns[2]) maxSeen[port] = Math.max(maxSeen[port], time as number);
        op.watermark(port, maxSeen[port] - s.bound);
      }
      const first = sides[0] === true ? 0 : 1;
      op.watermark(first, MAX_TIMESTAMP);
      op.watermark(1 - first, MAX_TIMESTAMP);
      assert.equal(m.lateDropped, 0);
      assert.equal(outWm, MAX_TIMESTAMP);
      assert.deepEqual(canonical(got), naive(ls, s.rights, s.how));
      assert.deepEqual(op.stateSize().waiting, 0);
    }),
    { numRuns: 300 },
  );
});

function batchOf(rows: readonly (readonly Value[])[]): Batch {
  const width = rows[0]?.length ?? 0;
  return { length: rows.length, columns: Array.from({ length: width }, (_, c) => rows.map((r) => r[c])) };
}
