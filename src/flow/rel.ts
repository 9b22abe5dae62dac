import type { AggNode, ExprNode } from '../expr/ast.ts';
import { type Agg, col, Expr, type ExprLike, toNode } from '../expr/builders.ts';
import type { Value } from '../expr/types.ts';
import type { StageMode } from '../time/duration.ts';
import { parseDuration } from '../time/duration.ts';
import type { WatermarkStrategy } from '../time/watermarks.ts';
import { resolveWindowing, type Windowing, type WindowingOptions } from '../time/windowing.ts';
import type { FixedWindows, SlidingWindows, WindowFn } from '../time/windows.ts';
import type { FieldSpec } from './contract.ts';
import type { Dataset } from './dataset.ts';
import { type TemporalJoinOptions, temporalJoinNode } from './temporal-join.ts';
import {
  type IntervalJoinOptions,
  intervalJoinNode,
  keyPairs,
  type WindowJoinOptions,
  windowJoinNode,
} from './time-join.ts';

/** What a source does with a record that breaks its dataset's contract. */
export type OnInvalid = 'fail' | 'quarantine';

/** Per-stage settings shown by `napkin draw` and used by `napkin check` and the planner. */
export interface StageOptions {
  /** Latency SLA of this stage, e.g. '30s', '15m', '1d'. Defaults to the flow's SLA. */
  readonly sla?: string;
  readonly owner?: string;
  readonly description?: string;
  /** Forces an execution mode; by default the SLA picks it. `napkin check` warns when it contradicts the SLA. */
  readonly mode?: StageMode;
}

/** Stage identity and settings, common to every relational node. */
export interface StageMeta {
  /** A user-given stage id; unnamed stages get `<op>_<n>` in definition order. */
  readonly id?: string;
  readonly options?: StageOptions;
}

export interface NamedExpr {
  readonly name: string;
  readonly expr: ExprNode;
}

export interface NamedAgg {
  readonly name: string;
  readonly agg: AggNode;
}

/** A user function for `map`: reads the declared columns of one record, returns the declared written columns. */
export type MapFn = (row: Readonly<Record<string, Value>>) => Readonly<Record<string, Value>>;

/**
 * The logical operators of a flow, as plain data. Each node is one stage of the flow.
 * `read` is the only leaf; everything else names its inputs.
 */
export type RelNode = StageMeta &
  (
    | {
        readonly op: 'read';
        readonly dataset: Dataset;
        readonly onInvalid: OnInvalid;
        /** Quarantined records allowed before the run fails: mandatory with quarantine (reliability §4). */
        readonly errorBudget?: number | 'unlimited';
        /** Absent: the source's watermark stays at −∞ until it ends (M5). */
        readonly watermark?: WatermarkStrategy;
      }
    | { readonly op: 'select'; readonly input: RelNode; readonly columns: readonly NamedExpr[] }
    | { readonly op: 'withColumns'; readonly input: RelNode; readonly columns: readonly NamedExpr[] }
    | { readonly op: 'filter'; readonly input: RelNode; readonly predicate: ExprNode }
    | {
        readonly op: 'aggregate';
        readonly input: RelNode;
        readonly keys: readonly string[];
        readonly aggs: readonly NamedAgg[];
        /** Absent: the global window with the default trigger, one row per key at the end of input. */
        readonly windowing?: Windowing;
        /** The event-time column windows are assigned by; absent: the input contract's `eventTime`. */
        readonly eventTime?: string;
      }
    | {
        readonly op: 'join';
        readonly left: RelNode;
        readonly right: RelNode;
        readonly on: readonly { readonly left: string; readonly right: string }[];
        readonly how: 'inner' | 'left';
      }
    | {
        /** Pairs of equal key in the same event-time window (fixed or sliding), emitted when the window closes. */
        readonly op: 'windowJoin';
        readonly left: RelNode;
        readonly right: RelNode;
        readonly on: readonly { readonly left: string; readonly right: string }[];
        readonly how: 'inner' | 'left';
        readonly window: FixedWindows | SlidingWindows;
        /** Absent: the side's contract `eventTime` (see {@link joinEventTimes}). */
        readonly leftEventTime?: string;
        readonly rightEventTime?: string;
      }
    | {
        /** Pairs of equal key with `left.time + from <= right.time <= left.time + to` (ms, inclusive), inner only. */
        readonly op: 'intervalJoin';
        readonly left: RelNode;
        readonly right: RelNode;
        readonly on: readonly { readonly left: string; readonly right: string }[];
        readonly from: number;
        readonly to: number;
        readonly leftEventTime?: string;
        readonly rightEventTime?: string;
      }
    | {
        /** Each left row with the right version of its key valid at the left row's event time (a keyed changelog). */
        readonly op: 'temporalJoin';
        readonly left: RelNode;
        readonly right: RelNode;
        readonly on: readonly { readonly left: string; readonly right: string }[];
        readonly how: 'inner' | 'left';
        /** A boolean right column: true marks a tombstone. */
        readonly deletedWhen?: string;
        readonly leftEventTime?: string;
        readonly rightEventTime?: string;
      }
    | { readonly op: 'union'; readonly inputs: readonly RelNode[] }
    | {
        /** The side output of a windowed aggregate (`input`): the records it dropped, one row per (record, window). */
        readonly op: 'lateRecords';
        readonly input: RelNode;
      }
    | { readonly op: 'dedupe'; readonly input: RelNode; readonly keys: readonly string[] }
    | {
        readonly op: 'map';
        readonly input: RelNode;
        readonly fn: MapFn;
        readonly reads: readonly string[];
        readonly writes: Readonly<Record<string, FieldSpec>>;
      }
  );

