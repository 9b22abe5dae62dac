import type { Value } from '../../expr/types.ts';
import { unreachable } from '../../time/invalid.ts';
import type { TimestampCombiner } from '../../time/windowing.ts';
import { type IntervalWindow, maxTs } from '../../time/windows.ts';
import type { MergeRetraction, WindowState } from './types.ts';

/**
 * H5: the element hold of a merge result. `end`: the result's own `maxTs` if any merged window held; `earliest`:
 * the smallest hold; `latest`: the largest. Read before the merged windows release their holds.
 */
export function mergedHold<A, O>(
  combiner: TimestampCombiner,
  u: IntervalWindow,
  olds: readonly WindowState<A, O>[],
): number | null {
  const holds = olds.map((s) => s.hold).filter((h): h is number => h !== null);
  if (holds.length === 0) return null;
  switch (combiner) {
    case 'end':
      return maxTs(u);
    case 'earliest':
      return Math.min(...holds);
    case 'latest':
      return Math.max(...holds);
    default:
      return unreachable(combiner);
  }
}

/**
 * A3, Q7: the retractions a merge result owes: those its merged windows still owed, plus the last emitted value of
 * every merged-away window (`self`, the merged window equal to the result, if any, keeps its value as history).
 * Only retracting mode remembers last values, so other modes owe nothing.
 */
export function mergeRetractions<A, O>(
  key: Value,
  olds: readonly WindowState<A, O>[],
  self: WindowState<A, O> | undefined,
): MergeRetraction<O>[] {
  const out = olds.flatMap((s) => s.retractions);
  for (const s of olds) {
    if (s !== self && s.last !== null)
      out.push({ kind: 'retraction', key, window: s.window, retraction: s.last.value });
  }
  return out;
}
