import {
  earlier,
  stateAs,
  type TriggerContext,
  type TriggerMachine,
  type TriggerState,
  type WatermarkState,
} from './machine.ts';

/**
 * `afterWatermark({ early?, late? })` (G6, G7). In the early phase it is ready when E is, or when the watermark has
 * passed the end of the window; that end-of-window firing ends the early phase (and finishes the trigger when there
 * is no L). In the late phase it is ready when L is. E and L repeat implicitly: each is reset after it fires.
 */
export class AfterWatermarkMachine implements TriggerMachine {
  constructor(
    private readonly early: TriggerMachine | null,
    private readonly late: TriggerMachine | null,
  ) {}

  init(): WatermarkState {
    return {
      kind: 'afterWatermark',
      finished: false,
      phase: 'early',
      early: this.early?.init() ?? null,
      late: this.late?.init() ?? null,
    };
  }

  onElement(state: TriggerState, ctx: TriggerContext): void {
    const s = stateAs(state, 'afterWatermark');
    if (s.finished) return;
    if (s.phase === 'early') {
      feed(this.early, s.early, ctx);
      // With merging windows L also counts early elements, since a merge can move a window back to late (G7).
      if (ctx.merging) feed(this.late, s.late, ctx);
    } else {
      feed(this.late, s.late, ctx);
    }
  }

  /**
   * Early if any merged window was early or the result has not reached its end (E states merged, L fresh);
   * otherwise late (L states merged). Finished if finished in any merged window.
   */
  onMerge(states: readonly TriggerState[], ctx: TriggerContext): WatermarkState {
    const olds = states.map((s) => stateAs(s, 'afterWatermark'));
    const merged = this.init();
    if (olds.some((s) => s.finished)) {
      merged.finished = true;
      return merged;
    }
    if (olds.some((s) => s.phase === 'early') || ctx.inputWM <= ctx.maxTs) {
      merged.early = mergeSub(this.early, olds, 'early', ctx);
    } else {
      merged.phase = 'late';
      merged.late = mergeSub(this.late, olds, 'late', ctx);
    }
    return merged;
  }

  shouldFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'afterWatermark');
    if (s.finished) return false;
    if (s.phase === 'early') return ready(this.early, s.early, ctx) || ctx.inputWM > ctx.maxTs;
    return ready(this.late, s.late, ctx);
  }

  onFire(state: TriggerState, ctx: TriggerContext): boolean {
    const s = stateAs(state, 'afterWatermark');
    // E and L fire and restart; a restarted state is all that is left of a firing, so they are just reset.
    if (s.phase === 'late') {
      s.late = this.late?.init() ?? null;
      return false;
    }
    s.early = this.early?.init() ?? null;
    if (ctx.inputWM <= ctx.maxTs) return false;
    // The end-of-window firing takes everything buffered, whatever E says, and ends the early phase.
    if (this.late === null) {
      s.finished = true;
      return true;
    }
    s.phase = 'late';
    s.late = this.late.init();
    return false;
  }

  clear(state: TriggerState): void {
    const s = stateAs(state, 'afterWatermark');
    if (s.early !== null) this.early?.clear(s.early);
    if (s.late !== null) this.late?.clear(s.late);
  }

  target(state: TriggerState): number | null {
    const s = stateAs(state, 'afterWatermark');
    const e = s.early === null ? null : (this.early?.target(s.early) ?? null);
    const l = s.late === null ? null : (this.late?.target(s.late) ?? null);
    return earlier(e, l);
  }
}

function feed(m: TriggerMachine | null, s: TriggerState | null, ctx: TriggerContext): void {
  if (m !== null && s !== null) m.onElement(s, ctx);
}

function ready(m: TriggerMachine | null, s: TriggerState | null, ctx: TriggerContext): boolean {
  return m !== null && s !== null && m.shouldFire(s, ctx);
}

function mergeSub(
  m: TriggerMachine | null,
  olds: readonly WatermarkState[],
  which: 'early' | 'late',
  ctx: TriggerContext,
): TriggerState | null {
  if (m === null) return null;
  const subs = olds.map((s) => s[which]).filter((s): s is TriggerState => s !== null);
  return m.onMerge(subs, ctx);
}
