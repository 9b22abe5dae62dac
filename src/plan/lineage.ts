import { columnsOf } from '../expr/ast.ts';
import { exprLineage } from '../expr/lineage.ts';
import { eventTimeOf, joinEventTimes, type RelNode } from '../flow/rel.ts';
import type { ProjectPlan, StageRef } from './project-plan.ts';
import type { ColumnEdge, DirectSubtype, IndirectSubtype } from './sql/lineage.ts';
import type { Stage } from './stage.ts';

/**
 * Column-level lineage, in OpenLineage's vocabulary: a DIRECT edge means values flow from the input column
 * (IDENTITY, TRANSFORMATION, AGGREGATION); an INDIRECT edge means the input column decides which rows exist
 * (JOIN, GROUP_BY, FILTER, SORT, WINDOW, CONDITIONAL). Edges point one hop back, to the datasets a stage reads;
 * `traceUpstream` and `traceDownstream` follow them across flows.
 */
export type { ColumnEdge } from './sql/lineage.ts';

/** The lineage of one published dataset. */
export interface DatasetLineage {
  readonly dataset: string;
  readonly producer: StageRef;
  /** Per output column, the input columns it is computed from. */
  readonly fields: ReadonlyMap<string, readonly ColumnEdge[]>;
  /** INDIRECT edges that shape every row of the dataset. */
  readonly indirect: readonly ColumnEdge[];
}

type Lineage = { readonly columns: Map<string, ColumnEdge[]>; readonly indirect: ColumnEdge[] };

const STRENGTH: Readonly<Record<string, number>> = { IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2 };

/** Lineage of every dataset written in the project, computed statically from the plan (nothing runs). */
export function projectLineage(plan: ProjectPlan): Map<string, DatasetLineage> {
  const out = new Map<string, DatasetLineage>();
  for (const b of plan.flows) {
    const perStage = new Map<string, Lineage>();
    const byId = new Map(b.stages.map((s) => [s.id, s]));
    for (const s of b.stages) {
      const l = s.node?.op === 'lateRecords' ? lateRecordsLineage(s, byId, perStage) : stageLineage(s, perStage, plan);
      if (l === undefined) continue;
      perStage.set(s.id, l);
      if ((s.kind === 'sink' || s.kind === 'sql') && s.dataset !== undefined) {
        out.set(s.dataset.name, {
          dataset: s.dataset.name,
          producer: { flow: s.flow, stage: s.id },
          fields: l.columns,
          indirect: l.indirect,
        });
      }
    }
  }
  return out;
}

function stageLineage(s: Stage, perStage: Map<string, Lineage>, plan: ProjectPlan): Lineage | undefined {
  if (s.kind === 'sql') return sqlStage(s, plan);
  const inputs = s.inputs.map((i) => perStage.get(i));
  if (inputs.some((i) => i === undefined)) return undefined;
  const ins = inputs as Lineage[];
  if (s.kind === 'sink') return sinkStage(s, ins[0]);
  const node = s.node as RelNode;
  switch (node.op) {
    case 'read': {
      const columns = new Map<string, ColumnEdge[]>();
      for (const f of node.dataset.contract?.schema.fields ?? []) {
        columns.set(f.name, [{ dataset: node.dataset.name, column: f.name, type: 'DIRECT', subtype: 'IDENTITY' }]);
      }
      return { columns, indirect: [] };
    }
    case 'select':
    case 'withColumns': {
      const columns = node.op === 'withColumns' ? new Map(ins[0].columns) : new Map<string, ColumnEdge[]>();
      for (const c of node.columns) {
        const l = exprLineage(c.expr);
        columns.set(c.name, through(ins[0], l.columns, l.kind === 'identity' ? 'IDENTITY' : 'TRANSFORMATION'));
      }
      return { columns, indirect: ins[0].indirect };
    }
    case 'filter':
      return {
        columns: ins[0].columns,
        indirect: merge(ins[0].indirect, indirectOf(ins[0], columnsOf(node.predicate), 'FILTER')),
      };
    case 'dedupe':
      return { columns: ins[0].columns, indirect: merge(ins[0].indirect, indirectOf(ins[0], node.keys, 'FILTER')) };
    case 'aggregate': {
      const columns = new Map<string, ColumnEdge[]>();
      for (const k of node.keys) columns.set(k, ins[0].columns.get(k) ?? []);
      for (const a of node.aggs) columns.set(a.name, through(ins[0], exprLineage(a.agg).columns, 'AGGREGATION'));
      const eventTime = node.windowing === undefined ? undefined : eventTimeOf(node);
      if (eventTime !== undefined) {
        // Window bounds and pane timestamps are computed from each row's event time.
        const fromTime = through(ins[0], [eventTime], 'TRANSFORMATION');
        for (const c of ['window_start', 'window_end', 'event_time']) columns.set(c, fromTime);
      }
      return { columns, indirect: merge(ins[0].indirect, indirectOf(ins[0], node.keys, 'GROUP_BY')) };
    }
    case 'join': {
      // Left columns win on a shared key name: the join keeps the left key column.
      const columns = new Map([...ins[1].columns, ...ins[0].columns]);
      const keys = merge(
        indirectOf(
          ins[0],
          node.on.map((k) => k.left),
          'JOIN',
        ),
        indirectOf(
          ins[1],
          node.on.map((k) => k.right),
          'JOIN',
        ),
      );
      return { columns, indirect: merge(merge(ins[0].indirect, ins[1].indirect), keys) };
    }
    case 'temporalJoin':
      return temporalJoinLineage(node, ins[0], ins[1]);
    case 'windowJoin':
    case 'intervalJoin':
      return timeJoinLineage(node, ins[0], ins[1]);
    case 'union': {
      const columns = new Map<string, ColumnEdge[]>();
      for (const name of ins[0].columns.keys())
        columns.set(
          name,
          ins.reduce<ColumnEdge[]>((acc, l) => merge(acc, l.columns.get(name) ?? []), []),
        );
      return { columns, indirect: ins.reduce<ColumnEdge[]>((acc, l) => merge(acc, l.indirect), []) };
    }
    case 'lateRecords':
      return undefined; // projectLineage handles it: it needs the aggregate's input, not its output
    case 'map': {
      const columns = new Map(ins[0].columns);
      for (const w of Object.keys(node.writes)) columns.set(w, through(ins[0], node.reads, 'TRANSFORMATION'));
      return { columns, indirect: ins[0].indirect };
    }
    default:
      return node satisfies never;
  }
}

