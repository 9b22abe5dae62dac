import type { TriggerContext, TriggerMachine, TriggerState } from './machine.ts';

/**
 * `default` ≡ `repeatedly(afterWatermark())` (G5): ready whenever the watermark is past the end of the window, and
 * never finished, so late data within the allowed lateness yields `LATE` panes. It keeps no state.
 */
export class DefaultMachine implements TriggerMachine {
  init(): TriggerState {
    return { kind: 'default', finished: false };
  }

  onElement(): void {}

  onMerge(): TriggerState {
    return this.init();
  }

  shouldFire(_s: TriggerState, ctx: TriggerContext): boolean {
    return ctx.inputWM > ctx.maxTs;
  }

  onFire(): boolean {
    return false;
  }

  clear(): void {}

  target(): number | null {
    return null;
  }
}
