import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterAll,
  afterCount,
  afterEach,
  afterFirst,
  afterProcessingTime,
  afterWatermark,
  defaultTrigger,
  never,
  orFinally,
  repeatedly,
  type Trigger,
} from '../../time/triggers.ts';
import { compileTrigger, type TriggerContext, type TriggerMachine, type TriggerState } from './triggers.ts';

const MAX_TS = 99;

/** A trigger under test: its machine, one window's state and a context (window maxTs 99, no merging). */
class Harness {
  readonly m: TriggerMachine;
  s: TriggerState;
  readonly ctx: TriggerContext;

  constructor(t: Trigger, ctx: Partial<TriggerContext> = {}) {
    this.m = compileTrigger(t);
    this.s = this.m.init();
    this.ctx = { maxTs: MAX_TS, inputWM: 0, now: 0, merging: false, ...ctx };
  }

  elements(n = 1): this {
    for (let i = 0; i < n; i++) this.m.onElement(this.s, this.ctx);
    return this;
  }

  ready(): boolean {
    return this.m.shouldFire(this.s, this.ctx);
  }

  /** Fires and returns whether the trigger finished. */
  fire(): boolean {
    assert.ok(this.ready(), 'fire() on a trigger that is not ready');
    return this.m.onFire(this.s, this.ctx);
  }

  /** Replaces the state by the merge of this state and the others' (W8). */
  mergeWith(...others: Harness[]): this {
    this.s = this.m.onMerge([this.s, ...others.map((o) => o.s)], this.ctx);
    return this;
  }
}

