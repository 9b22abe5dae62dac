import {
  earlier,
  type OrFinallyState,
  stateAs,
  type TriggerContext,
  type TriggerMachine,
  type TriggerState,
} from './machine.ts';

/**
 * `orFinally(T, U)` (G14): ready when T or U is. If U is ready, U fires, T is cleared and the composite finishes;
 * otherwise T fires and the composite finishes only if T did.
 */
export class OrFinallyMachine implements TriggerMachine {
  constructor(
    private readonly main: TriggerMachine,
    private readonly until: TriggerMachine,
  ) {}

  init(): OrFinallyState {
    return { kind: 'orFinally', finished: false, main: this.main.init(), until: this.until.init() };
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    const s = stateAs(state, 'orFinally');
    if (s.finished) return;
    this.main.onElement(s.main, ctx);
    this.until.onElement(s.until, ctx);
  }

  onMerge(states: readonly TriggerState[], ctx: TriggerContext): OrFinallyState {
    const olds = states.map((s) => stateAs(s, 'orFinally'));
    return {
      kind: 'orFinally',
      finished: olds.some((s) => s.finished),
      main: this.main.onMerge(
        olds.map((s) => s.main),
        ctx,
      ),
      until: this.until.onMerge(
        olds.map((s) => s.until),
        ctx,
      ),
    };
  }

  shouldFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'orFinally');
    return !s.finished && (this.main.shouldFire(s.main, ctx) || this.until.shouldFire(s.until, ctx));
  }

  onFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'orFinally');
    if (this.until.shouldFire(s.until, ctx)) {
      this.until.onFire(s.until, ctx);
      this.main.clear(s.main);
      s.finished = true;
    } else {
      s.finished = this.main.onFire(s.main, ctx);
    }
    return s.finished;
  }

  clear(state: TriggerState): void {
    const s = stateAs(state, 'orFinally');
    this.main.clear(s.main);
    this.until.clear(s.until);
  }

  target(state: TriggerState): number | null {
    const s = stateAs(state, 'orFinally');
    return earlier(this.main.target(s.main), this.until.target(s.until));
  }
}
