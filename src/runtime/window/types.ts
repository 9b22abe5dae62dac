import type { Value } from '../../expr/types.ts';
import type { PaneInfo } from '../../time/panes.ts';
import type { Window } from '../../time/windows.ts';
import type { TriggerState } from './triggers/machine.ts';

/** One input element of a keyed, windowed aggregation: its key, its value and its event time (ms, T1). */
export interface Element<V> {
  readonly key: Value;
  readonly value: V;
  readonly time: number;
  /** The element's row in its bundle, when the caller needs to find the record again (late-data side output). */
  readonly row?: number;
}

/** One pane: a window's result as of one firing (§5, §7). */
export interface Pane<O> extends PaneInfo {
  readonly kind: 'pane';
  readonly key: Value;
  readonly window: Window;
  readonly value: O;
  /** Retracting mode only: the value of the window's previous emitted pane, absent for its first (A3). */
  readonly retraction?: O;
  /** The output timestamp (H4): the pane's event time downstream (H7). */
  readonly timestamp: number;
}

/**
 * Retracting mode only: the last value of a window that was merged away, which no longer stands (A3). Emitted just
 * before the next pane of the merge result, with no pane fields (provisional rule of open question Q7).
 */
export interface MergeRetraction<O> {
  readonly kind: 'retraction';
  readonly key: Value;
  readonly window: Window;
  readonly retraction: O;
}

export type StageOutput<O> = Pane<O> | MergeRetraction<O>;

/** The drop counters every stage exposes (L7). Counts are per (element, window) pair, except `droppedNoWindow`. */
export interface DropCounters {
  /** The window was expired when the element arrived (L3). */
  readonly droppedDueToLateness: number;
  /** The window's trigger had finished (G16, W10). */
  readonly droppedDueToClosedWindow: number;
  /** Elements in no window (sliding windows with period > size, W5). */
  readonly droppedNoWindow: number;
}

/**
 * The state of one (key, window), as §8 lists it. Plain data apart from the accumulator and values, which are the
 * combine function's (and plain data by its contract), so that a checkpoint can store it as it is.
 */
export interface WindowState<A, O> {
  /** The key's id in the window store. */
  readonly keyId: number;
  readonly window: Window;
  acc: A;
  /** An element was added since the previous pane (A5). */
  nonEmpty: boolean;
  /** The element hold (H2), if any. */
  hold: number | null;
  /** The end-of-window timer is pending (L4); also an output-watermark hold for watermark triggers (H3). */
  eowPending: boolean;
  trigger: TriggerState;
  /** The trigger finished: the window keeps no data and drops what arrives until its GC time (G16, W10). */
  closed: boolean;
  /** The last emitted pane (P3). */
  prev: PaneInfo | null;
  /** Retracting mode only: the value of the last emitted pane. */
  last: { readonly value: O } | null;
  /** Retractions of windows merged into this one, waiting for its next emitted pane (Q7). */
  retractions: MergeRetraction<O>[];
  /** The processing-time target the timer queue holds for this window, if any. */
  ptTimer: number | null;
  /**
   * The last bundle that added to the window (0: none), so a bundle lists each window it touched once with a stamp
   * compare instead of a Set of states (a Set insert per element and window was a visible share of the hot loop).
   */
  bundle: number;
}
