import { type Duration, durationMs, positiveMs, unreachable, WindowingError } from './invalid.ts';
import { floorMod, GLOBAL_MAX, MIN_TIMESTAMP } from './timestamps.ts';

// ---------------------------------------------------------------------------------------------------------------
// Windows

/** A half-open interval `[start, end)` of event time, `start < end` (W1). */
export interface IntervalWindow {
  readonly kind: 'interval';
  readonly start: number;
  readonly end: number;
}

/** The single window every element belongs to under `global()` (W3). */
export interface GlobalWindow {
  readonly kind: 'global';
}

export type Window = IntervalWindow | GlobalWindow;

export const GLOBAL_WINDOW: GlobalWindow = Object.freeze({ kind: 'global' });

export function interval(start: number, end: number): IntervalWindow {
  if (!(start < end)) throw new RangeError(`a window needs start < end (W1); got [${start}, ${end})`);
  return { kind: 'interval', start, end };
}

/** The last instant inside the window (T5): every "end of window" comparison uses it, never `end`. */
export function maxTs(w: Window): number {
  switch (w.kind) {
    case 'interval':
      return w.end - 1;
    case 'global':
      return GLOBAL_MAX;
    default:
      return unreachable(w);
  }
}

/** The start used to order and identify windows; the global window sorts as `[MIN_TIMESTAMP, GLOBAL_MAX + 1)`. */
export function windowStart(w: Window): number {
  return w.kind === 'interval' ? w.start : MIN_TIMESTAMP;
}

export function windowEnd(w: Window): number {
  return w.kind === 'interval' ? w.end : GLOBAL_MAX + 1;
}

/** Windows that only touch (`a.end = b.start`) do not intersect (W2, W6). */
export function intersects(a: IntervalWindow, b: IntervalWindow): boolean {
  return a.start < b.end && b.start < a.end;
}

/** The smallest window covering both (W2). */
export function span(a: IntervalWindow, b: IntervalWindow): IntervalWindow {
  return interval(Math.min(a.start, b.start), Math.max(a.end, b.end));
}

/** Orders windows by `(start, end)` (W1). */
export function compareWindows(a: Window, b: Window): number {
  return windowStart(a) - windowStart(b) || windowEnd(a) - windowEnd(b);
}

export function sameWindow(a: Window, b: Window): boolean {
  return compareWindows(a, b) === 0;
}

/** `[start, end)` or `global`, as errors and diffs show a window. */
export function formatWindow(w: Window): string {
  return w.kind === 'interval' ? `[${w.start}, ${w.end})` : 'global';
}

// ---------------------------------------------------------------------------------------------------------------
// Window functions: plain values, made by the factories below and read by `assignWindows`.

export interface FixedWindows {
  readonly kind: 'fixed';
  readonly size: number;
  readonly offset: number;
}

export interface SlidingWindows {
  readonly kind: 'sliding';
  readonly size: number;
  readonly period: number;
  readonly offset: number;
}

export interface SessionWindows {
  readonly kind: 'session';
  readonly gap: number;
}

export interface GlobalWindows {
  readonly kind: 'global';
}

export type WindowFn = FixedWindows | SlidingWindows | SessionWindows | GlobalWindows;

/** Window functions whose windows are intervals of one length (the proto-window's length for sessions). */
export type IntervalWindowFn = FixedWindows | SlidingWindows | SessionWindows;

/** Tumbling windows `[s, s + size)` with `s ≡ offset (mod size)` (W4). Sizes take ms or duration text ('2m'). */
export function fixed(size: Duration, offset: Duration = 0): FixedWindows {
  const sizeMs = positiveMs('size', size, 'W4');
  const offsetMs = durationMs('offset', offset);
  if (offsetMs < 0 || offsetMs >= sizeMs) {
    throw new WindowingError('offset', `must satisfy 0 ≤ offset < size = ${sizeMs} (W4); got ${offsetMs}`);
  }
  return { kind: 'fixed', size: sizeMs, offset: offsetMs };
}

/**
 * Hopping windows of length `size` starting every `period` (W5). Without a period, Beam's default applies
 * ({@link defaultPeriod}). With `period > size` some times fall in no window.
 */