export type RelOp = RelNode['op'];

/** The inputs of a node, in port order. */
export function inputsOf(node: RelNode): readonly RelNode[] {
  switch (node.op) {
    case 'read':
      return [];
    case 'join':
    case 'windowJoin':
    case 'intervalJoin':
    case 'temporalJoin':
      return [node.left, node.right];
    case 'union':
      return node.inputs;
    default:
      return [node.input];
  }
}

/** Join keys: one column name used on both sides, several, or explicit `{ left, right }` pairs. */
export type JoinOn = string | readonly (string | { readonly left: string; readonly right: string })[];

/**
 * A relation: an immutable handle on a stage's output. Every method returns a new relation whose last stage is the
 * operator named; nothing runs until `napkin run`.
 * @example
 * read(orders).filter(col('status').eq('paid')).groupBy('country').agg({ revenue: sum(col('amount')) })
 */
export class Rel {
  /** @internal */
  constructor(readonly node: RelNode) {}

  /** Keeps the listed columns and computed ones, in that order. */
  select(...columns: (string | Readonly<Record<string, ExprLike>>)[]): Rel {
    const list: NamedExpr[] = [];
    for (const c of columns) {
      if (typeof c === 'string') list.push({ name: c, expr: col(c).node });
      else list.push(...named(c, 'select'));
    }
    if (list.length === 0) throw new Error('select: name at least one column');
    return new Rel({ op: 'select', input: this.node, columns: list });
  }

  /** Adds or replaces columns; the others pass through. */
  withColumns(columns: Readonly<Record<string, ExprLike>>): Rel {
    const list = named(columns, 'withColumns');
    if (list.length === 0) throw new Error('withColumns: give at least one column');
    return new Rel({ op: 'withColumns', input: this.node, columns: list });
  }

  /** Keeps the rows for which `predicate` is true (null counts as false). */
  filter(predicate: Expr): Rel {
    if (!(predicate instanceof Expr)) throw new Error('filter: give an expression, e.g. col("status").eq("paid")');
    return new Rel({ op: 'filter', input: this.node, predicate: predicate.node });
  }

  /** Groups by key columns; finish with `.agg({...})`. */
  groupBy(...keys: string[]): GroupedRel {
    return new GroupedRel(this.node, keys);
  }

  /**
   * Windows the relation in event time, for a keyed aggregation: `.window(fixed('1h')).groupBy('k').agg({...})`
   * gives one row per pane (key, window, firing); `.window(fixed('1h')).join(right, { on })` is a window join. Event
   * time is the input contract's `eventTime` field unless `options.eventTime` names another timestamp column; the
   * other options default as in `resolveWindowing`.
   */
  window(fn: WindowFn, options: WindowOptions = {}): WindowedRel {
    const { eventTime, ...rest } = options;
    return new WindowedRel(this.node, resolveWindowing({ ...rest, window: fn }), eventTime);
  }

  /** A hash join on key columns. Right-side key columns named like the left ones are not repeated. */
  join(right: Rel, options: { readonly on: JoinOn; readonly how?: 'inner' | 'left' }): Rel {
    const on = keyPairs(options.on, 'join');
    return new Rel({ op: 'join', left: this.node, right: right.node, on, how: options.how ?? 'inner' });
  }

