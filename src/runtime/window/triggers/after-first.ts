import {
  minTarget,
  type SubtriggersState,
  stateAs,
  type TriggerContext,
  type TriggerMachine,
  type TriggerState,
} from './machine.ts';

/**
 * `afterFirst(T…)` (G12): a once trigger, ready as soon as any subtrigger is ready or finished. When it fires, the
 * ready subtriggers fire and the others are cleared. Elements and merges go to every subtrigger.
 */
export class AfterFirstMachine implements TriggerMachine {
  constructor(private readonly subs: readonly TriggerMachine[]) {}

  init(): SubtriggersState<'afterFirst'> {
    return { kind: 'afterFirst', finished: false, subs: this.subs.map((m) => m.init()) };
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    const s = stateAs(state, 'afterFirst');
    if (s.finished) return;
    for (let i = 0; i < this.subs.length; i++) this.subs[i].onElement(s.subs[i], ctx);
  }

  onMerge(states: readonly TriggerState[], ctx: TriggerContext): SubtriggersState<'afterFirst'> {
    const olds = states.map((s) => stateAs(s, 'afterFirst'));
    return {
      kind: 'afterFirst',
      finished: olds.some((s) => s.finished),
      subs: this.subs.map((m, i) =>
        m.onMerge(
          olds.map((s) => s.subs[i]),
          ctx,
        ),
      ),
    };
  }

  shouldFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'afterFirst');
    return !s.finished && this.subs.some((m, i) => s.subs[i].finished || m.shouldFire(s.subs[i], ctx));
  }

  onFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'afterFirst');
    for (let i = 0; i < this.subs.length; i++) {
      const sub = s.subs[i];
      if (sub.finished) continue;
      if (this.subs[i].shouldFire(sub, ctx)) this.subs[i].onFire(sub, ctx);
      else this.subs[i].clear(sub);
    }
    s.finished = true;
    return true;
  }

  clear(state: TriggerState): void {
    const s = stateAs(state, 'afterFirst');
    for (let i = 0; i < this.subs.length; i++) this.subs[i].clear(s.subs[i]);
  }

  target(state: TriggerState): number | null {
    return minTarget(this.subs, stateAs(state, 'afterFirst').subs);
  }
}
