/**
 * napkin's event-time model: pure descriptions of how data is grouped in time and when results come out. Nothing in
 * this folder holds state or reacts to data; `runtime/window/` runs these descriptions. The normative rules are in
 * the dataflow-semantics spec; rule ids (W4, G7, …) in comments refer to it.
 *
 * **Event time and processing time.** Every element carries an *event time*: when the thing it records happened, in
 * integer milliseconds since the Unix epoch (T1). *Processing time* is when napkin sees it. The two differ, and the
 * difference is neither constant nor bounded, so results are grouped by event time.
 *
 * **Watermarks.** A *watermark* `W` is napkin's claim that no more data with event time `< W` will arrive (M1). It
 * starts at −∞ ({@link MIN_TIMESTAMP}), never decreases, and reaches +∞ ({@link MAX_TIMESTAMP}) when the input is
 * complete. A batch input keeps its watermark at −∞ while it is read and then jumps to +∞ (M5). Data that arrives
 * behind the watermark is *late*.
 *
 * **Windows.** A *window function* assigns each element to windows of event time: {@link fixed} (tumbling),
 * {@link sliding} (hopping), {@link sessions} (per-key bursts of activity separated by a gap, merged as data arrives)
 * or {@link global} (one window for all time, the default). Interval windows are half-open, `[start, end)`, and every
 * end-of-window test uses the window's max timestamp `end − 1` ({@link maxTs}, T5). An aggregation keeps separate
 * state per key and window.
 *
 * **Panes.** A window's result may come out more than once: each result is a *pane*. Panes are `EARLY` before the
 * watermark passes the end of the window, `ON_TIME` when it does, and `LATE` for late data afterwards (P2). The
 * accumulation mode says whether a pane carries only what arrived since the previous pane (`discarding`, the
 * default), everything so far (`accumulating`), or everything so far plus the previous value to retract
 * (`retracting`) (§5). Each pane has an output timestamp, the window's max timestamp unless the timestamp combiner
 * says otherwise (H1).
 *
 * **Triggers.** A *trigger* says when a window produces a pane: {@link defaultTrigger} fires once when the watermark
 * passes the end of the window and again for each bundle of late data; {@link afterWatermark} adds early and late
 * firings; {@link afterCount}, {@link afterProcessingTime} and the combinators ({@link repeatedly},
 * {@link afterEach}, {@link afterFirst}, {@link afterAll}, {@link orFinally}) compose others. Triggers here are
 * descriptions; the runner turns each into a small state machine per key and window.
 *
 * **Lateness.** A window accepts late data for `allowedLateness` after its end; then its state is garbage-collected
 * and later data for it is dropped and counted (L2, L3). The whole strategy is one {@link Windowing} value, with its
 * defaults written down in {@link resolveWindowing}.
 */

export { type Duration, WindowingError } from './invalid.ts';
export type { PaneInfo, PaneTiming } from './panes.ts';
export { floorMod, GLOBAL_MAX, isElementTimestamp, MAX_TIMESTAMP, MIN_TIMESTAMP } from './timestamps.ts';
export {
  type AfterAll,
  type AfterCount,
  type AfterEach,
  type AfterFirst,
  type AfterProcessingTime,
  type AfterWatermark,
  afterAll,
  afterCount,
  afterEach,
  afterFirst,
  afterProcessingTime,
  afterWatermark,
  type DefaultTrigger,
  defaultTrigger,
  formatTrigger,
  hasWatermarkPart,
  type Never,
  never,
  type OrFinally,
  orFinally,
  type Repeatedly,
  repeatedly,
  type Trigger,
} from './triggers.ts';
export {
  boundedOutOfOrderness,
  boundOf,
  monotonic,
  type WatermarkOptions,
  type WatermarkStrategy,
} from './watermarks.ts';
export {
  type Accumulation,
  resolveWindowing,
  type TimestampCombiner,
  WINDOWING_DEFAULTS,
  type Windowing,
  type WindowingOptions,
} from './windowing.ts';
export {
  assignWindows,
  type FixedWindows,
  fixed,
  GLOBAL_WINDOW,
  type GlobalWindow,
  type GlobalWindows,
  global,
  type IntervalWindow,
  intersects,
  maxTs,
  type SessionWindows,
  type SlidingWindows,
  sessions,
  sliding,
  span,
  type Window,
  type WindowFn,
} from './windows.ts';
