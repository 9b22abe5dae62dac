/**
 * Pane metadata (spec §7). Per window, timings follow `EARLY* ON_TIME? LATE*` (P1).
 * - `EARLY`: produced before the watermark passed the end of the window (speculative).
 * - `ON_TIME`: the first pane produced after the watermark passed the end, unless the window was already behind
 *   the stage's output watermark (P4).
 * - `LATE`: every pane after that, and any pane of a window that was behind the output watermark.
 */
export type PaneTiming = 'EARLY' | 'ON_TIME' | 'LATE';

export interface PaneInfo {
  readonly timing: PaneTiming;
  /** 0-based over all emitted panes of the window. */
  readonly index: number;
  /** 0-based over the non-`EARLY` panes of the window (Beam's `nonSpeculativeIndex`); −1 for `EARLY` panes. */
  readonly onTimeIndex: number;
  readonly isFirst: boolean;
  /** The trigger finished on this firing, or this is the window's garbage-collection pane. */
  readonly isLast: boolean;
}
