/**
 * The shape shared by the trigger state machines (spec §3, G1). A machine is built once per stage from a trigger
 * description and holds only configuration; the state of each (key, window) is a separate plain-data value, so it
 * can be stored per window, merged, inspected and checkpointed. Machines update states in place.
 */

/** What a machine may look at. The runner reuses one context object and updates it before each call. */
export interface TriggerContext {
  /** The max timestamp of the window being evaluated (T5); for `onMerge`, of the merge result. */
  maxTs: number;
  /** The stage's input watermark. */
  inputWM: number;
  /** The current processing time. */
  now: number;
  /** Whether the stage's windows can merge (sessions): some triggers then feed more subtriggers (G7, G11). */
  merging: boolean;
}

export interface TriggerMachine {
  /** A fresh, unfinished state. */
  init(): TriggerState;
  onElement(s: TriggerState, ctx: TriggerContext): void;
  /** The state of a merge result, from the states of the merged windows that existed before (W8). */
  onMerge(states: readonly TriggerState[], ctx: TriggerContext): TriggerState;
  shouldFire(s: TriggerState, ctx: TriggerContext): boolean;
  /** Called when the trigger fires; returns whether it is now finished (and sets `s.finished`). */
  onFire(s: TriggerState, ctx: TriggerContext): boolean;
  /** Clears the state in place, keeping finished bits (G11); a parent resets a subtree with `init()`. */
  clear(s: TriggerState): void;
  /** The earliest processing-time target set in the state, or `null` (G8). */
  target(s: TriggerState): number | null;
}

/** States of leaves that keep nothing but the finished bit. */
export interface StatelessState<K extends 'default' | 'never'> {
  readonly kind: K;
  finished: boolean;
}

export interface WatermarkState {
  readonly kind: 'afterWatermark';
  finished: boolean;
  phase: 'early' | 'late';
  early: TriggerState | null;
  late: TriggerState | null;
}

export interface ProcessingTimeState {
  readonly kind: 'afterProcessingTime';
  finished: boolean;
  target: number | null;
}

export interface CountState {
  readonly kind: 'afterCount';
  finished: boolean;
  count: number;
}

export interface RepeatedlyState {
  readonly kind: 'repeatedly';
  finished: boolean;
  sub: TriggerState;
}

export interface SubtriggersState<K extends 'afterEach' | 'afterFirst' | 'afterAll'> {
  readonly kind: K;
  finished: boolean;
  subs: TriggerState[];
}

export interface OrFinallyState {
  readonly kind: 'orFinally';
  finished: boolean;
  main: TriggerState;
  until: TriggerState;
}

export type TriggerState =
  | StatelessState<'default'>
  | StatelessState<'never'>
  | WatermarkState
  | ProcessingTimeState
  | CountState
  | RepeatedlyState
  | SubtriggersState<'afterEach'>
  | SubtriggersState<'afterFirst'>
  | SubtriggersState<'afterAll'>
  | OrFinallyState;

/** Narrows a state to the kind its machine expects; a mismatch is a runner bug (a state from another trigger). */
export function stateAs<K extends TriggerState['kind']>(s: TriggerState, kind: K): Extract<TriggerState, { kind: K }> {
  if (s.kind !== kind) throw new Error(`a '${s.kind}' trigger state was given to the '${kind}' state machine`);
  return s as Extract<TriggerState, { kind: K }>;
}

/** The earlier of two optional processing-time targets. */
export function earlier(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.min(a, b);
}

/** A fresh state that is already finished: for subtriggers a merge places before the current one (G11). */
export function finishedState(m: TriggerMachine): TriggerState {
  const s = m.init();
  s.finished = true;
  return s;
}

/** The earliest processing-time target among unfinished subtriggers. */
export function minTarget(machines: readonly TriggerMachine[], states: readonly TriggerState[]): number | null {
  let best: number | null = null;
  for (let i = 0; i < machines.length; i++) {
    if (states[i].finished) continue;
    const t = machines[i].target(states[i]);
    if (t !== null && (best === null || t < best)) best = t;
  }
  return best;
}
