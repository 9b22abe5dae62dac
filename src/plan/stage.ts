import type { Schema } from '../expr/types.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { Output, WriteMode } from '../flow/flow.ts';
import type { RelNode } from '../flow/rel.ts';
import type { StageMode } from '../time/duration.ts';

/** The kinds of stage a flow is made of. */
export type StageKind = 'source' | 'transform' | 'sink' | 'sql';

/**
 * One bound stage: an operator of the flow with its id, inputs, output schema and the SLA and mode it runs under.
 * Stage ids are stable: user-given, or `<op>_<n>` numbered in definition order, so redeploys keep their names.
 */
export interface Stage {
  readonly id: string;
  readonly flow: string;
  readonly kind: StageKind;
  /** The relational operator, `write` for sinks, `sql` for SQL models. */
  readonly op: RelNode['op'] | 'write' | 'sql';
  /** Ids of the input stages in port order (within the same flow). */
  readonly inputs: readonly string[];
  /** The output schema; absent when the stage did not bind (see the findings). */
  readonly schema?: Schema;
  readonly sla: string;
  readonly slaMs: number;
  readonly mode: StageMode;
  /** True when the user forced `mode` instead of letting the SLA pick it. */
  readonly modeForced: boolean;
  readonly owner: string;
  /** What the stage does, in one line of DSL-like text. */
  readonly detail: string;
  readonly node?: RelNode;
  readonly output?: Output;
  /** The dataset a source reads or a sink or SQL model writes. */
  readonly dataset?: Dataset;
  readonly writeMode?: WriteMode;
}
