import type { TriggerContext, TriggerMachine, TriggerState } from './machine.ts';
import { OnceOfSubtriggers } from './once-of.ts';

/**
 * `afterAll(T…)` (G13): a once trigger, ready when every subtrigger is ready or finished; then all unfinished
 * subtriggers fire. Elements go only to unfinished subtriggers.
 */
export class AfterAllMachine extends OnceOfSubtriggers<'afterAll'> {
  constructor(subs: readonly TriggerMachine[]) {
    super('afterAll', subs);
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    const s = this.own(state);
    if (s.finished) return;
    for (let i = 0; i < this.subs.length; i++) if (!s.subs[i].finished) this.subs[i].onElement(s.subs[i], ctx);
  }

  shouldFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = this.own(state);
    return !s.finished && this.subs.every((m, i) => s.subs[i].finished || m.shouldFire(s.subs[i], ctx));
  }

  onFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = this.own(state);
    for (let i = 0; i < this.subs.length; i++) if (!s.subs[i].finished) this.subs[i].onFire(s.subs[i], ctx);
    s.finished = true;
    return true;
  }
}