/**
 * The dropped records of a windowed aggregate carry its input's columns unchanged; their window comes from the event
 * time, which also decides which records are late.
 */
function lateRecordsLineage(
  s: Stage,
  byId: ReadonlyMap<string, Stage>,
  perStage: ReadonlyMap<string, Lineage>,
): Lineage | undefined {
  const agg = byId.get(s.inputs[0]);
  const input = agg === undefined ? undefined : perStage.get(agg.inputs[0]);
  if (agg?.node?.op !== 'aggregate' || input === undefined) return undefined;
  const eventTime = eventTimeOf(agg.node);
  const time = eventTime === undefined ? [] : [eventTime];
  const columns = new Map(input.columns);
  const fromTime = through(input, time, 'TRANSFORMATION');
  columns.set('window_start', fromTime);
  columns.set('window_end', fromTime);
  columns.set('drop_reason', []);
  return { columns, indirect: merge(input.indirect, indirectOf(input, time, 'FILTER')) };
}

/**
 * As the hash join: columns come DIRECT from their side. Besides the keys, both event times and the tombstone flag
 * decide which version a row meets (or whether it meets one), so they are INDIRECT JOIN edges too.
 */
function temporalJoinLineage(node: Extract<RelNode, { op: 'temporalJoin' }>, left: Lineage, right: Lineage): Lineage {
  const columns = new Map([...right.columns, ...left.columns]);
  const flag = node.deletedWhen;
  if (flag !== undefined && !left.columns.has(flag)) columns.delete(flag);
  const times = joinEventTimes(node);
  const leftCols = [...node.on.map((k) => k.left), ...(times.left === undefined ? [] : [times.left])];
  const rightCols = [
    ...node.on.map((k) => k.right),
    ...(times.right === undefined ? [] : [times.right]),
    ...(flag === undefined ? [] : [flag]),
  ];
  const keys = merge(indirectOf(left, leftCols, 'JOIN'), indirectOf(right, rightCols, 'JOIN'));
  return { columns, indirect: merge(merge(left.indirect, right.indirect), keys) };
}

/**
 * A window or interval join: the hash join's lineage, plus each side's event time deciding which pairs exist (WINDOW
 * for a window join, JOIN for an interval join, where it is part of the condition); a window join's bounds are
 * computed from the event times of both sides.
 */
function timeJoinLineage(
  node: Extract<RelNode, { op: 'windowJoin' | 'intervalJoin' }>,
  left: Lineage,
  right: Lineage,
): Lineage {
  // Left columns win on a shared key name, as in the hash join.
  const columns = new Map([...right.columns, ...left.columns]);
  const times = joinEventTimes(node);
  const leftTime = times.left === undefined ? [] : [times.left];
  const rightTime = times.right === undefined ? [] : [times.right];
  const keys = merge(
    indirectOf(
      left,
      node.on.map((k) => k.left),
      'JOIN',
    ),
    indirectOf(
      right,
      node.on.map((k) => k.right),
      'JOIN',
    ),
  );
  const subtype = node.op === 'windowJoin' ? 'WINDOW' : 'JOIN';
  const byTime = merge(indirectOf(left, leftTime, subtype), indirectOf(right, rightTime, subtype));
  if (node.op === 'windowJoin') {
    const bounds = merge(through(left, leftTime, 'TRANSFORMATION'), through(right, rightTime, 'TRANSFORMATION'));
    columns.set('window_start', bounds);
    columns.set('window_end', bounds);
  }
  return { columns, indirect: merge(merge(merge(left.indirect, right.indirect), keys), byTime) };
}

