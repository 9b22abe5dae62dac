/**
 * The bounds of event time (spec §0). napkin keeps Beam's structure (−∞, +∞, and a global window that ends one day
 * before +∞ so that its timers stay below +∞, T3) on the range of safe integers, because times are `number`s (T1).
 */

/** −∞: the initial watermark, "beginning of time" (T2). */
export const MIN_TIMESTAMP = -Number.MAX_SAFE_INTEGER;

/** +∞: the watermark that means "input complete"; `"inf"` in transcripts (T2). */
export const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;

/** The max timestamp of the global window: one standard day below +∞ (T2, T3). */
export const GLOBAL_MAX = MAX_TIMESTAMP - 86_400_000;

/**
 * `a mod m` in `[0, m)` for `m > 0`, also for negative `a` (W4). A truncating `%` alone would put pre-epoch times in a
 * window that does not contain them (F4).
 */
export function floorMod(a: number, m: number): number {
  const r = a % m;
  // `+ 0` turns the −0 that `%` gives for negative multiples into 0, so window bounds never carry a −0.
  return r < 0 ? r + m : r + 0;
}

/** Whether `t` may be an element timestamp: a safe integer in `[MIN_TIMESTAMP, GLOBAL_MAX]` (T4). */
export function isElementTimestamp(t: number): boolean {
  return Number.isSafeInteger(t) && t >= MIN_TIMESTAMP && t <= GLOBAL_MAX;
}

/** Whether `t` may be a watermark or a processing time: a safe integer in `[MIN_TIMESTAMP, MAX_TIMESTAMP]` (T1). */
export function isTime(t: number): boolean {
  return Number.isSafeInteger(t);
}
