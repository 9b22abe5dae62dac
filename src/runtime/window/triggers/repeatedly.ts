import {
  type RepeatedlyState,
  stateAs,
  type TriggerContext,
  type TriggerMachine,
  type TriggerState,
} from './machine.ts';

/** `repeatedly(T)` (G10): fires whenever T does; when T finishes, T's whole subtree restarts. Never finishes. */
export class RepeatedlyMachine implements TriggerMachine {
  constructor(private readonly sub: TriggerMachine) {}

  init(): RepeatedlyState {
    return { kind: 'repeatedly', finished: false, sub: this.sub.init() };
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    this.sub.onElement(stateAs(state, 'repeatedly').sub, ctx);
  }

  onMerge(states: readonly TriggerState[], ctx: TriggerContext): RepeatedlyState {
    const subs = states.map((s) => stateAs(s, 'repeatedly').sub);
    return { kind: 'repeatedly', finished: false, sub: this.sub.onMerge(subs, ctx) };
  }

  shouldFire(state: TriggerState, ctx: TriggerContext): boolean {
    return this.sub.shouldFire(stateAs(state, 'repeatedly').sub, ctx);
  }

  onFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'repeatedly');
    if (this.sub.onFire(s.sub, ctx)) s.sub = this.sub.init();
    return false;
  }

  clear(state: TriggerState): void {
    this.sub.clear(stateAs(state, 'repeatedly').sub);
  }

  target(state: TriggerState): number | null {
    return this.sub.target(stateAs(state, 'repeatedly').sub);
  }
}
