import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Value } from '../../expr/types.ts';
import { GLOBAL_MAX, MAX_TIMESTAMP } from '../../time/timestamps.ts';
import { afterCount, afterProcessingTime, afterWatermark, never, repeatedly } from '../../time/triggers.ts';
import { resolveWindowing, type WindowingOptions } from '../../time/windowing.ts';
import { fixed, global, interval, sessions, sliding } from '../../time/windows.ts';
import { type CombineFn, list, sum } from './combine.ts';
import { WindowedAggregation } from './stage.ts';
import { type TranscriptPane, toTranscriptPane } from './transcript.ts';
import type { Element, StageOutput } from './types.ts';

/** A stage under test; `take()` returns what it emitted since the last call, in transcript form. */
function harness<A, O extends Value>(options: WindowingOptions, combine: CombineFn<number, A, O>) {
  const out: StageOutput<O>[] = [];
  const stage = new WindowedAggregation({ windowing: resolveWindowing(options), combine, emit: (o) => out.push(o) });
  const take = (): TranscriptPane[] => out.splice(0).map(toTranscriptPane);
  /** Only the fields named, for short expectations. */
  const brief = (...fields: (keyof TranscriptPane)[]) =>
    take().map((p) => Object.fromEntries(fields.map((f) => [f, p[f]])));
  return { stage, take, brief };
}

const el = (time: number, value = time, key: Value = 'k'): Element<number> => ({ key, value, time });

