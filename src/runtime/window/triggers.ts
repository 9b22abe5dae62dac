import { unreachable } from '../../time/invalid.ts';
import type { Trigger } from '../../time/triggers.ts';
import { AfterAllMachine } from './triggers/after-all.ts';
import { AfterCountMachine } from './triggers/after-count.ts';
import { AfterEachMachine } from './triggers/after-each.ts';
import { AfterFirstMachine } from './triggers/after-first.ts';
import { AfterProcessingTimeMachine } from './triggers/after-processing-time.ts';
import { AfterWatermarkMachine } from './triggers/after-watermark.ts';
import { DefaultMachine } from './triggers/default.ts';
import type { TriggerMachine } from './triggers/machine.ts';
import { NeverMachine } from './triggers/never.ts';
import { OrFinallyMachine } from './triggers/or-finally.ts';
import { RepeatedlyMachine } from './triggers/repeatedly.ts';

export type { TriggerContext, TriggerMachine, TriggerState } from './triggers/machine.ts';

/**
 * Translates a trigger description (`time/triggers.ts`) into the state machine that runs it (G1): the one bridge
 * from the model to execution, like Beam's `TriggerStateMachines`. The machine holds configuration only; each
 * (key, window) keeps its own plain-data state, made by `init()`.
 */
export function compileTrigger(t: Trigger): TriggerMachine {
  switch (t.kind) {
    case 'default':
      return new DefaultMachine();
    case 'never':
      return new NeverMachine();
    case 'afterWatermark':
      return new AfterWatermarkMachine(optional(t.early), optional(t.late));
    case 'afterProcessingTime':
      return new AfterProcessingTimeMachine(t);
    case 'afterCount':
      return new AfterCountMachine(t.count);
    case 'repeatedly':
      return new RepeatedlyMachine(compileTrigger(t.trigger));
    case 'afterEach':
      return new AfterEachMachine(t.triggers.map(compileTrigger));
    case 'afterFirst':
      return new AfterFirstMachine(t.triggers.map(compileTrigger));
    case 'afterAll':
      return new AfterAllMachine(t.triggers.map(compileTrigger));
    case 'orFinally':
      return new OrFinallyMachine(compileTrigger(t.trigger), compileTrigger(t.until));
    default:
      return unreachable(t);
  }
}

function optional(t: Trigger | undefined): TriggerMachine | null {
  return t === undefined ? null : compileTrigger(t);
}