  /**
   * An event-time join of rows close in time: each pair of equal key with `this.time + from <= right.time <=
   * this.time + to` (inclusive; `from` and `to` are signed durations), as soon as both rows have arrived. Inner only.
   * Columns: this relation's, then the right one's (right key columns named like the left ones are not repeated).
   * @example
   * read(payments).intervalJoin(read(orders), { on: 'order_id', from: '-1h', to: '0s' })
   */
  intervalJoin(right: Rel, options: IntervalJoinOptions): Rel {
    return new Rel(intervalJoinNode(this.node, right.node, options));
  }

  /**
   * An event-time temporal join against a keyed changelog: each row of this stream, at event time t, meets the
   * `table` version of its key with the greatest event time ≤ t (the row "as of t"; a `deletedWhen` tombstone means
   * no row). The answer depends on event times only, so batch and stream runs agree. A row is emitted once the
   * table's watermark has passed t. A version or a row behind its own side's watermark is late: dropped and counted.
   * Of two versions with the same key and time, the last received wins. Columns: this relation's, then the table's (key columns named
   * like the left ones are not repeated, `deletedWhen` is dropped).
   * @example
   * read(orders).temporalJoin(read(fxRates), { on: 'currency', how: 'left' })
   */
  temporalJoin(table: Rel, options: TemporalJoinOptions): Rel {
    return new Rel(temporalJoinNode(this.node, table.node, options));
  }

  /** All rows of this relation and the others; schemas must match by column name and type. */
  union(...others: Rel[]): Rel {
    if (others.length === 0) throw new Error('union: give at least one other relation');
    return new Rel({ op: 'union', inputs: [this.node, ...others.map((o) => o.node)] });
  }

  /** Keeps the first row seen for each key. */
  dedupe(...keys: string[]): Rel {
    if (keys.length === 0) throw new Error('dedupe: name the key columns');
    return new Rel({ op: 'dedupe', input: this.node, keys });
  }

  /**
   * The escape hatch: a JavaScript function over one record. `reads` and `writes` declare the columns it uses and
   * produces, so that `napkin check` and lineage still know the path; written columns are added or replaced.
   * It is the slow path (rows are built one at a time); prefer expressions.
   */
  map(
    fn: MapFn,
    declared: { readonly reads: readonly string[]; readonly writes: Readonly<Record<string, FieldSpec>> },
  ): Rel {
    if (Object.keys(declared.writes).length === 0) throw new Error('map: declare the columns it writes');
    return new Rel({ op: 'map', input: this.node, fn, reads: declared.reads, writes: declared.writes });
  }

  /**
   * The records a windowed aggregate dropped instead of counting them in a pane: too late for a window past its
   * allowed lateness (L3, `drop_reason` 'late') or arriving after the window's trigger finished (G16, 'closed').
   * One row per (record, window): the record's columns, then `window_start`, `window_end` and `drop_reason`. Write
   * it to a dataset so that late data is kept, inspectable and replayable instead of vanishing.
   * @example
   * const perMinute = read(clicks).window(fixed('1m'), { allowedLateness: '5m' }).groupBy('user').agg({ n: count() });
   * flow({ ..., outputs: [write(counts, perMinute), write(lateClicks, perMinute.lateRecords())] })
   */
  lateRecords(): Rel {
    if (this.node.op !== 'aggregate' || this.node.windowing === undefined) {
      throw new Error(
        "lateRecords: call it on a windowed aggregate, e.g. read(x).window(fixed('1m')).groupBy('k').agg({...}).lateRecords()",
      );
    }
    return new Rel({ op: 'lateRecords', input: this.node });
  }

  /** Names this stage and sets its SLA, owner or mode. Stateful stages should be named: state keys on the id. */
  stage(id: string, options: StageOptions = {}): Rel {
    if (!/^[a-z_][a-z0-9_]*$/.test(id)) throw new Error(`stage('${id}'): ids are lower-case letters, digits and _`);
    if (options.sla !== undefined) parseDuration(options.sla);
    return new Rel({ ...this.node, id, options });
  }
}

/** Options of {@link Rel.window}: a windowing strategy without its window function, and the event-time column. */
export interface WindowOptions extends Omit<WindowingOptions, 'window'> {
  readonly eventTime?: string;
}

/** The result of `window`: finish with `groupBy(...).agg({...})`. */
export class WindowedRel {
  /** @internal */
  constructor(
    private readonly input: RelNode,
    private readonly windowing: Windowing,
    private readonly eventTime: string | undefined,
  ) {}

  groupBy(...keys: string[]): GroupedRel {
    return new GroupedRel(this.input, keys, { windowing: this.windowing, eventTime: this.eventTime });
  }

