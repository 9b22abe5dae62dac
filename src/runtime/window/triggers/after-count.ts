import { type CountState, stateAs, type TriggerMachine, type TriggerState } from './machine.ts';

/** `afterCount(n)` (G9): a once trigger, ready when at least `n` elements arrived since it started. */
export class AfterCountMachine implements TriggerMachine {
  constructor(private readonly n: number) {}

  init(): CountState {
    return { kind: 'afterCount', finished: false, count: 0 };
  }

  onElement(state: TriggerState): void {
    const s = stateAs(state, 'afterCount');
    if (!s.finished) s.count++;
  }

  /** The sum of the counts; finished if finished in any merged window. */
  onMerge(states: readonly TriggerState[]): CountState {
    const merged = this.init();
    for (const state of states) {
      const s = stateAs(state, 'afterCount');
      merged.count += s.count;
      merged.finished ||= s.finished;
    }
    if (merged.finished) merged.count = 0;
    return merged;
  }

  shouldFire(state: TriggerState): boolean {
    const s = stateAs(state, 'afterCount');
    return !s.finished && s.count >= this.n;
  }

  onFire(state: TriggerState): boolean {
    const s = stateAs(state, 'afterCount');
    s.finished = true;
    s.count = 0;
    return true;
  }

  clear(state: TriggerState): void {
    stateAs(state, 'afterCount').count = 0;
  }

  target(): number | null {
    return null;
  }
}
