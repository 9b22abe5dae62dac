// Property tests of the windowed aggregation stage against a naive reference and the watermark invariants (M3, H6).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../../time/timestamps.ts';
import {
  afterAll,
  afterCount,
  afterEach,
  afterFirst,
  afterProcessingTime,
  afterWatermark,
  defaultTrigger,
  hasWatermarkPart,
  never,
  orFinally,
  repeatedly,
  type Trigger,
} from '../../time/triggers.ts';
import { type Accumulation, resolveWindowing, type TimestampCombiner } from '../../time/windowing.ts';
import {
  assignWindows,
  fixed,
  global,
  maxTs,
  sessions,
  sliding,
  type Window,
  type WindowFn,
  windowEnd,
  windowStart,
} from '../../time/windows.ts';
import { sum } from './combine.ts';
import { WindowedAggregation } from './stage.ts';
import type { Element, StageOutput } from './types.ts';

const KEYS = ['a', 'b', 'c'] as const;

const windowFnArb: fc.Arbitrary<WindowFn> = fc.oneof(
  fc.record({ size: fc.integer({ min: 1, max: 50 }), offset: fc.nat() }).map((r) => fixed(r.size, r.offset % r.size)),
  fc
    .record({ size: fc.integer({ min: 1, max: 50 }), period: fc.integer({ min: 1, max: 60 }), offset: fc.nat() })
    .map((r) => sliding(r.size, r.period, r.offset % r.period)),
  fc.integer({ min: 1, max: 30 }).map((gap) => sessions(gap)),
  fc.constant(global()),
);

const elementArb = fc.record({
  key: fc.constantFrom(...KEYS),
  value: fc.integer({ min: 1, max: 100 }),
  time: fc.integer({ min: -50, max: 200 }),
});

/** `w` as a map key. */
const id = (key: string, w: Window) => `${key}|${windowStart(w)}|${windowEnd(w)}`;

/** The naive reference: each key's total per window, computed from all elements at once. */
function reference(fn: WindowFn, elements: readonly Element<number>[]): Map<string, number> {
  const totals = new Map<string, number>();
  const add = (k: string, w: Window, v: number) => totals.set(id(k, w), (totals.get(id(k, w)) ?? 0) + v);
  if (fn.kind !== 'session') {
    for (const e of elements) for (const w of assignWindows(fn, e.time)) add(String(e.key), w, e.value);
    return totals;
  }
  for (const key of KEYS) {
    const mine = elements.filter((e) => e.key === key).sort((a, b) => a.time - b.time);
    let start = 0;
    let end = Number.NEGATIVE_INFINITY;
    let total = 0;
    for (const e of mine) {
      if (e.time >= end) {
        if (total > 0) add(key, { kind: 'interval', start, end }, total);
        start = e.time;
        total = 0;
      }
      end = Math.max(end, e.time + fn.gap);
      total += e.value;
    }
    if (total > 0) add(key, { kind: 'interval', start, end }, total);
  }
  return totals;
}

/**
 * What the emitted panes say each window's result is: in discarding mode the sum of its panes, in accumulating mode
 * its last pane, in retracting mode the sum of values minus retractions (merge retractions included).
 */
function observed(outputs: readonly StageOutput<number>[], mode: Accumulation): Map<string, number> {
  const totals = new Map<string, number>();
  for (const o of outputs) {
    const k = id(String(o.key), o.window);
    const before = totals.get(k) ?? 0;
    if (o.kind === 'retraction') totals.set(k, before - o.retraction);
    else if (mode === 'accumulating') totals.set(k, o.value);
    else totals.set(k, before + o.value - (o.retraction ?? 0));
  }
  for (const [k, v] of totals) if (v === 0) totals.delete(k);
  return totals;
}

/** P1–P3 for the panes of each window: indices 0, 1, …; timings EARLY* ON_TIME? LATE*; nothing after isLast. */
function checkPaneHistories(outputs: readonly StageOutput<number>[]): void {
  const history = new Map<string, { index: number; onTime: number; phase: number; last: boolean }>();
  const phase = { EARLY: 0, ON_TIME: 1, LATE: 2 } as const;
  for (const p of outputs) {
    if (p.kind !== 'pane') continue;
    const k = id(String(p.key), p.window);
    const h = history.get(k) ?? { index: -1, onTime: -1, phase: 0, last: false };
    assert.equal(h.last, false, `a pane after the last one of ${k}`);
    assert.equal(p.index, h.index + 1, `index of ${k}`);
    assert.equal(p.isFirst, p.index === 0);
    assert.ok(phase[p.timing] >= h.phase, `timings of ${k} out of order`);
    if (p.timing === 'ON_TIME') assert.ok(h.phase < 1, `two ON_TIME panes in ${k}`);
    assert.equal(p.onTimeIndex, p.timing === 'EARLY' ? -1 : h.onTime + 1);
    history.set(k, {
      index: p.index,
      onTime: p.timing === 'EARLY' ? h.onTime : p.onTimeIndex,
      phase: phase[p.timing],
      last: p.isLast,
    });
  }
}