describe('trigger state machines', () => {
  it('G5 default: ready once the watermark passes maxTs, never finished', () => {
    const h = new Harness(defaultTrigger());
    h.elements();
    h.ctx.inputWM = MAX_TS;
    assert.equal(h.ready(), false);
    h.ctx.inputWM = MAX_TS + 1;
    assert.equal(h.fire(), false);
    assert.equal(h.ready(), true, 'ready again for late data');
  });

  it('G6 afterWatermark(): a once trigger', () => {
    const h = new Harness(afterWatermark());
    h.elements();
    assert.equal(h.ready(), false);
    h.ctx.inputWM = MAX_TS + 1;
    assert.equal(h.fire(), true);
    assert.equal(h.ready(), false);
  });

  describe('G7 afterWatermark with early and late firings', () => {
    it('early firings repeat implicitly; the end-of-window firing moves to the late phase', () => {
      const h = new Harness(afterWatermark({ early: afterCount(2), late: afterCount(1) }));
      h.elements();
      assert.equal(h.ready(), false);
      h.elements();
      assert.equal(h.fire(), false);
      assert.equal(h.ready(), false, 'E was reset');
      h.elements(2);
      assert.equal(h.fire(), false, 'E fires again without repeatedly');
      h.elements();
      h.ctx.inputWM = MAX_TS + 1;
      assert.equal(h.fire(), false, 'on time, whatever E says');
      assert.equal(h.ready(), false, 'L starts fresh');
      h.elements();
      assert.equal(h.fire(), false);
      assert.equal(h.ready(), false, 'L was reset');
      h.elements();
      assert.equal(h.ready(), true);
    });

    it('without L the end-of-window firing finishes the trigger', () => {
      const h = new Harness(afterWatermark({ early: afterCount(1) }));
      h.ctx.inputWM = MAX_TS + 1;
      assert.equal(h.fire(), true);
    });

    it('late without early behaves as early = never', () => {
      const h = new Harness(afterWatermark({ late: afterCount(1) }));
      h.elements(5);
      assert.equal(h.ready(), false);
      h.ctx.inputWM = MAX_TS + 1;
      assert.equal(h.fire(), false);
      h.elements();
      assert.equal(h.ready(), true);
    });

    it('with merging windows L also counts early elements, and is reset at the phase change', () => {
      const h = new Harness(afterWatermark({ late: afterCount(2) }), { merging: true });
      h.elements();
      const s = h.s as Extract<TriggerState, { kind: 'afterWatermark' }>;
      assert.deepEqual(s.late, { kind: 'afterCount', finished: false, count: 1 });
      h.ctx.inputWM = MAX_TS + 1;
      h.fire();
      assert.deepEqual((h.s as typeof s).late, { kind: 'afterCount', finished: false, count: 0 });
    });

    it('onMerge: early if any merged window is early or the result has not reached its end', () => {
      const t = afterWatermark({ early: afterCount(3), late: afterCount(2) });
      const late = new Harness(t, { merging: true, inputWM: MAX_TS + 1 });
      late.fire();
      late.elements();
      const early = new Harness(t, { merging: true }).elements(2);
      // The result is early: E states merge (0 + 2), L is fresh.
      early.mergeWith(late);
      assert.equal((early.s as { phase: string }).phase, 'early');
      early.elements();
      assert.equal(early.ready(), true, 'E merged to 2, plus one');

      const a = new Harness(t, { merging: true, inputWM: MAX_TS + 1 });
      a.fire();
      a.elements();
      const b = new Harness(t, { merging: true, inputWM: MAX_TS + 1 });
      b.fire();
      b.elements();
      a.mergeWith(b);
      assert.equal((a.s as { phase: string }).phase, 'late');
      assert.equal(a.ready(), true, 'L states merged to 2');
    });
  });

  describe('G8 afterProcessingTime', () => {
    it('sets its target at the first element and fires once now ≥ target', () => {
      const h = new Harness(afterProcessingTime(60), { now: 1_000 });
      h.elements();
      h.ctx.now = 1_030;
      h.elements();
      assert.equal(h.m.target(h.s), 1_060, 'the first element sets the target');
      h.ctx.now = 1_059;
      assert.equal(h.ready(), false);
      h.ctx.now = 1_060;
      assert.equal(h.fire(), true);
      assert.equal(h.m.target(h.s), null);
    });

    it('with delay 0 it is ready in the bundle that set the target', () => {
      assert.equal(new Harness(afterProcessingTime(0), { now: 5 }).elements().ready(), true);
    });

    it('aligns the target up with floorMod', () => {
      const aligned = (now: number) => {
        const h = new Harness(afterProcessingTime(0, { alignSize: 100, alignOffset: 30 }), { now });
        return h.m.target(h.elements().s);
      };
      assert.equal(aligned(130), 130);
      assert.equal(aligned(131), 230);
      assert.equal(aligned(-50), 30);
      assert.equal(aligned(-70), -70);
    });

    it('merges to the earliest target', () => {
      const a = new Harness(afterProcessingTime(10), { now: 100 }).elements();
      const b = new Harness(afterProcessingTime(10), { now: 50 }).elements();
      const c = new Harness(afterProcessingTime(10));
      assert.equal(a.m.target(a.mergeWith(b, c).s), 60);
    });
  });

  it('G9 afterCount: counts, merges by summing, finishes when it fires', () => {
    const h = new Harness(afterCount(3)).elements(2);
    assert.equal(h.ready(), false);
    const other = new Harness(afterCount(3)).elements();
    h.mergeWith(other);
    assert.equal(h.fire(), true);
    const done = new Harness(afterCount(1)).elements();
    done.fire();
    assert.equal(new Harness(afterCount(1)).elements().mergeWith(done).s.finished, true);
  });

  it('G10 repeatedly: restarts the subtree when it finishes, never finishes itself', () => {
    const h = new Harness(repeatedly(afterCount(2)));
    h.elements(2);
    assert.equal(h.fire(), false);
    h.elements();
    assert.equal(h.ready(), false);
    h.elements();
    assert.equal(h.fire(), false);
  });

  describe('G11 afterEach', () => {
    it('consults only the current subtrigger and finishes after the last', () => {
      const h = new Harness(afterEach(afterCount(1), afterCount(2)));
      h.elements();
      assert.equal(h.fire(), false);
      h.elements();
      assert.equal(h.ready(), false, 'the second subtrigger needs two of its own');
      h.elements();
      assert.equal(h.fire(), true);
    });

    it('afterEach(repeatedly(a), b) ≡ repeatedly(a)', () => {
      const h = new Harness(afterEach(repeatedly(afterCount(1)), never()));
      for (let i = 0; i < 3; i++) assert.equal(h.elements().fire(), false);
    });

    it('with merging windows feeds every unfinished subtrigger and clears them all on a firing', () => {
      const h = new Harness(afterEach(afterCount(1), afterCount(3)), { merging: true });
      h.elements(2);
      const subs = () => (h.s as Extract<TriggerState, { kind: 'afterEach' }>).subs;
      assert.equal((subs()[1] as { count: number }).count, 2);
      h.fire();
      assert.deepEqual(subs(), [
        { kind: 'afterCount', finished: true, count: 0 },
        { kind: 'afterCount', finished: false, count: 0 },
      ]);
    });

    it('onMerge makes the earliest current subtrigger current and merges states there', () => {
      const t = afterEach(afterCount(2), afterCount(1));
      const behind = new Harness(t, { merging: true }).elements();
      const ahead = new Harness(t, { merging: true }).elements(2);
      ahead.fire();
      behind.mergeWith(ahead);
      const subs = (behind.s as Extract<TriggerState, { kind: 'afterEach' }>).subs;
      assert.deepEqual(subs[0], { kind: 'afterCount', finished: false, count: 1 });
      behind.elements();
      assert.equal(behind.fire(), false, 'the first subtrigger fires, the second becomes current');
    });
  });

  it('G12 afterFirst: ready when any subtrigger is; the others are cleared; finishes', () => {
    const h = new Harness(afterFirst(afterCount(3), afterProcessingTime(10)));
    h.elements(2);
    assert.equal(h.ready(), false);
    h.ctx.now = 10;
    assert.equal(h.fire(), true);
    const subs = (h.s as Extract<TriggerState, { kind: 'afterFirst' }>).subs;
    assert.deepEqual(subs[0], { kind: 'afterCount', finished: false, count: 0 }, 'cleared');
    assert.equal(subs[1].finished, true, 'fired');
  });

  it('G13 afterAll: ready when every subtrigger is ready or finished', () => {
    const h = new Harness(afterAll(afterCount(1), afterCount(2)));
    h.elements();
    assert.equal(h.ready(), false);
    h.elements();
    assert.equal(h.fire(), true);
    const nested = new Harness(afterAll(afterEach(afterCount(1), afterCount(1)), afterCount(3)));
    nested.elements(3);
    assert.equal(nested.ready(), true);
  });

  describe('G14 orFinally', () => {
    it('T fires until U does; U finishes the composite and clears T', () => {
      const h = new Harness(orFinally(repeatedly(afterCount(2)), afterCount(5)));
      h.elements(2);
      assert.equal(h.fire(), false);
      h.elements(3);
      assert.equal(h.fire(), true);
      const s = h.s as Extract<TriggerState, { kind: 'orFinally' }>;
      assert.deepEqual(s.main, {
        kind: 'repeatedly',
        finished: false,
        sub: { kind: 'afterCount', finished: false, count: 0 },
      });
    });

    it('finishes when a once T finishes', () => {
      const h = new Harness(orFinally(afterCount(1), never()));
      assert.equal(h.elements().fire(), true);
    });
  });

  it('G15 never: never ready', () => {
    const h = new Harness(never()).elements(100);
    h.ctx.inputWM = Number.MAX_SAFE_INTEGER;
    assert.equal(h.ready(), false);
  });

  it('states are plain data that survive a JSON round trip', () => {
    const t = orFinally(
      afterWatermark({ early: afterProcessingTime(5), late: afterEach(afterCount(2), afterFirst(never())) }),
      afterAll(repeatedly(afterCount(4)), defaultTrigger()),
    );
    const h = new Harness(t, { now: 7, merging: true }).elements(3);
    const copy = JSON.parse(JSON.stringify(h.s)) as TriggerState;
    assert.deepEqual(copy, h.s);
    h.s = copy;
    h.ctx.now = 12;
    assert.equal(h.ready(), true, 'a restored state keeps working');
  });

  it('a machine rejects a state of another trigger', () => {
    const m = compileTrigger(afterCount(1));
    assert.throws(() => m.onElement(compileTrigger(never()).init(), { maxTs: 0, inputWM: 0, now: 0, merging: false }));
  });
});
