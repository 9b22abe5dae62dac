import { fieldIndex, type Schema } from '../../expr/types.ts';
import { joinEventTimes, type RelNode } from '../../flow/rel.ts';
import type { Output, StageMetrics } from '../operator.ts';
import { intervalJoinOperator } from './interval-join.ts';
import { type StatefulOperator, windowJoinOperator } from './window-join.ts';

/** A bound window or interval join as its operator: column names become positions in each side's schema. */
export function buildTimeJoin(
  node: Extract<RelNode, { op: 'windowJoin' | 'intervalJoin' }>,
  left: Schema,
  right: Schema,
  out: Output,
  m: StageMetrics,
): StatefulOperator {
  const times = joinEventTimes(node);
  const shared = new Set(node.on.filter((k) => k.left === k.right).map((k) => k.right));
  const sides = {
    leftKeys: node.on.map((k) => fieldIndex(left, k.left)),
    rightKeys: node.on.map((k) => fieldIndex(right, k.right)),
    // Bind refuses a join without an event time on either side, so both names resolve.
    leftTime: fieldIndex(left, times.left as string),
    rightTime: fieldIndex(right, times.right as string),
    rightOutput: right.fields.map((f, i) => (shared.has(f.name) ? -1 : i)).filter((i) => i >= 0),
    leftWidth: left.fields.length,
    rightWidth: right.fields.length,
  };
  if (node.op === 'intervalJoin') return intervalJoinOperator({ ...sides, from: node.from, to: node.to }, out, m);
  return windowJoinOperator({ ...sides, how: node.how, window: node.window }, out, m);
}
