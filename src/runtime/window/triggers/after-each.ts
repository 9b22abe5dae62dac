import {
  finishedState,
  minTarget,
  type SubtriggersState,
  stateAs,
  type TriggerContext,
  type TriggerMachine,
  type TriggerState,
} from './machine.ts';

/**
 * `afterEach(T1 … Tn)` (G11): only the current subtrigger, the first unfinished one, is consulted; the composite
 * fires when it fires and finishes when all have finished. With merging windows every unfinished subtrigger counts
 * elements, and every firing clears all their states (finished bits kept).
 */
export class AfterEachMachine implements TriggerMachine {
  constructor(private readonly subs: readonly TriggerMachine[]) {}

  init(): SubtriggersState<'afterEach'> {
    return { kind: 'afterEach', finished: false, subs: this.subs.map((m) => m.init()) };
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    const s = stateAs(state, 'afterEach');
    const cur = current(s);
    if (cur < 0) return;
    if (!ctx.merging) {
      this.subs[cur].onElement(s.subs[cur], ctx);
      return;
    }
    for (let i = cur; i < this.subs.length; i++) if (!s.subs[i].finished) this.subs[i].onElement(s.subs[i], ctx);
  }

  /**
   * The earliest current subtrigger among the merged windows becomes current. At each position from there on, the
   * states of the windows where that subtrigger is unfinished are merged; earlier positions are finished.
   */
  onMerge(states: readonly TriggerState[], ctx: TriggerContext): SubtriggersState<'afterEach'> {
    const olds = states.map((s) => stateAs(s, 'afterEach'));
    const n = this.subs.length;
    const cur = Math.min(...olds.map((s) => (current(s) < 0 ? n : current(s))));
    const subs = this.subs.map((m, i) => {
      if (i < cur) return finishedState(m);
      const open = olds.map((s) => s.subs[i]).filter((x) => !x.finished);
      return open.length === 0 ? m.init() : m.onMerge(open, ctx);
    });
    return { kind: 'afterEach', finished: cur === n, subs };
  }

  shouldFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'afterEach');
    const cur = current(s);
    return cur >= 0 && this.subs[cur].shouldFire(s.subs[cur], ctx);
  }

  onFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'afterEach');
    const cur = current(s);
    if (cur >= 0) this.subs[cur].onFire(s.subs[cur], ctx);
    if (ctx.merging) for (let i = 0; i < this.subs.length; i++) this.subs[i].clear(s.subs[i]);
    s.finished = current(s) < 0;
    return s.finished;
  }

  clear(state: TriggerState): void {
    const s = stateAs(state, 'afterEach');
    for (let i = 0; i < this.subs.length; i++) this.subs[i].clear(s.subs[i]);
  }

  target(state: TriggerState): number | null {
    return minTarget(this.subs, stateAs(state, 'afterEach').subs);
  }
}

function current(s: SubtriggersState<'afterEach'>): number {
  return s.subs.findIndex((x) => !x.finished);
}
