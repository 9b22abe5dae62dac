import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { WindowingError } from './invalid.ts';
import { floorMod, GLOBAL_MAX, MAX_TIMESTAMP, MIN_TIMESTAMP } from './timestamps.ts';
import {
  assignStarts,
  assignWindows,
  defaultPeriod,
  fixed,
  GLOBAL_WINDOW,
  global,
  type IntervalWindow,
  intersects,
  interval,
  maxTs,
  mergeSweep,
  sessions,
  sliding,
  span,
  type Window,
} from './windows.ts';

const w = (start: number, end: number) => interval(start, end);
const show = (ws: readonly Window[]) => ws.map((x) => (x.kind === 'global' ? 'global' : [x.start, x.end]));

/** Asserts that `make` throws a WindowingError naming `field`. */
function rejects(make: () => unknown, field: string): void {
  assert.throws(make, (e: unknown) => e instanceof WindowingError && e.field === field);
}

describe('timestamps (T2)', () => {
  it('keeps Beam’s structure on the safe-integer range', () => {
    assert.equal(MIN_TIMESTAMP, -(2 ** 53 - 1));
    assert.equal(MAX_TIMESTAMP, 2 ** 53 - 1);
    assert.equal(GLOBAL_MAX, 9_007_199_168_340_991);
  });

  it('floorMod is in [0, m) for negative numbers too, and never −0 (W4)', () => {
    assert.equal(floorMod(-1, 10), 9);
    assert.equal(floorMod(-11, 10), 9);
    assert.ok(Object.is(floorMod(-10, 10), 0));
    assert.equal(floorMod(23, 10), 3);
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 1, max: 1e7 }), (a, m) => {
        const r = floorMod(a, m);
        return r >= 0 && r < m && Number.isInteger((a - r) / m) && !Object.is(r, -0);
      }),
    );
  });
});

describe('windows (W1–W3)', () => {
  it('maxTs is end − 1, GLOBAL_MAX for the global window (T5)', () => {
    assert.equal(maxTs(w(0, 10)), 9);
    assert.equal(maxTs(GLOBAL_WINDOW), GLOBAL_MAX);
  });

  it('windows that only touch do not intersect (W2)', () => {
    assert.equal(intersects(w(0, 10), w(10, 20)), false);
    assert.equal(intersects(w(0, 11), w(10, 20)), true);
    assert.equal(intersects(w(5, 6), w(0, 20)), true);
    assert.deepEqual(span(w(0, 10), w(15, 20)), w(0, 20));
  });

  it('rejects empty windows (W1)', () => {
    assert.throws(() => interval(5, 5), RangeError);
  });

  it('global() assigns every element to the global window (W3)', () => {
    assert.deepEqual(assignWindows(global(), -123), [GLOBAL_WINDOW]);
  });
});

describe('fixed windows (W4)', () => {
  it('assigns negative timestamps with floorMod, not a truncating remainder', () => {
    assert.deepEqual(show(assignWindows(fixed(10_000), -1)), [[-10_000, 0]]);
    assert.deepEqual(show(assignWindows(fixed(10_000), -11_000)), [[-20_000, -10_000]]);
    assert.deepEqual(show(assignWindows(fixed(10_000), -10_000)), [[-10_000, 0]]);
  });

  it('t = end − 1 is the last instant of a window, t = end the first of the next', () => {
    assert.deepEqual(show(assignWindows(fixed(10), 9)), [[0, 10]]);
    assert.deepEqual(show(assignWindows(fixed(10), 10)), [[10, 20]]);
  });

  it('shifts windows by the offset', () => {
    const fn = fixed(10_000, 3_000);
    assert.deepEqual(show(assignWindows(fn, 2_999)), [[-7_000, 3_000]]);
    assert.deepEqual(show(assignWindows(fn, 3_000)), [[3_000, 13_000]]);
    assert.deepEqual(show(assignWindows(fn, 12_999)), [[3_000, 13_000]]);
  });

  it('accepts duration text', () => {
    assert.deepEqual(fixed('2m', '10s'), { kind: 'fixed', size: 120_000, offset: 10_000 });
  });

  it('names the field of an invalid declaration', () => {
    rejects(() => fixed(0), 'size');
    rejects(() => fixed(-5), 'size');
    rejects(() => fixed(1.5), 'size');
    rejects(() => fixed('soon'), 'size');
    rejects(() => fixed(10, 10), 'offset');
    rejects(() => fixed(10, -1), 'offset');
    assert.match(String(captured(() => fixed(10, 10))), /offset: must satisfy 0 ≤ offset < size = 10 \(W4\); got 10/);
  });

  it('every timestamp lies in its window (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.integer({ min: 1, max: 1e6 }), fc.nat(), (t, size, off) => {
        const [win] = assignWindows(fixed(size, off % size), t) as IntervalWindow[];
        return win.start <= t && t < win.end && win.end - win.start === size;
      }),
    );
  });
});