  /**
   * A window join: each pair of equal key whose rows fall in the same window (fixed or sliding; each side by its own
   * event time), once per shared window, when the watermark passes the window's end. Columns: left, right (shared
   * key columns once), then `window_start` and `window_end`. Rows for a window already emitted are dropped and
   * counted as `lateDropped`.
   * @example
   * read(clicks).window(fixed('1m')).join(read(views), { on: 'user', how: 'left' })
   */
  join(right: Rel, options: WindowJoinOptions): Rel {
    return new Rel(windowJoinNode(this.input, this.windowing, this.eventTime, right.node, options));
  }
}

/** The result of `groupBy`: finish with `agg`. */
export class GroupedRel {
  /** @internal */
  constructor(
    private readonly input: RelNode,
    private readonly keys: readonly string[],
    private readonly windowed?: { readonly windowing: Windowing; readonly eventTime: string | undefined },
  ) {}

  /**
   * One output row per key: the key columns, then the aggregates in the order given. Windowed, one row per pane:
   * keys, `window_start`, `window_end`, the aggregates, then `pane_timing`, `pane_index`, `pane_is_last` and
   * `event_time` (the pane's timestamp). With `accumulation: 'retracting'` a last column `retraction` tells rows
   * that withdraw an earlier result (the previous pane of the window, just before its new pane, or a session merged
   * into another, with null pane fields) from rows that assert one (A3); a merge write deletes a key whose last row
   * is a retraction.
   */
  agg(aggs: Readonly<Record<string, Agg>>): Rel {
    const list = Object.entries(aggs).map(([name, a]) => ({ name, agg: a.node }));
    if (list.length === 0 && this.keys.length === 0) throw new Error('agg: give at least one aggregate or key');
    const w = this.windowed;
    return new Rel({
      op: 'aggregate',
      input: this.input,
      keys: this.keys,
      aggs: list,
      ...(w === undefined ? {} : { windowing: w.windowing }),
      ...(w?.eventTime === undefined ? {} : { eventTime: w.eventTime }),
    });
  }
}

/**
 * The event-time column of a windowed aggregate: the declared one, else the `eventTime` of the contract its rows
 * come from (through the first input of joins and unions).
 */
export function eventTimeOf(node: Extract<RelNode, { op: 'aggregate' }>): string | undefined {
  return node.eventTime ?? contractEventTime(node.input);
}

/** The event-time columns of both sides of a time-bounded join: the declared ones, else each side's contract's. */
export function joinEventTimes(node: Extract<RelNode, { op: 'windowJoin' | 'intervalJoin' | 'temporalJoin' }>): {
  readonly left: string | undefined;
  readonly right: string | undefined;
} {
  return {
    left: node.leftEventTime ?? contractEventTime(node.left),
    right: node.rightEventTime ?? contractEventTime(node.right),
  };
}

/** The `eventTime` of the contract a relation's rows come from (through the first input of joins and unions). */
function contractEventTime(node: RelNode): string | undefined {
  let n: RelNode = node;
  for (;;) {
    if (n.op === 'read') return n.dataset.contract?.eventTime;
    n = inputsOf(n)[0];
  }
}

function named(columns: Readonly<Record<string, ExprLike>>, op: string): NamedExpr[] {
  return Object.entries(columns).map(([name, e]) => {
    if (name.length === 0) throw new Error(`${op}: a column name is empty`);
    return { name, expr: toNode(e) };
  });
}

/**
 * Reads a dataset: its storage through a connector, each record checked against its contract.
 * @param options.onInvalid `'fail'` (default) stops the run at the first bad record with its file, line and field;
 *   `'quarantine'` sends bad records to the quarantine and counts them, up to `errorBudget`.
 */
export function read(
  ds: Dataset,
  options: {
    readonly onInvalid?: OnInvalid;
    readonly errorBudget?: number | 'unlimited';
    readonly watermark?: WatermarkStrategy;
  } = {},
): Rel {
  if (options.watermark !== undefined && ds.contract?.eventTime === undefined) {
    throw new Error(
      `read(${ds.name}): a watermark strategy needs the contract's eventTime column; declare contract({ eventTime: '…' })`,
    );
  }
  return new Rel({
    op: 'read',
    dataset: ds,
    onInvalid: options.onInvalid ?? 'fail',
    ...(options.errorBudget === undefined ? {} : { errorBudget: options.errorBudget }),
    ...(options.watermark === undefined ? {} : { watermark: options.watermark }),
  });
}
