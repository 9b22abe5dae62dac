import type { TriggerMachine, TriggerState } from './machine.ts';

/** `never` (G15): never ready, never finished; its window yields only the final pane at GC time (L5, A5). */
export class NeverMachine implements TriggerMachine {
  init(): TriggerState {
    return { kind: 'never', finished: false };
  }

  onElement(): void {}

  onMerge(): TriggerState {
    return this.init();
  }

  shouldFire(): boolean {
    return false;
  }

  onFire(): boolean {
    return false;
  }

  clear(): void {}

  target(): number | null {
    return null;
  }
}