describe('WindowedAggregation', () => {
  describe('bundles (G2.1)', () => {
    it('evaluates the trigger once per bundle, after all of its elements', () => {
      const h = harness({ window: fixed(10), trigger: repeatedly(afterCount(2)) }, list);
      h.stage.onBundle([el(1), el(2), el(3)]);
      assert.deepEqual(h.brief('value'), [{ value: [1, 2, 3] }]);
    });

    it('rejects a bundle with an invalid timestamp before adding any of it (T4)', () => {
      const h = harness({ window: fixed(10) }, sum);
      assert.throws(() => h.stage.onBundle([el(1), el(GLOBAL_MAX + 1)]), /elements\[1\]\.time/);
      assert.throws(() => h.stage.onBundle([el(1.5)]), /elements\[0\]\.time/);
      assert.deepEqual(h.stage.inspect(), []);
    });

    it('emits the panes of one step in order of key (as text), then window start and end', () => {
      const h = harness({ window: sliding(10, 5) }, sum);
      h.stage.onBundle([el(7, 1, 'b'), el(7, 1, 9), el(7, 1, 'a'), el(7, 1, 10)]);
      h.stage.onWatermark(MAX_TIMESTAMP);
      assert.deepEqual(
        h.take().map((p) => [p.key, p.window]),
        [
          [10, [0, 10]],
          [10, [5, 15]],
          [9, [0, 10]],
          [9, [5, 15]],
          ['a', [0, 10]],
          ['a', [5, 15]],
          ['b', [0, 10]],
          ['b', [5, 15]],
        ],
      );
    });
  });

  describe('time (T6)', () => {
    it('ignores a watermark that would go down and clamps processing time that steps back', () => {
      const h = harness({ window: fixed(10) }, sum);
      h.stage.onWatermark(50);
      h.stage.onWatermark(20);
      assert.equal(h.stage.inputWatermark, 50);
      h.stage.onProcessingTime(100);
      h.stage.onProcessingTime(40);
      assert.equal(h.stage.processingTime, 100);
    });
  });

  describe('windows', () => {
    it('sliding windows with period > size count elements in no window (W5)', () => {
      const h = harness({ window: sliding(10, 30) }, sum);
      h.stage.onBundle([el(5), el(15), el(29), el(30)]);
      assert.equal(h.stage.counters.droppedNoWindow, 2);
      assert.equal(h.stage.inspect().length, 2);
    });

    it('touching sessions do not merge (W6)', () => {
      const h = harness({ window: sessions(10) }, sum);
      h.stage.onBundle([el(0), el(10)]);
      assert.deepEqual(
        h.stage.inspect().map((v) => v.window),
        [interval(0, 10), interval(10, 20)],
      );
      h.stage.onBundle([el(9)]);
      assert.deepEqual(
        h.stage.inspect().map((v) => v.window),
        [interval(0, 20)],
      );
    });

    it('merges within one bundle before adding its elements (W7)', () => {
      const h = harness({ window: sessions(10) }, list);
      h.stage.onBundle([el(0), el(25), el(8), el(16)]);
      h.stage.onWatermark(MAX_TIMESTAMP);
      assert.deepEqual(h.brief('window', 'value'), [{ window: [0, 35], value: [0, 8, 16, 25] }]);
    });

    it('a closed window still merges, into a closed result that drops what lands in it (W10, G16)', () => {
      const h = harness({ window: sessions(10), trigger: afterWatermark(), allowedLateness: 100 }, sum);
      h.stage.onBundle([el(0, 1)]);
      h.stage.onWatermark(10);
      assert.deepEqual(h.brief('window', 'value', 'timing', 'isLast'), [
        { window: [0, 10], value: 1, timing: 'ON_TIME', isLast: true },
      ]);
      h.stage.onBundle([el(5, 2)]);
      assert.equal(h.stage.counters.droppedDueToClosedWindow, 1);
      assert.deepEqual(h.stage.inspect(), [
        { key: 'k', window: interval(0, 15), hold: null, eowPending: false, closed: true, nonEmpty: false },
      ]);
      h.stage.onBundle([el(30, 4)]);
      h.stage.onWatermark(MAX_TIMESTAMP);
      assert.deepEqual(h.brief('window', 'value'), [{ window: [30, 40], value: 4 }]);
      assert.deepEqual(h.stage.inspect(), []);
    });

    it('a merge result that is a new window starts its pane history afresh; an existing one keeps it (W9)', () => {
      const h = harness(
        { window: sessions(10), trigger: repeatedly(afterCount(1)), accumulation: 'accumulating' },
        sum,
      );
      h.stage.onBundle([el(0, 1)]);
      h.stage.onBundle([el(5, 2)]);
      h.stage.onBundle([el(3, 4)]);
      assert.deepEqual(h.brief('window', 'value', 'index', 'isFirst'), [
        { window: [0, 10], value: 1, index: 0, isFirst: true },
        { window: [0, 15], value: 3, index: 0, isFirst: true },
        { window: [0, 15], value: 7, index: 1, isFirst: false },
      ]);
    });
  });

  describe('lateness and garbage collection (§4)', () => {
    it('drops an element for an expired window only, with a strict test (L2, L3)', () => {
      const h = harness({ window: fixed(10), allowedLateness: 5, accumulation: 'accumulating' }, sum);
      h.stage.onBundle([el(1, 1)]);
      h.stage.onWatermark(14);
      h.stage.onBundle([el(5, 5)]);
      assert.equal(h.stage.counters.droppedDueToLateness, 0, 'gcTime 14 < 14 is false: kept');
      h.stage.onWatermark(15);
      h.stage.onBundle([el(5, 5)]);
      assert.equal(h.stage.counters.droppedDueToLateness, 1);
      assert.deepEqual(h.brief('value', 'timing'), [
        { value: 1, timing: 'ON_TIME' },
        { value: 6, timing: 'LATE' },
      ]);
    });

    it('drops a sliding element for its expired windows and keeps it for the others (L3)', () => {
      const h = harness({ window: sliding(10, 5) }, sum);
      h.stage.onWatermark(10);
      h.stage.onBundle([el(7, 1)]);
      assert.equal(h.stage.counters.droppedDueToLateness, 1);
      assert.deepEqual(
        h.stage.inspect().map((v) => v.window),
        [interval(5, 15)],
      );
    });

    it('one watermark step past both maxTs and gcTime yields one ON_TIME, final pane (L5)', () => {
      const h = harness({ window: fixed(10), allowedLateness: 50 }, sum);
      h.stage.onBundle([el(3, 7)]);
      h.stage.onWatermark(1_000);
      assert.deepEqual(h.brief('value', 'timing', 'isLast', 'index'), [
        { value: 7, timing: 'ON_TIME', isLast: true, index: 0 },
      ]);
    });

    it('the end-of-window firing waits for inputWM > maxTs (M4)', () => {
      const h = harness({ window: fixed(10) }, sum);
      h.stage.onBundle([el(3, 7)]);
      h.stage.onWatermark(9);
      assert.deepEqual(h.take(), []);
      h.stage.onWatermark(10);
      assert.equal(h.take().length, 1);
    });

    it('the global window collects only at +∞, whatever the lateness (L6)', () => {
      const h = harness({ window: global(), allowedLateness: 1_000 }, sum);
      h.stage.onBundle([el(3, 7)]);
      h.stage.onWatermark(GLOBAL_MAX);
      assert.deepEqual(h.take(), []);
      h.stage.onWatermark(MAX_TIMESTAMP);
      assert.deepEqual(h.brief('window', 'timestamp', 'timing', 'isLast'), [
        { window: 'global', timestamp: GLOBAL_MAX, timing: 'ON_TIME', isLast: true },
      ]);
      h.stage.onBundle([el(3, 7)]);
      assert.equal(h.stage.counters.droppedDueToLateness, 1);
    });

    it('a finished trigger closes the window until its GC time (G16)', () => {
      const h = harness({ window: fixed(10), trigger: afterCount(1), allowedLateness: 10 }, sum);
      h.stage.onBundle([el(3, 7)]);
      assert.deepEqual(h.brief('timing', 'isLast'), [{ timing: 'EARLY', isLast: true }]);
      h.stage.onBundle([el(4, 1)]);
      assert.equal(h.stage.counters.droppedDueToClosedWindow, 1);
      h.stage.onWatermark(19);
      assert.equal(h.stage.inspect().length, 1, 'the closed marker stays until gcTime 19 is passed');
      h.stage.onWatermark(20);
      assert.deepEqual(h.stage.inspect(), []);
      assert.deepEqual(h.take(), []);
    });

    it('never() yields only the final pane at GC time (G15)', () => {
      const h = harness({ window: fixed(10), trigger: never() }, sum);
      h.stage.onBundle([el(3, 7)]);
      h.stage.onWatermark(MAX_TIMESTAMP);
      assert.deepEqual(h.brief('value', 'timing', 'isLast'), [{ value: 7, timing: 'ON_TIME', isLast: true }]);
    });
  });

  describe('accumulation and emission (§5)', () => {
    /** Window [12:06, 12:08) of the running example under early/on-time/late firings (A3, Table 2-1). */
    function table21(accumulation: 'discarding' | 'accumulating' | 'retracting') {
      const h = harness(
        {
          window: fixed(120_000),
          trigger: afterWatermark({ early: afterProcessingTime(60_000), late: afterCount(1) }),
          allowedLateness: 86_400_000_000,
          accumulation,
        },
        sum,
      );
      h.stage.onWatermark(43_200_000);
      h.stage.onProcessingTime(43_639_000);
      h.stage.onBundle([el(43_599_000, 3)]);
      h.stage.onProcessingTime(43_699_000);
      h.stage.onBundle([el(43_646_000, 8)]);
      h.stage.onBundle([el(43_666_000, 1)]);
      h.stage.onWatermark(43_680_000);
      h.stage.onWatermark(MAX_TIMESTAMP);
      return h.take().map((p) => (p.retraction === undefined ? [p.value] : [p.value, p.retraction]));
    }

    it('reproduces Table 2-1', () => {
      assert.deepEqual(table21('discarding'), [[3], [9]]);
      assert.deepEqual(table21('accumulating'), [[3], [12]]);
      assert.deepEqual(table21('retracting'), [[3], [12, 3]]);
    });

    it('emits an empty ON_TIME pane with the empty value in discarding mode (A5)', () => {
      const h = harness({ window: fixed(10), trigger: afterWatermark({ early: afterCount(1) }) }, list);
      h.stage.onBundle([el(3)]);
      h.stage.onWatermark(10);
      assert.deepEqual(h.brief('value', 'timing'), [
        { value: [3], timing: 'EARLY' },
        { value: [], timing: 'ON_TIME' },
      ]);
    });

    it('does not emit an empty final pane that is not ON_TIME, and leaves no history for it (A5, P3)', () => {
      const h = harness({ window: fixed(10), allowedLateness: 10, accumulation: 'accumulating' }, sum);
      h.stage.onBundle([el(3, 1)]);
      h.stage.onWatermark(10);
      h.stage.onWatermark(MAX_TIMESTAMP);
      assert.deepEqual(h.brief('value', 'timing', 'isLast'), [{ value: 1, timing: 'ON_TIME', isLast: false }]);
    });

    it('retracting: an unchanged ON_TIME pane retracts and re-asserts its value (Q6, provisional)', () => {
      const h = harness(
        { window: fixed(10), trigger: afterWatermark({ early: afterCount(1) }), accumulation: 'retracting' },
        sum,
      );
      h.stage.onBundle([el(3, 5)]);
      h.stage.onWatermark(10);
      assert.deepEqual(h.brief('value', 'retraction', 'timing'), [
        { value: 5, retraction: undefined, timing: 'EARLY' },
        { value: 5, retraction: 5, timing: 'ON_TIME' },
      ]);
    });

    it('retracting: retracts every merged-away window before the next pane of the result (A3, Q7)', () => {
      const h = harness({ window: sessions(10), trigger: repeatedly(afterCount(1)), accumulation: 'retracting' }, sum);
      h.stage.onBundle([el(0, 1)]);
      h.stage.onBundle([el(15, 2)]);
      h.take();
      h.stage.onBundle([el(8, 4)]);
      assert.deepEqual(h.take(), [
        { key: 'k', window: [0, 10], retraction: 1 },
        { key: 'k', window: [15, 25], retraction: 2 },
        {
          key: 'k',
          window: [0, 25],
          value: 7,
          timestamp: 24,
          timing: 'EARLY',
          index: 0,
          onTimeIndex: -1,
          isFirst: true,
          isLast: false,
        },
      ]);
    });

    it('accumulating: merged windows combine their accumulators, and nothing is retracted', () => {
      const h = harness(
        { window: sessions(10), trigger: repeatedly(afterCount(1)), accumulation: 'accumulating' },
        sum,
      );
      h.stage.onBundle([el(0, 1)]);
      h.stage.onBundle([el(15, 2)]);
      h.stage.onBundle([el(8, 4)]);
      assert.deepEqual(h.brief('window', 'value'), [
        { window: [0, 10], value: 1 },
        { window: [15, 25], value: 2 },
        { window: [0, 25], value: 7 },
      ]);
    });
  });

  describe('output timestamps and holds (§6)', () => {
    it('stamps panes per the timestamp combiner (H1, H4)', () => {
      for (const [combiner, ts] of [
        ['end', 9],
        ['earliest', 3],
        ['latest', 5],
      ] as const) {
        const h = harness({ window: fixed(10), timestampCombiner: combiner }, sum);
        h.stage.onBundle([el(5), el(3)]);
        h.stage.onWatermark(MAX_TIMESTAMP);
        assert.deepEqual(h.brief('timestamp'), [{ timestamp: ts }], combiner);
      }
    });

    it('an element that is too late to hold gives the pane maxTs, even under earliest (H2, H4)', () => {
      const h = harness({ window: fixed(10), allowedLateness: 100, timestampCombiner: 'earliest' }, sum);
      h.stage.onBundle([el(3)]);
      h.stage.onWatermark(10);
      h.stage.onBundle([el(4)]);
      assert.deepEqual(h.brief('timestamp', 'timing'), [
        { timestamp: 3, timing: 'ON_TIME' },
        { timestamp: 9, timing: 'LATE' },
      ]);
    });

    it('a hold below the output watermark is not taken (H2)', () => {
      const h = harness({ window: fixed(10), timestampCombiner: 'earliest' }, sum);
      h.stage.onBundle([el(3)]);
      h.stage.onWatermark(5);
      assert.equal(h.stage.outputWatermark(), 3);
      h.stage.onBundle([el(2)]);
      h.stage.onWatermark(MAX_TIMESTAMP);
      assert.deepEqual(h.brief('timestamp'), [{ timestamp: 3 }]);
    });

    it('holds the output watermark at the end of pending windows under watermark triggers only (H3, H6)', () => {
      const byDefault = harness({ window: fixed(10) }, sum);
      byDefault.stage.onBundle([el(3)]);
      byDefault.stage.onWatermark(8);
      assert.equal(byDefault.stage.outputWatermark(), 8);
      byDefault.stage.onWatermark(9);
      assert.equal(byDefault.stage.outputWatermark(), 9);

      const counting = harness(
        { window: fixed(10), trigger: repeatedly(afterCount(2)), timestampCombiner: 'earliest' },
        sum,
      );
      counting.stage.onBundle([el(3)]);
      counting.stage.onWatermark(8);
      assert.equal(counting.stage.outputWatermark(), 3, 'the element hold');
      counting.stage.onBundle([el(4)]);
      assert.equal(counting.stage.outputWatermark(), 8, 'released by the pane, no end-of-window hold');
    });

    it('merges holds per the combiner (H5)', () => {
      const h = harness({ window: sessions(10), timestampCombiner: 'earliest', allowedLateness: 0 }, sum);
      h.stage.onBundle([el(5), el(20)]);
      h.stage.onBundle([el(12)]);
      assert.deepEqual(
        h.stage.inspect().map((v) => [v.window, v.hold]),
        [[interval(5, 30), 5]],
      );
      const end = harness({ window: sessions(10) }, sum);
      end.stage.onBundle([el(5), el(20)]);
      end.stage.onBundle([el(12)]);
      assert.deepEqual(
        end.stage.inspect().map((v) => v.hold),
        [29],
      );
    });
  });

  describe('pane info (§7)', () => {
    it('a first pane behind the output watermark is LATE (P4)', () => {
      const h = harness({ window: fixed(10), allowedLateness: 100 }, sum);
      h.stage.onWatermark(20);
      h.stage.onBundle([el(5)]);
      assert.deepEqual(h.brief('timing', 'index', 'onTimeIndex', 'isFirst'), [
        { timing: 'LATE', index: 0, onTimeIndex: 0, isFirst: true },
      ]);
    });

    it('end-of-window holds keep every window’s final pane ON_TIME when +∞ arrives at once (H3, P2)', () => {
      const h = harness({ window: fixed(10) }, sum);
      h.stage.onBundle([el(3), el(13), el(23)]);
      h.stage.onWatermark(MAX_TIMESTAMP);
      assert.deepEqual(
        h.take().map((p) => p.timing),
        ['ON_TIME', 'ON_TIME', 'ON_TIME'],
      );
    });
  });

  describe('processing time (G2.3, G8)', () => {
    it('fires windows whose target is due, in key order, and re-arms after the next element', () => {
      const h = harness({ window: fixed(1_000), trigger: repeatedly(afterProcessingTime(10)) }, sum);
      h.stage.onProcessingTime(100);
      h.stage.onBundle([el(1, 1, 'b'), el(1, 2, 'a')]);
      h.stage.onProcessingTime(109);
      assert.deepEqual(h.take(), []);
      h.stage.onProcessingTime(110);
      assert.deepEqual(h.brief('key', 'value'), [
        { key: 'a', value: 2 },
        { key: 'b', value: 1 },
      ]);
      h.stage.onProcessingTime(500);
      assert.deepEqual(h.take(), [], 'no target without a new element');
      h.stage.onBundle([el(1, 5, 'a')]);
      h.stage.onProcessingTime(510);
      assert.deepEqual(h.brief('key', 'value', 'index'), [{ key: 'a', value: 5, index: 1 }]);
    });
  });
});
