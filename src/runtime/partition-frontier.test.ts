import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MIN_TIMESTAMP } from '../time/timestamps.ts';
import { PartitionFrontier } from './partition-frontier.ts';

/** One fetch round: the event times read per partition (a partition left out brought nothing). */
type Round = ReadonlyMap<number, readonly number[]>;

function feed(f: PartitionFrontier, round: Round, now: number): boolean {
  for (const [p, times] of round) f.observe(p, times, 0, times.length);
  return f.probe(now);
}

const rounds = (partitions: number) =>
  fc.array(
    fc
      .array(fc.tuple(fc.integer({ min: 0, max: partitions - 1 }), fc.array(fc.integer({ min: 0, max: 1000 }))), {
        maxLength: partitions,
      })
      .map((entries) => new Map(entries) as Round),
    { maxLength: 40 },
  );

describe('PartitionFrontier (M2 over partitions, M7 per partition)', () => {
  test('without idleness: the oldest newest-time of the partitions, −∞ until each has a record', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), rounds(4), (n, rs) => {
        const f = new PartitionFrontier(undefined);
        for (let p = 0; p < n; p++) f.add(p);
        const newest = new Array<number>(n).fill(MIN_TIMESTAMP);
        let previous = f.frontier;
        rs.forEach((r, i) => {
          const kept = new Map([...r].filter(([p]) => p < n));
          for (const [p, times] of kept) for (const t of times) newest[p] = Math.max(newest[p], t);
          feed(f, kept, i * 1000);
          assert.equal(f.frontier, Math.min(...newest));
          assert.ok(f.frontier >= previous, 'M1: never decreases');
          previous = f.frontier;
        });
      }),
    );
  });

  test('a lagging partition holds the frontier back; its records are not behind it', () => {
    const f = new PartitionFrontier(undefined);
    feed(
      f,
      new Map([
        [0, [100, 200]],
        [1, [10]],
      ]),
      0,
    );
    assert.equal(f.frontier, 10);
    feed(f, new Map([[1, [50, 60]]]), 1);
    assert.equal(f.frontier, 60);
    feed(f, new Map([[1, [300]]]), 2);
    assert.equal(f.frontier, 200);
  });

  test('M7: a silent partition stops holding it after the timeout, measured at probes; it rejoins once caught up', () => {
    const f = new PartitionFrontier(1000);
    f.add(2); // never gets a record
    assert.equal(feed(f, new Map([[0, [100]]]), 0), false);
    assert.equal(f.frontier, MIN_TIMESTAMP);
    feed(f, new Map([[0, [150]]]), 500); // partition 2's countdown started at the first probe: 0
    assert.equal(f.frontier, MIN_TIMESTAMP);
    feed(f, new Map([[0, [160]]]), 1000); // exactly the timeout: not yet (strictly more, M7.2)
    assert.equal(f.frontier, MIN_TIMESTAMP);
    assert.equal(feed(f, new Map([[0, [170]]]), 1001), true);
    assert.equal(f.frontier, 170);
    // Partition 2 wakes with old records: they are late, and it is left out until it catches up (M7.4).
    feed(
      f,
      new Map([
        [0, [300]],
        [2, [50]],
      ]),
      1100,
    );
    assert.equal(f.frontier, 300, 'partition 2 is behind: left out, the others move the frontier');
    feed(f, new Map([[2, [450]]]), 1200);
    assert.equal(f.frontier, 300, 'caught up: counted again, partition 0 now holds it');
    feed(f, new Map([[0, [500]]]), 1300);
    assert.equal(f.frontier, 450, 'partition 2 holds it');
  });

  test('M7.5: every partition idle: the newest time any reached', () => {
    const f = new PartitionFrontier(100);
    feed(
      f,
      new Map([
        [0, [10]],
        [1, [90]],
      ]),
      0,
    );
    assert.equal(f.frontier, 10);
    feed(f, new Map(), 1);
    feed(f, new Map(), 200);
    assert.equal(f.frontier, 90);
  });

  test('a restart from the saved state goes on where the frontier was, and ends where one run would', () => {
    fc.assert(
      fc.property(rounds(3), rounds(3), (first, second) => {
        const whole = new PartitionFrontier(undefined);
        const before = new PartitionFrontier(undefined);
        for (const f of [whole, before]) for (let p = 0; p < 3; p++) f.add(p);
        first.forEach((r, i) => {
          feed(whole, r, i);
          feed(before, r, i);
        });
        const after = new PartitionFrontier(undefined, before.state);
        for (let p = 0; p < 3; p++) after.add(p);
        assert.ok(after.frontier >= before.frontier);
        second.forEach((r, i) => {
          feed(whole, r, 100 + i);
          feed(after, r, 100 + i);
          assert.equal(after.frontier, whole.frontier);
        });
      }),
    );
  });

  test('records the contract refused count as records for idleness, without an event time', () => {
    const f = new PartitionFrontier(10);
    feed(
      f,
      new Map([
        [0, [5]],
        [1, [7]],
      ]),
      0,
    );
    f.observe(1, [], 0, 0);
    f.observe(0, [20], 0, 1);
    f.probe(5);
    f.observe(1, [], 0, 0);
    f.observe(0, [30], 0, 1);
    f.probe(30);
    assert.equal(f.frontier, 7, 'partition 1 sent refused records: not idle, still holds it');
  });
});
