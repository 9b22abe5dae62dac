import {
  minTarget,
  type SubtriggersState,
  stateAs,
  type TriggerContext,
  type TriggerMachine,
  type TriggerState,
} from './machine.ts';

/**
 * `afterAll(T…)` (G13): a once trigger, ready when every subtrigger is ready or finished; then all unfinished
 * subtriggers fire. Elements go only to unfinished subtriggers.
 */
export class AfterAllMachine implements TriggerMachine {
  constructor(private readonly subs: readonly TriggerMachine[]) {}

  init(): SubtriggersState<'afterAll'> {
    return { kind: 'afterAll', finished: false, subs: this.subs.map((m) => m.init()) };
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    const s = stateAs(state, 'afterAll');
    if (s.finished) return;
    for (let i = 0; i < this.subs.length; i++) if (!s.subs[i].finished) this.subs[i].onElement(s.subs[i], ctx);
  }

  onMerge(states: readonly TriggerState[], ctx: TriggerContext): SubtriggersState<'afterAll'> {
    const olds = states.map((s) => stateAs(s, 'afterAll'));
    return {
      kind: 'afterAll',
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
    const s = stateAs(state, 'afterAll');
    return !s.finished && this.subs.every((m, i) => s.subs[i].finished || m.shouldFire(s.subs[i], ctx));
  }

  onFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'afterAll');
    for (let i = 0; i < this.subs.length; i++) if (!s.subs[i].finished) this.subs[i].onFire(s.subs[i], ctx);
    s.finished = true;
    return true;
  }

  clear(state: TriggerState): void {
    const s = stateAs(state, 'afterAll');
    for (let i = 0; i < this.subs.length; i++) this.subs[i].clear(s.subs[i]);
  }

  target(state: TriggerState): number | null {
    return minTarget(this.subs, stateAs(state, 'afterAll').subs);
  }
}
