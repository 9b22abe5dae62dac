import { type Duration, durationMs, WindowingError } from './invalid.ts';
import { defaultTrigger, type Trigger } from './triggers.ts';
import { global, type WindowFn } from './windows.ts';

/**
 * What a pane carries relative to the earlier panes of its window (§5): `discarding` only what arrived since the
 * previous pane (A1), `accumulating` everything so far (A2), `retracting` everything so far plus the previous pane's
 * value to retract (A3).
 */
export type Accumulation = 'discarding' | 'accumulating' | 'retracting';

/** How a pane's output timestamp is chosen (H1): the window's `maxTs`, or the earliest / latest holding element. */
export type TimestampCombiner = 'end' | 'earliest' | 'latest';

/** A complete windowing strategy: how elements are grouped in event time and when and how panes are produced. */
export interface Windowing {
  readonly window: WindowFn;
  readonly trigger: Trigger;
  /** Milliseconds after the end of a window during which late data is still accepted (L1). */
  readonly allowedLateness: number;
  readonly accumulation: Accumulation;
  readonly timestampCombiner: TimestampCombiner;
}

/** A windowing strategy as users declare it: anything left out takes its default from {@link WINDOWING_DEFAULTS}. */
export interface WindowingOptions {
  readonly window?: WindowFn;
  readonly trigger?: Trigger;
  readonly allowedLateness?: Duration;
  readonly accumulation?: Accumulation;
  readonly timestampCombiner?: TimestampCombiner;
}

/**
 * The defaults, in one place, as Beam's `WindowingStrategy` has them: the global window, the default trigger, no
 * allowed lateness (L1), discarding panes (A1) stamped with the end of their window (H1).
 */
export const WINDOWING_DEFAULTS: Windowing = Object.freeze({
  window: global(),
  trigger: defaultTrigger(),
  allowedLateness: 0,
  accumulation: 'discarding',
  timestampCombiner: 'end',
});

const ACCUMULATIONS: readonly Accumulation[] = ['discarding', 'accumulating', 'retracting'];
const COMBINERS: readonly TimestampCombiner[] = ['end', 'earliest', 'latest'];

/** Fills in the defaults and checks the fields that are not checked by their own factories. */
export function resolveWindowing(options: WindowingOptions = {}): Windowing {
  const allowedLateness = durationMs('allowedLateness', options.allowedLateness ?? WINDOWING_DEFAULTS.allowedLateness);
  if (allowedLateness < 0) throw new WindowingError('allowedLateness', `must be ≥ 0 (L1); got ${allowedLateness}`);
  const accumulation = options.accumulation ?? WINDOWING_DEFAULTS.accumulation;
  if (!ACCUMULATIONS.includes(accumulation)) {
    throw new WindowingError('accumulation', `must be one of ${ACCUMULATIONS.join(', ')}; got ${String(accumulation)}`);
  }
  const timestampCombiner = options.timestampCombiner ?? WINDOWING_DEFAULTS.timestampCombiner;
  if (!COMBINERS.includes(timestampCombiner)) {
    throw new WindowingError(
      'timestampCombiner',
      `must be one of ${COMBINERS.join(', ')}; got ${String(timestampCombiner)}`,
    );
  }
  return {
    window: options.window ?? WINDOWING_DEFAULTS.window,
    trigger: options.trigger ?? WINDOWING_DEFAULTS.trigger,
    allowedLateness,
    accumulation,
    timestampCombiner,
  };
}
