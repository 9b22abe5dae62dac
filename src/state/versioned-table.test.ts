import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { TimeHeap } from './time-heap.ts';
import { VersionedTable } from './versioned-table.ts';
import { type RowColumns, WaitingRows } from './waiting-rows.ts';

describe('VersionedTable: as-of lookup', () => {
  const table = (): VersionedTable => {
    const t = new VersionedTable();
    t.put('EUR', 100, ['v100']);
    t.put('EUR', 200, ['v200']);
    t.put('EUR', 300, null);
    t.put('EUR', 400, ['v400']);
    return t;
  };

  it('finds the version valid at exactly its time and between versions', () => {
    const t = table();
    assert.deepEqual(t.lookup('EUR', 100), ['v100']);
    assert.deepEqual(t.lookup('EUR', 199), ['v100']);
    assert.deepEqual(t.lookup('EUR', 200), ['v200']);
    assert.deepEqual(t.lookup('EUR', 10_000), ['v400']);
  });

  it('finds nothing just before the first version, nor for an unknown key', () => {
    const t = table();
    assert.equal(t.lookup('EUR', 99), null);
    assert.equal(t.lookup('USD', 150), null);
  });

  it('finds nothing after a tombstone, until the next version', () => {
    const t = table();
    assert.equal(t.lookup('EUR', 300), null);
    assert.equal(t.lookup('EUR', 399), null);
    assert.deepEqual(t.lookup('EUR', 400), ['v400']);
  });

  it('keeps the last version received for one key and time', () => {
    const t = new VersionedTable();
    t.put(1, 5, ['first']);
    t.put(1, 5, ['second']);
    assert.deepEqual(t.lookup(1, 5), ['second']);
    assert.equal(t.stateSize().versions, 1);
  });

  it('accepts versions out of order', () => {
    const t = new VersionedTable();
    t.put('k', 30, ['c']);
    t.put('k', 10, ['a']);
    t.put('k', 20, ['b']);
    assert.deepEqual(t.versionTimes('k'), [10, 20, 30]);
    assert.deepEqual(t.lookup('k', 25), ['b']);
  });
});

describe('VersionedTable: pruning by watermarks', () => {
  it('drops the versions older than the one in force at the horizon', () => {
    const t = new VersionedTable();
    for (const time of [10, 20, 30, 40]) t.put('k', time, [time]);
    t.advance(25, 0);
    assert.deepEqual(t.versionTimes('k'), [20, 30, 40]);
    assert.deepEqual(t.lookup('k', 25), [20]);
    t.advance(40, 0);
    assert.deepEqual(t.versionTimes('k'), [40]);
    assert.equal(t.stateSize().versions, 1);
  });

  it('refuses lookups below the horizon, and versions below settled', () => {
    const t = new VersionedTable();
    t.put('k', 10, ['a']);
    t.advance(50, 60);
    assert.throws(() => t.lookup('k', 49), /below the horizon 50/);
    assert.equal(t.put('k', 59, ['late']), false);
    assert.equal(t.put('k', 60, ['on time']), true);
    assert.deepEqual(t.lookup('k', 60), ['on time']);
  });

  it('a version arriving below the horizon is pruned at once if a newer one is in force', () => {
    const t = new VersionedTable();
    t.put('k', 40, ['b']);
    t.advance(100, 0);
    t.put('k', 30, ['a']);
    assert.deepEqual(t.versionTimes('k'), [40]);
  });

  it('keeps a tombstone in force at the horizon until settled passes it, then forgets the key', () => {
    const t = new VersionedTable();
    t.put('k', 10, ['a']);
    t.put('k', 20, null);
    t.advance(100, 0);
    // An older version could still arrive (settled is 0): without the tombstone it would wrongly show through.
    assert.deepEqual(t.versionTimes('k'), [20]);
    t.put('k', 15, ['b']);
    assert.equal(t.lookup('k', 100), null);
    t.advance(100, 21);
    assert.deepEqual(t.stateSize(), { keys: 0, versions: 0, scheduled: 0 });
    assert.equal(t.lookup('k', 100), null);
  });

  it('prunes keys that are not touched again once the horizon moves', () => {
    const t = new VersionedTable();
    for (let k = 0; k < 100; k++) for (let time = 0; time < 10; time++) t.put(k, time, [time]);
    assert.equal(t.stateSize().versions, 1000);
    t.advance(9, 0);
    assert.equal(t.stateSize().versions, 100);
    assert.equal(t.stateSize().scheduled, 0);
  });

  it('answers as a full scan would, for lookups at or above the horizon (property)', () => {
    const op = fc.record({
      key: fc.constantFrom('a', 'b'),
      time: fc.integer({ min: 0, max: 50 }),
      tombstone: fc.boolean(),
      horizon: fc.integer({ min: 0, max: 5 }),
      settled: fc.integer({ min: 0, max: 5 }),
    });
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const t = new VersionedTable();
        const all = new Map<string, { time: number; row: string | null }>();
        let horizon = 0;
        let settled = 0;
        for (const [i, o] of ops.entries()) {
          const row = o.tombstone ? null : `${o.key}${i}`;
          const accepted = t.put(o.key, o.time, row === null ? null : [row]);
          assert.equal(accepted, o.time >= settled);
          if (accepted) all.set(`${o.key}|${o.time}`, { time: o.time, row });
          horizon += o.horizon;
          settled += o.settled;
          t.advance(horizon, settled);
          for (const key of ['a', 'b']) {
            for (let at = horizon; at <= horizon + 60; at += 7) {
              let best: { time: number; row: string | null } | undefined;
              for (const [id, v] of all) {
                if (id.startsWith(`${key}|`) && v.time <= at && (best === undefined || v.time > best.time)) best = v;
              }
              const got = t.lookup(key, at);
              assert.deepEqual(got, best === undefined || best.row === null ? null : [best.row], `${key} as of ${at}`);
            }
          }
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('TimeHeap and WaitingRows', () => {
  it('pops by time, first pushed first among equal times', () => {
    const h = new TimeHeap();
    const input = [5, 1, 5, 3, 1, 9, 5];
    for (const [i, t] of input.entries()) h.push(t, i);
    const out: number[] = [];
    while (h.size > 0) {
      out.push(h.topA);
      h.pop();
    }
    assert.deepEqual(out, [1, 4, 3, 0, 2, 6, 5]);
    assert.equal(h.minTime, Number.POSITIVE_INFINITY);
  });

  it('releases waiting rows below a time, in time order, and lets go of their columns', () => {
    const w = new WaitingRows();
    const a = [
      ['x', 'y', 'z'],
      [30, 10, 20],
    ];
    w.add(a, a[1], Int32Array.of(0, 1, 2), 3);
    const b = [['p'], [15]];
    w.add(b, b[1], Int32Array.of(0), 1);
    const sets: RowColumns[] = [];
    const rows: number[] = [];
    assert.equal(w.release(21, sets, rows), 3);
    assert.deepEqual(
      rows.map((r, k) => sets[k][0][r]),
      ['y', 'p', 'z'],
    );
    assert.equal(w.retainedSets, 1);
    assert.equal(w.minTime, 30);
    assert.equal(w.release(31, [], []), 1);
    assert.equal(w.retainedSets, 0);
  });
});
