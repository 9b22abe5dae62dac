import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { diffResults, type ExportEvent, readExport, runOnEvents } from './harness.ts';
import { queries } from './queries.ts';
import { loadReference, type ReferenceDb } from './reference.ts';

/**
 * Hand-written events, times in ms after 2026-01-01T00:00:00Z, lines partly out of time order. They hit: q4 bids at an
 * auction's dateTime and expires (in) and 1 ms either side (out, at higher prices), bids sent before their auction,
 * a category without bids; q5 and q7 ties for the maximum and a bid at exactly 10000 (the next window); q11 gaps of
 * exactly 10,000 ms (bidder 3000: new session) and 9,999 ms (bidder 3001: same session, two bids at one time); q8
 * person 1000 with two auctions in its registration window (one row), 1001 registering at 9999 and selling at 10000
 * (no row), 1002 selling before registering in the same window; q3 sellers registering after their auction (1003),
 * outside OR/ID/CA (1002 WA, 1004 AZ), never (9999), and category 11 to 14 auctions; q2 auction 1107 = 9 · 123.
 */
const FIXTURE = join(import.meta.dirname, 'fixtures', 'edge-cases.jsonl');
/** Low enough that the fixture's longest auction (5 s) is within q4's interval join (33 s at 100 events/s). */
const params = { rate: 100 };

describe('nexmark queries on the edge-case fixture equal the reference SQL', () => {
  let db: ReferenceDb;
  let events: ExportEvent[];
  before(async () => {
    db = await loadReference(FIXTURE);
    events = readExport(FIXTURE);
  });
  after(() => db.close());

  for (const q of Object.values(queries)) {
    test(`${q.name}: columns are the reference's`, async () => {
      const ref = await db.result(q.name);
      assert.deepEqual(q.columns, ref.columns);
      assert.ok(ref.rows.length > 0, `${q.name}: the fixture gives the reference no rows; extend it`);
    });
    for (const run of [
      { mode: 'batch', chunk: 1000 },
      { mode: 'stream', chunk: 1 },
      { mode: 'stream', chunk: 4 },
    ] as const) {
      test(`${q.name} ${run.mode} (bundles of ${run.chunk})`, async () => {
        const ref = await db.result(q.name);
        const got = await runOnEvents(q, events, { ...run, params });
        assert.equal(diffResults(got.rows, ref.rows, ref.columns, ref.doubles), undefined);
        assert.equal(got.lateDropped, 0);
      });
    }
  }

  // The stream runs above would pass vacuously if watermarks never moved before the end: ones that run ahead must
  // make the windowed queries drop rows and go wrong.
  for (const name of ['q5', 'q7', 'q8', 'q11'] as const) {
    test(`${name}: watermarks 10 s ahead of the events make it differ from the reference`, async () => {
      const ref = await db.result(name);
      const got = await runOnEvents(queries[name], events, { mode: 'stream', chunk: 1, params, watermarkLead: 10_000 });
      assert.ok(got.lateDropped > 0, 'no row was late');
      assert.notEqual(diffResults(got.rows, ref.rows, ref.columns, ref.doubles), undefined);
    });
  }

  test('q4 misses bids past the longest auction of the rate it is given', async () => {
    const ref = await db.result('q4');
    const got = await runOnEvents(queries.q4, events, { mode: 'batch', chunk: 1000, params: { rate: 10_000 } });
    assert.notEqual(diffResults(got.rows, ref.rows, ref.columns, ref.doubles), undefined);
  });
});

describe('diffResults', () => {
  const cols = ['k', 'x'];
  test('equal multisets in any order match; doubles within 1e-9 relative', () => {
    const a = [
      { k: 1, x: 0.1 + 0.2 },
      { k: 1, x: 5 },
      { k: 2, x: 5 },
    ];
    const e = [
      { k: 2, x: 5 },
      { k: 1, x: 0.3 },
      { k: 1, x: 5 * (1 + 5e-10) },
    ];
    assert.equal(diffResults(a, e, cols, ['x']), undefined);
  });
  test('a missing duplicate, a double off by more than 1e-9 and an integer off by one are differences', () => {
    const e = [
      { k: 1, x: 5 },
      { k: 1, x: 5 },
    ];
    assert.match(diffResults([{ k: 1, x: 5 }], e, cols, ['x']) ?? '', /1 rows but the reference has 2; missing/);
    assert.match(
      diffResults(
        [
          { k: 1, x: 5 },
          { k: 1, x: 5.00001 },
        ],
        e,
        cols,
        ['x'],
      ) ?? '',
      /row 1/,
    );
    const big = 1_767_225_600_000;
    assert.notEqual(diffResults([{ k: big + 1, x: 1 }], [{ k: big, x: 1 }], cols, ['x']), undefined);
    assert.notEqual(diffResults([{ k: 1, x: 2 }], [{ k: 1, x: 1 }], cols, []), undefined);
  });
  test('a missing or extra column is a difference', () => {
    assert.notEqual(diffResults([{ k: 1 }], [{ k: 1, x: null }], cols, []), undefined);
    assert.notEqual(diffResults([{ k: 1, x: 1, y: 2 }], [{ k: 1, x: 1 }], cols, []), undefined);
  });
});
