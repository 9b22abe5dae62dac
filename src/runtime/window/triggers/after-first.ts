import type { TriggerContext, TriggerMachine, TriggerState } from './machine.ts';
import { OnceOfSubtriggers } from './once-of.ts';

/**
 * `afterFirst(T…)` (G12): a once trigger, ready as soon as any subtrigger is ready or finished. When it fires, the
 * ready subtriggers fire and the others are cleared. Elements and merges go to every subtrigger.
 */
export class AfterFirstMachine extends OnceOfSubtriggers<'afterFirst'> {
  constructor(subs: readonly TriggerMachine[]) {
    super('afterFirst', subs);
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    const s = this.own(state);
    if (s.finished) return;
    for (let i = 0; i < this.subs.length; i++) this.subs[i].onElement(s.subs[i], ctx);
  }

  shouldFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = this.own(state);
    return !s.finished && this.subs.some((m, i) => s.subs[i].finished || m.shouldFire(s.subs[i], ctx));
  }

  onFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = this.own(state);
    for (let i = 0; i < this.subs.length; i++) {
      const sub = s.subs[i];
      if (sub.finished) continue;
      if (this.subs[i].shouldFire(sub, ctx)) this.subs[i].onFire(sub, ctx);
      else this.subs[i].clear(sub);
    }
    s.finished = true;
    return true;
  }
}