function sinkStage(s: Stage, input: Lineage): Lineage {
  const columns = new Map<string, ColumnEdge[]>();
  for (const f of s.dataset?.contract?.schema.fields ?? []) columns.set(f.name, input.columns.get(f.name) ?? []);
  return { columns, indirect: input.indirect };
}

function sqlStage(s: Stage, plan: ProjectPlan): Lineage | undefined {
  const a = s.dataset === undefined ? undefined : plan.sql.get(s.dataset.name);
  if (a === undefined) return undefined;
  const columns = new Map<string, ColumnEdge[]>();
  for (const c of a.outputColumns) columns.set(c, [...(a.columns[c] ?? [])]);
  return { columns, indirect: [...a.indirect] };
}

/** The DIRECT edges of `cols` seen through one more step of kind `kind` (the stronger of the two wins). */
function through(input: Lineage, cols: readonly string[], kind: DirectSubtype): ColumnEdge[] {
  const out: ColumnEdge[] = [];
  for (const c of cols) {
    for (const e of input.columns.get(c) ?? []) {
      if (e.type !== 'DIRECT') continue;
      const subtype = STRENGTH[e.subtype] >= STRENGTH[kind] ? e.subtype : kind;
      push(out, { ...e, subtype });
    }
  }
  return out;
}

/** INDIRECT edges of the given subtype for the source columns behind `cols`. */
function indirectOf(input: Lineage, cols: readonly string[], subtype: IndirectSubtype): ColumnEdge[] {
  const out: ColumnEdge[] = [];
  for (const c of cols)
    for (const e of input.columns.get(c) ?? [])
      push(out, { dataset: e.dataset, column: e.column, type: 'INDIRECT', subtype });
  return out;
}

function merge(a: readonly ColumnEdge[], b: readonly ColumnEdge[]): ColumnEdge[] {
  const out = [...a];
  for (const e of b) push(out, e);
  return out;
}

function push(list: ColumnEdge[], e: ColumnEdge): void {
  if (
    !list.some((x) => x.dataset === e.dataset && x.column === e.column && x.type === e.type && x.subtype === e.subtype)
  )
    list.push(e);
}

/** One step of a lineage trace: a column and how it was derived from the step before. */
export interface TraceNode {
  readonly dataset: string;
  readonly column: string;
  readonly edge?: ColumnEdge;
  readonly via?: StageRef;
  readonly children: readonly TraceNode[];
}

/** Follows a column upstream across flows, down to source datasets. */
export function traceUpstream(
  lineage: ReadonlyMap<string, DatasetLineage>,
  dataset: string,
  column: string,
  seen = new Set<string>(),
): TraceNode[] {
  const l = lineage.get(dataset);
  const key = `${dataset}.${column}`;
  if (l === undefined || seen.has(key)) return [];
  seen.add(key);
  const edges = [...(l.fields.get(column) ?? []), ...l.indirect];
  // Values are followed to their sources; an INDIRECT edge (a filter or join key) is shown but not expanded, or
  // every step would repeat the whole history of the rows.
  return edges.map((e) => ({
    dataset: e.dataset,
    column: e.column,
    edge: e,
    via: l.producer,
    children: e.type === 'DIRECT' ? traceUpstream(lineage, e.dataset, e.column, new Set(seen)) : [],
  }));
}

/** Every column computed, directly or through filters and keys, from the given column, across flows. */
export function traceDownstream(
  lineage: ReadonlyMap<string, DatasetLineage>,
  dataset: string,
  column: string,
  seen = new Set<string>(),
): TraceNode[] {
  const key = `${dataset}.${column}`;
  if (seen.has(key)) return [];
  seen.add(key);
  const out: TraceNode[] = [];
  for (const l of lineage.values()) {
    for (const [col, edges] of l.fields) {
      const e = edges.find((x) => x.dataset === dataset && x.column === column);
      if (e !== undefined)
        out.push({
          dataset: l.dataset,
          column: col,
          edge: e,
          via: l.producer,
          children: traceDownstream(lineage, l.dataset, col, new Set(seen)),
        });
    }
    const ind = l.indirect.find((x) => x.dataset === dataset && x.column === column);
    if (ind !== undefined) out.push({ dataset: l.dataset, column: '*', edge: ind, via: l.producer, children: [] });
  }
  return out;
}