describe('sliding windows (W5)', () => {
  it('assigns every window that contains t, latest first', () => {
    const fn = sliding(10_000, 5_000);
    assert.deepEqual(show(assignWindows(fn, 12_000)), [
      [10_000, 20_000],
      [5_000, 15_000],
    ]);
    assert.deepEqual(show(assignWindows(fn, 0)), [
      [0, 10_000],
      [-5_000, 5_000],
    ]);
    assert.deepEqual(show(assignWindows(fn, -1)), [
      [-5_000, 5_000],
      [-10_000, 0],
    ]);
  });

  it('with period > size some timestamps fall in no window', () => {
    const fn = sliding(10, 30);
    assert.deepEqual(show(assignWindows(fn, 9)), [[0, 10]]);
    assert.deepEqual(show(assignWindows(fn, 10)), []);
    assert.deepEqual(show(assignWindows(fn, 29)), []);
    assert.deepEqual(show(assignWindows(fn, -21)), [[-30, -20]]);
    assert.deepEqual(show(assignWindows(fn, -20)), []);
    assert.deepEqual(show(assignWindows(fn, -31)), []);
  });

  it('shifts windows by the offset', () => {
    assert.deepEqual(show(assignWindows(sliding(10, 5, 2), 1)), [
      [-3, 7],
      [-8, 2],
    ]);
  });

  it('defaults the period as Beam does', () => {
    assert.equal(defaultPeriod(2 * 3_600_000), 3_600_000);
    assert.equal(defaultPeriod(3_600_000), 60_000);
    assert.equal(defaultPeriod(60_001), 60_000);
    assert.equal(defaultPeriod(60_000), 1_000);
    assert.equal(defaultPeriod(1_001), 1_000);
    assert.equal(defaultPeriod(1_000), 1);
    assert.equal(sliding('2h').period, 3_600_000);
    assert.equal(sliding('10s').period, 1_000);
  });

  it('names the field of an invalid declaration', () => {
    rejects(() => sliding(0, 1), 'size');
    rejects(() => sliding(10, 0), 'period');
    rejects(() => sliding(10, 5, 5), 'offset');
  });

  it('assigns exactly the windows that contain t (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1e9, max: 1e9 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 200 }),
        fc.nat(),
        (t, size, period, off) => {
          const fn = sliding(size, period, off % period);
          const starts: number[] = [];
          const n = assignStarts(fn, t, starts);
          const got = starts.slice(0, n).sort((a, b) => a - b);
          const want: number[] = [];
          for (let s = t - size + 1; s <= t; s++) if (floorMod(s - fn.offset, period) === 0) want.push(s);
          assert.deepEqual(got, want);
        },
      ),
    );
  });
});

describe('session windows (W6, W7)', () => {
  it('each element gets the proto-window [t, t + gap)', () => {
    assert.deepEqual(show(assignWindows(sessions('10s'), -5)), [[-5, 9_995]]);
    rejects(() => sessions(0), 'gap');
  });

  it('the merge sweep keeps touching windows apart and chains overlapping ones', () => {
    assert.deepEqual(mergeSweep([w(10, 20), w(0, 10)]), [[w(0, 10)], [w(10, 20)]]);
    assert.deepEqual(mergeSweep([w(25, 35), w(0, 10), w(19, 29), w(10, 20)]), [
      [w(0, 10)],
      [w(10, 20), w(19, 29), w(25, 35)],
    ]);
    // A window inside the running union joins even if it misses the group's last window.
    assert.deepEqual(mergeSweep([w(0, 100), w(10, 20), w(50, 60)]), [[w(0, 100), w(10, 20), w(50, 60)]]);
    assert.deepEqual(mergeSweep([w(0, 10), w(0, 10)]), [[w(0, 10)]]);
  });
});

function captured(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}