export function sliding(size: Duration, period?: Duration, offset: Duration = 0): SlidingWindows {
  const sizeMs = positiveMs('size', size, 'W5');
  const periodMs = period === undefined ? defaultPeriod(sizeMs) : positiveMs('period', period, 'W5');
  const offsetMs = durationMs('offset', offset);
  if (offsetMs < 0 || offsetMs >= periodMs) {
    throw new WindowingError('offset', `must satisfy 0 ≤ offset < period = ${periodMs} (W5); got ${offsetMs}`);
  }
  return { kind: 'sliding', size: sizeMs, period: periodMs, offset: offsetMs };
}

/** Sessions: each element opens `[t, t + gap)` and overlapping windows of a key merge (W6, W7). */
export function sessions(gap: Duration): SessionWindows {
  return { kind: 'session', gap: positiveMs('gap', gap, 'W6') };
}

/** One window for all of time (W3). */
export function global(): GlobalWindows {
  return { kind: 'global' };
}

const SECOND = 1_000;
const MINUTE = 60_000;
const HOUR = 3_600_000;

/** Beam's period when none is given (W5): 1 h above 1 h, 1 min above 1 min, 1 s above 1 s, else 1 ms. */
export function defaultPeriod(sizeMs: number): number {
  if (sizeMs > HOUR) return HOUR;
  if (sizeMs > MINUTE) return MINUTE;
  if (sizeMs > SECOND) return SECOND;
  return 1;
}

/** Whether windows of this function merge per key (sessions). */
export function isMerging(fn: WindowFn): fn is SessionWindows {
  return fn.kind === 'session';
}

/** The length of every window (proto-window, for sessions) the function assigns. */
export function windowLength(fn: IntervalWindowFn): number {
  switch (fn.kind) {
    case 'fixed':
    case 'sliding':
      return fn.size;
    case 'session':
      return fn.gap;
    default:
      return unreachable(fn);
  }
}

/**
 * Writes the start of each window `t` belongs to into `starts` (from index 0) and returns how many there are; each
 * window is `[start, start + windowLength(fn))`. Allocation-free for callers that reuse `starts` across elements.
 * Sliding windows come latest first, as Beam assigns them. Times within one window length of the bounds are open
 * question Q1 and are not clamped here.
 */
export function assignStarts(fn: IntervalWindowFn, t: number, starts: number[]): number {
  switch (fn.kind) {
    case 'fixed':
      starts[0] = t - floorMod(t - fn.offset, fn.size);
      return 1;
    case 'sliding': {
      let n = 0;
      for (let s = t - floorMod(t - fn.offset, fn.period); s > t - fn.size; s -= fn.period) starts[n++] = s;
      return n;
    }
    case 'session':
      starts[0] = t;
      return 1;
    default:
      return unreachable(fn);
  }
}

/** The windows (proto-windows, for sessions) of an element at time `t` (W3–W6). */
export function assignWindows(fn: WindowFn, t: number): Window[] {
  if (fn.kind === 'global') return [GLOBAL_WINDOW];
  const starts: number[] = [];
  const n = assignStarts(fn, t, starts);
  const length = windowLength(fn);
  const out: Window[] = [];
  for (let i = 0; i < n; i++) out.push(interval(starts[i], starts[i] + length));
  return out;
}

/**
 * The merge sweep of W7: sorts the windows by `(start, end)`, drops duplicates, and groups them so that a window
 * joins the current group iff it intersects the group's running union (strictly: touching windows stay apart, W6).
 * Each group of two or more windows merges into the span of the group.
 */
export function mergeSweep(windows: readonly IntervalWindow[]): IntervalWindow[][] {
  const sorted = [...windows].sort(compareWindows);
  const groups: IntervalWindow[][] = [];
  let unionEnd = Number.NEGATIVE_INFINITY;
  for (const w of sorted) {
    const group = groups.at(-1);
    const last = group?.at(-1);
    if (group === undefined || w.start >= unionEnd) {
      groups.push([w]);
      unionEnd = w.end;
    } else if (last === undefined || !sameWindow(last, w)) {
      group.push(w);
      unionEnd = Math.max(unionEnd, w.end);
    }
  }
  return groups;
}

/** The span of a non-empty group of windows. */
export function spanAll(group: readonly IntervalWindow[]): IntervalWindow {
  return group.reduce(span);
}
