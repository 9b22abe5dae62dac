import type { JoinOn, RelNode } from './rel.ts';
import { keyPairs } from './time-join.ts';

/** Options of `stream.temporalJoin(table, …)`. */
export interface TemporalJoinOptions {
  readonly on: JoinOn;
  /** `'left'` keeps a stream row that finds no version (or a tombstone) as of its time, with nulls on the right. */
  readonly how?: 'inner' | 'left';
  /**
   * A boolean column of the table: a version with it true is a tombstone, the key has no row from its time on (null
   * counts as false). The column is not output.
   */
  readonly deletedWhen?: string;
  /** Event-time columns; absent: each side's contract `eventTime`. */
  readonly leftEventTime?: string;
  readonly rightEventTime?: string;
}

export function temporalJoinNode(left: RelNode, right: RelNode, options: TemporalJoinOptions): RelNode {
  if (options.deletedWhen !== undefined && options.deletedWhen.length === 0) {
    throw new Error('temporalJoin: deletedWhen is empty; name a boolean column of the table, or leave it out');
  }
  return {
    op: 'temporalJoin',
    left,
    right,
    on: keyPairs(options.on, 'temporalJoin'),
    how: options.how ?? 'inner',
    ...(options.deletedWhen === undefined ? {} : { deletedWhen: options.deletedWhen }),
    ...(options.leftEventTime === undefined ? {} : { leftEventTime: options.leftEventTime }),
    ...(options.rightEventTime === undefined ? {} : { rightEventTime: options.rightEventTime }),
  };
}