describe('WindowedAggregation properties', () => {
  it('(a) with the default trigger and no expired input, every window ends with the naive result', () => {
    const scenario = fc
      .record({
        fn: windowFnArb,
        lateness: fc.integer({ min: 0, max: 40 }),
        mode: fc.constantFrom<Accumulation>('discarding', 'accumulating', 'retracting'),
        elements: fc.array(elementArb, { maxLength: 40 }),
        cuts: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 40, maxLength: 40 }),
        steps: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 40, maxLength: 40 }),
      })
      // Merged sessions only add up per window when merged-away windows are retracted.
      .map((s) => (s.fn.kind === 'session' ? { ...s, mode: 'retracting' as const } : s));
    fc.assert(
      fc.property(scenario, ({ fn, lateness, mode, elements, cuts, steps }) => {
        const out: StageOutput<number>[] = [];
        const stage = new WindowedAggregation({
          windowing: resolveWindowing({ window: fn, allowedLateness: lateness, accumulation: mode }),
          combine: sum,
          emit: (o) => out.push(o),
        });
        let wm = MIN_TIMESTAMP;
        for (let i = 0, b = 0; i < elements.length; b++) {
          const bundle = elements.slice(i, i + cuts[b]);
          stage.onBundle(bundle);
          i += bundle.length;
          // A watermark step that leaves every element still to come inside the allowed lateness (not expired, L3).
          const pending = elements.slice(i).map((e) => e.time);
          if (pending.length > 0) {
            const bound = Math.min(...pending) + lateness;
            if (bound > wm)
              wm = wm === MIN_TIMESTAMP ? bound - Math.floor(steps[b] * 100) : wm + Math.floor(steps[b] * (bound - wm));
            stage.onWatermark(wm);
          }
        }
        stage.onWatermark(MAX_TIMESTAMP);
        assert.deepEqual(observed(out, mode), reference(fn, elements));
        assert.equal(stage.counters.droppedDueToLateness, 0);
        assert.equal(stage.counters.droppedDueToClosedWindow, 0);
        const inNoWindow = elements.filter((e) => assignWindows(fn, e.time).length === 0).length;
        assert.equal(stage.counters.droppedNoWindow, inNoWindow);
        assert.deepEqual(stage.inspect(), [], 'all state is collected at +∞');
        checkPaneHistories(out);
      }),
      { numRuns: 300 },
    );
  });

  it('(b) the output watermark never exceeds the input watermark, never decreases, and is H6', () => {
    const triggerArb: fc.Arbitrary<Trigger> = fc.letrec<{ t: Trigger }>((tie) => ({
      t: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constant(defaultTrigger()),
        fc.constant(never()),
        fc.integer({ min: 1, max: 3 }).map(afterCount),
        fc.integer({ min: 0, max: 20 }).map((d) => afterProcessingTime(d)),
        fc
          .record({ early: fc.option(tie('t'), { nil: undefined }), late: fc.option(tie('t'), { nil: undefined }) })
          .map((r) => afterWatermark(r)),
        tie('t').map(repeatedly),
        fc.tuple(tie('t'), tie('t')).map(([a, b]) => afterEach(a, b)),
        fc.tuple(tie('t'), tie('t')).map(([a, b]) => afterFirst(a, b)),
        fc.tuple(tie('t'), tie('t')).map(([a, b]) => afterAll(a, b)),
        fc.tuple(tie('t'), tie('t')).map(([a, b]) => orFinally(a, b)),
      ),
    })).t;
    const stepArb = fc.oneof(
      fc.array(elementArb, { minLength: 1, maxLength: 5 }).map((elements) => ({ kind: 'bundle' as const, elements })),
      fc.integer({ min: -5, max: 60 }).map((delta) => ({ kind: 'watermark' as const, delta })),
      fc.constant({ kind: 'watermark' as const, delta: Number.POSITIVE_INFINITY }),
      fc.integer({ min: -5, max: 30 }).map((delta) => ({ kind: 'processingTime' as const, delta })),
    );
    const scenario = fc.record({
      fn: windowFnArb,
      trigger: triggerArb,
      lateness: fc.integer({ min: 0, max: 60 }),
      mode: fc.constantFrom<Accumulation>('discarding', 'accumulating', 'retracting'),
      combiner: fc.constantFrom<TimestampCombiner>('end', 'earliest', 'latest'),
      steps: fc.array(stepArb, { maxLength: 40 }),
    });
    fc.assert(
      fc.property(scenario, ({ fn, trigger, lateness, mode, combiner, steps }) => {
        const out: StageOutput<number>[] = [];
        const stage = new WindowedAggregation({
          windowing: resolveWindowing({
            window: fn,
            trigger,
            allowedLateness: lateness,
            accumulation: mode,
            timestampCombiner: combiner,
          }),
          combine: sum,
          emit: (o) => out.push(o),
        });
        let prev = stage.outputWatermark();
        for (const step of steps) {
          if (step.kind === 'bundle') stage.onBundle(step.elements);
          else if (step.kind === 'processingTime') stage.onProcessingTime(stage.processingTime + step.delta);
          else {
            const from = stage.inputWatermark === MIN_TIMESTAMP ? -20 : stage.inputWatermark;
            stage.onWatermark(Number.isFinite(step.delta) ? Math.min(from + step.delta, MAX_TIMESTAMP) : MAX_TIMESTAMP);
          }
          const owm = stage.outputWatermark();
          assert.ok(owm <= stage.inputWatermark, 'output watermark above the input watermark');
          assert.ok(owm >= prev, 'output watermark went down');
          assert.equal(owm, bruteForceOutputWatermark(stage, hasWatermarkPart(trigger)));
          prev = owm;
        }
        checkPaneHistories(out);
      }),
      { numRuns: 300 },
    );
  });
});

/** H6 computed the slow way, from every stored window. */
function bruteForceOutputWatermark(stage: WindowedAggregation<number, number, number>, watermarkPart: boolean): number {
  let m = stage.inputWatermark;
  for (const v of stage.inspect()) {
    if (v.hold !== null) m = Math.min(m, v.hold);
    if (watermarkPart && v.eowPending && !v.closed) m = Math.min(m, maxTs(v.window));
  }
  return m;
}
