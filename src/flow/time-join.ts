import { parseSignedDuration } from '../time/duration.ts';
import type { Duration } from '../time/invalid.ts';
import type { Windowing } from '../time/windowing.ts';
import type { FixedWindows, SlidingWindows } from '../time/windows.ts';
import type { JoinOn, RelNode } from './rel.ts';

/** Options of `rel.window(fn).join(right, …)`; the left side's event time is the one given to `window()`. */
export interface WindowJoinOptions {
  readonly on: JoinOn;
  /** `'left'` also emits each left row that found no partner in a window, once per window, with nulls on the right. */
  readonly how?: 'inner' | 'left';
  /** The right side's event-time column; absent: its contract's `eventTime`. */
  readonly rightEventTime?: string;
}

/** Options of `left.intervalJoin(right, …)`. */
export interface IntervalJoinOptions {
  readonly on: JoinOn;
  /** Lower bound of `right.time − left.time`, inclusive: ms or signed duration text such as `'-10s'`. */
  readonly from: Duration;
  /** Upper bound of `right.time − left.time`, inclusive, e.g. `'0s'`. */
  readonly to: Duration;
  /** Event-time columns; absent: each side's contract `eventTime`. */
  readonly leftEventTime?: string;
  readonly rightEventTime?: string;
}

/** Join keys as `{ left, right }` pairs; `op` names the method in the error. */
export function keyPairs(on: JoinOn, op: string): { readonly left: string; readonly right: string }[] {
  const pairs = (typeof on === 'string' ? [on] : on).map((k) => (typeof k === 'string' ? { left: k, right: k } : k));
  if (pairs.length === 0) throw new Error(`${op}: name at least one key column in \`on\``);
  return pairs;
}

export function windowJoinNode(
  left: RelNode,
  windowing: Windowing,
  leftEventTime: string | undefined,
  right: RelNode,
  options: WindowJoinOptions,
): RelNode {
  return {
    op: 'windowJoin',
    left,
    right,
    on: keyPairs(options.on, 'window(…).join'),
    how: options.how ?? 'inner',
    window: joinWindow(windowing),
    ...(leftEventTime === undefined ? {} : { leftEventTime }),
    ...(options.rightEventTime === undefined ? {} : { rightEventTime: options.rightEventTime }),
  };
}

/**
 * The window of a window join. Only fixed and sliding windows are the same on both sides; each window is emitted
 * once, at its end, so the pane options of an aggregate have no meaning here and are refused rather than ignored.
 */
function joinWindow(windowing: Windowing): FixedWindows | SlidingWindows {
  const fn = windowing.window;
  if (fn.kind === 'session') {
    throw new Error(
      "window(sessions(…)).join: sessions are formed per key from each side's own rows, so the sides share no window; use fixed() or sliding(), or intervalJoin for rows close in time",
    );
  }
  if (fn.kind === 'global') {
    throw new Error('window(global()).join: the global window spans all time; use rel.join(right, { on }) instead');
  }
  const { trigger, allowedLateness, accumulation, timestampCombiner } = windowing;
  if (
    trigger.kind !== 'default' ||
    allowedLateness !== 0 ||
    accumulation !== 'discarding' ||
    timestampCombiner !== 'end'
  ) {
    throw new Error(
      'window(…).join: a window join emits each window once, when the watermark passes its end; drop trigger, allowedLateness, accumulation and timestampCombiner (they apply to groupBy().agg())',
    );
  }
  return fn;
}

export function intervalJoinNode(left: RelNode, right: RelNode, options: IntervalJoinOptions): RelNode {
  const from = offsetMs('from', options.from);
  const to = offsetMs('to', options.to);
  if (from > to) {
    throw new Error(`intervalJoin: from (${from} ms) is after to (${to} ms), so no pair can match; swap them`);
  }
  return {
    op: 'intervalJoin',
    left,
    right,
    on: keyPairs(options.on, 'intervalJoin'),
    from,
    to,
    ...(options.leftEventTime === undefined ? {} : { leftEventTime: options.leftEventTime }),
    ...(options.rightEventTime === undefined ? {} : { rightEventTime: options.rightEventTime }),
  };
}

function offsetMs(field: string, d: Duration): number {
  if (typeof d === 'number') {
    if (!Number.isSafeInteger(d)) throw new Error(`intervalJoin: ${field} must be integer milliseconds; got ${d}`);
    return d;
  }
  try {
    return parseSignedDuration(d);
  } catch (e) {
    throw new Error(`intervalJoin: ${field}: ${(e as Error).message}`);
  }
}
