import { floorMod } from '../../../time/timestamps.ts';
import type { AfterProcessingTime } from '../../../time/triggers.ts';
import {
  type ProcessingTimeState,
  stateAs,
  type TriggerContext,
  type TriggerMachine,
  type TriggerState,
} from './machine.ts';

/**
 * `afterProcessingTime(delay, alignSize?, alignOffset)` (G8): a once trigger. The pane's first element sets a
 * processing-time target; the trigger is ready once processing time reaches it (`now ≥ target`, napkin's choice
 * for open question Q4).
 */
export class AfterProcessingTimeMachine implements TriggerMachine {
  constructor(private readonly d: AfterProcessingTime) {}

  init(): ProcessingTimeState {
    return { kind: 'afterProcessingTime', finished: false, target: null };
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    const s = stateAs(state, 'afterProcessingTime');
    if (!s.finished && s.target === null) s.target = this.align(ctx.now + this.d.delay);
  }

  /** The earliest of the merged windows' targets; finished if finished in any of them. */
  onMerge(states: readonly TriggerState[]): ProcessingTimeState {
    const merged = this.init();
    for (const state of states) {
      const s = stateAs(state, 'afterProcessingTime');
      merged.finished ||= s.finished;
      if (s.target !== null && (merged.target === null || s.target < merged.target)) merged.target = s.target;
    }
    if (merged.finished) merged.target = null;
    return merged;
  }

  shouldFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'afterProcessingTime');
    return !s.finished && s.target !== null && ctx.now >= s.target;
  }

  onFire(state: TriggerState): boolean {
    const s = stateAs(state, 'afterProcessingTime');
    s.finished = true;
    s.target = null;
    return true;
  }

  clear(state: TriggerState): void {
    stateAs(state, 'afterProcessingTime').target = null;
  }

  target(state: TriggerState): number | null {
    return stateAs(state, 'afterProcessingTime').target;
  }

  /** Rounds up to the next instant `≡ alignOffset (mod alignSize)`; floorMod, unlike Beam's `AlignFn` (Q4). */
  private align(p: number): number {
    const size = this.d.alignSize;
    if (size === undefined) return p;
    const r = floorMod(p - this.d.alignOffset, size);
    return r === 0 ? p : p + size - r;
  }
}
