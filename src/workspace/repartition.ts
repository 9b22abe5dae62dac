import type { Registry } from '../expr/functions.ts';
import type { Schema } from '../expr/types.ts';
import type { Contract } from '../flow/contract.ts';
import { type Dataset, dataset } from '../flow/dataset.ts';
import type { Flow, Output } from '../flow/flow.ts';
import { kafka } from '../flow/kafka-storage.ts';
import { eventTimeOf, inputsOf, joinEventTimes, type RelNode } from '../flow/rel.ts';
import { type BoundFlow, bindFlow } from '../plan/bind.ts';
import type { Stage } from '../plan/stage.ts';
import { assertPartitionLocal, groupingOf, type WorkerPlan, workerPlan } from './worker-plan.ts';

/**
 * One part of a flow run by workers, with its own partitions, consumer group and epoch records (Kafka Streams' sub-
 * topology). A flow whose keyed stages all include the sources' partition key is one part; each stage keyed
 * otherwise starts another, joined to the one before by repartition topics: the part before writes the stage's
 * inputs keyed by the stage's key, the part after reads them from there on.
 */
export interface FlowPart {
  /** Names the part's consumer group (`napkin.<name>`) and the root of its epoch records: `<flow>` or `<flow>/<stage>`. */
  readonly name: string;
  readonly bound: BoundFlow;
  readonly plan: WorkerPlan;
  /** A part that writes repartition topics: their sinks and partition count, for the progress records. */
  readonly writes?: { readonly sinks: readonly string[]; readonly partitions: number };
  /**
   * A part that reads repartition topics: how many upstream partition tasks write each, and after how long one that
   * says nothing counts as idle (the sources' `partitionIdleTimeout`).
   */
  readonly upstream?: { readonly partitions: number; readonly idleMs?: number };
}

/** The Kafka topic into `stage` of `flow` (`<stage>.left`, `.right` for a join's sides): named after stable ids. */
export function repartitionTopic(flow: string, stage: string): string {
  return `napkin.${flow}.${stage}.repartition`;
}

/**
 * Splits a flow for workers over `partitions` partitions: at each stage that keeps state by a key without its input's
 * partition key (an aggregate or dedupe, or a join, whose two sides are then both repartitioned by their join keys),
 * in order, so a flow keyed three ways is three parts. Refuses, saying what to change, a stage downstream of a split
 * that also reads from before it, and a global aggregate over several partitions.
 */
export function splitForWorkers(b: BoundFlow, registry: Registry, partitions: number): FlowPart[] {
  const plan = workerPlan(b);
  if (partitions <= 1) return [{ name: b.flow.name, bound: b, plan }];
  return splitPart(b.flow.name, b, plan, registry, partitions, upstreamOf(plan, partitions), undefined);
}

function splitPart(
  name: string,
  b: BoundFlow,
  plan: WorkerPlan,
  registry: Registry,
  partitions: number,
  idle: NonNullable<FlowPart['upstream']>,
  upstream: FlowPart['upstream'],
): FlowPart[] {
  const reads = upstream === undefined ? {} : { upstream };
  const key = plan.sources[0].key;
  const split = b.stages.find((s) => {
    const g = groupingOf(s);
    return g !== undefined && key.some((k) => !g.includes(k));
  });
  if (split === undefined) {
    assertPartitionLocal(b, plan, partitions);
    return [{ name, bound: b, plan, ...reads }];
  }
  const flow = b.flow.name;
  const node = split.node as RelNode;
  const sides = sidesOf(split, node);
  if (sides.some((x) => x.key.length === 0))
    return refuse(
      b,
      plan,
      partitions,
      `stage ${split.id} aggregates everything into one group, which no partition key divides`,
    );
  const after = downstreamOf(b, split);
  for (const s of b.stages)
    if (after.has(s.id) && s.id !== split.id && s.inputs.some((i) => !after.has(i)))
      throw new Error(
        `flow ${flow}: stage ${s.id} reads both the output of ${split.id}, which workers repartition by (${sides[0].key.join(', ')}), and a stage before it; move that input after ${split.id}, or run the flow with napkin run`,
      );
  const internal = new Map<RelNode, Dataset>();
  for (const side of sides) {
    if (internal.has(side.input)) continue;
    const input = b.stages.find((s) => s.id === split.inputs[side.port]) as Stage;
    const suffix = side.name === undefined ? '' : `.${side.name}`;
    internal.set(
      side.input,
      dataset(`napkin.${flow}.${split.id}${suffix}`.replaceAll('-', '_'), {
        owner: b.flow.owner,
        description: `${flow}: the ${side.name === undefined ? '' : `${side.name} `}input of stage ${split.id}, repartitioned by ${side.key.join(', ')} (internal)`,
        storage: kafka({
          topic: repartitionTopic(flow, `${split.id}${suffix}`),
          brokers: plan.brokers,
          key: [...side.key],
        }),
        contract: internalContract(input.schema as Schema, side.eventTime),
      }),
    );
  }
  const crosses = (o: Output): boolean => o.kind === 'write' && reaches(o.input, node);
  const first: Flow = {
    ...b.flow,
    outputs: [
      ...b.flow.outputs.filter((o) => !crosses(o)),
      ...[...internal].map(
        ([input, ds]): Output => ({ kind: 'write', dataset: ds, input, mode: 'replace', options: {} }),
      ),
    ],
  };
  const memo = new Map<RelNode, RelNode>();
  const by = new Map<RelNode, RelNode>(
    [...internal].map(([input, ds]) => [input, { op: 'read', dataset: ds, onInvalid: 'fail' }]),
  );
  const second: Flow = {
    ...b.flow,
    outputs: b.flow.outputs
      .filter(crosses)
      .map((o) => (o.kind === 'write' ? { ...o, input: replace(o.input, by, memo) } : o)),
  };
  const before = bindChecked(first, registry);
  const rest = bindChecked(second, registry);
  const beforePlan = workerPlan(before);
  assertPartitionLocal(before, beforePlan, partitions);
  const datasets = new Set(internal.values());
  const sinks = before.stages.filter((s) => s.kind === 'sink' && datasets.has(s.dataset as Dataset)).map((s) => s.id);
  return [
    { name, bound: before, plan: beforePlan, writes: { sinks, partitions }, ...reads },
    ...splitPart(`${flow}/${split.id}`, rest, workerPlan(rest), registry, partitions, idle, idle),
  ];
}

/** The inputs of a split stage, each with the key it is repartitioned by and its event-time column. */
interface Side {
  readonly input: RelNode;
  readonly port: number;
  /** `left` or `right` for a join's; none for a single input. */
  readonly name?: string;
  readonly key: readonly string[];
  readonly eventTime: string | undefined;
}

function sidesOf(stage: Stage, node: RelNode): Side[] {
  switch (node.op) {
    case 'aggregate':
      return [{ input: node.input, port: 0, key: groupingOf(stage) ?? [], eventTime: eventTimeOf(node) }];
    case 'dedupe':
      return [{ input: node.input, port: 0, key: node.keys, eventTime: sourceEventTime(node.input) }];
    case 'join':
    case 'windowJoin':
    case 'intervalJoin':
    case 'temporalJoin': {
      const times =
        node.op === 'join'
          ? { left: sourceEventTime(node.left), right: sourceEventTime(node.right) }
          : joinEventTimes(node);
      return [
        { input: node.left, port: 0, name: 'left', key: node.on.map((o) => o.left), eventTime: times.left },
        { input: node.right, port: 1, name: 'right', key: node.on.map((o) => o.right), eventTime: times.right },
      ];
    }
    default:
      throw new Error(`stage ${stage.id}: ${node.op} keeps no state by key`);
  }
}

/** The event-time field of the contract a relation's rows come from (through first inputs). */
function sourceEventTime(node: RelNode): string | undefined {
  let n = node;
  while (n.op !== 'read') n = inputsOf(n)[0];
  return n.dataset.contract?.eventTime;
}

/** The shortest `partitionIdleTimeout` of the sources (none: no upstream partition is ever taken for idle). */
function upstreamOf(plan: WorkerPlan, partitions: number): { readonly partitions: number; readonly idleMs?: number } {
  const timeouts = plan.sources.map((s) => s.storage.partitionIdleMs).filter((x): x is number => x !== undefined);
  return timeouts.length === 0 ? { partitions } : { partitions, idleMs: Math.min(...timeouts) };
}

function refuse(b: BoundFlow, plan: WorkerPlan, partitions: number, why: string): never {
  assertPartitionLocal(b, plan, partitions);
  throw new Error(`flow ${b.flow.name}: ${why}`);
}

/** The rows a repartition topic carries: the split stage's input, keyed by nothing (its key is the record key). */
function internalContract(schema: Schema, eventTime: string | undefined): Contract {
  const time = schema.fields.find((f) => f.name === eventTime && f.type.kind === 'timestamp');
  return {
    schema,
    key: [],
    ...(time === undefined ? {} : { eventTime: time.name }),
    version: 1,
    content: 'closed',
  };
}

/** The stage and every stage that reads it, directly or not. */
function downstreamOf(b: BoundFlow, from: Stage): Set<string> {
  const out = new Set([from.id]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of b.stages)
      if (!out.has(s.id) && s.inputs.some((i) => out.has(i))) {
        out.add(s.id);
        grew = true;
      }
  }
  return out;
}

function reaches(n: RelNode, target: RelNode): boolean {
  return n === target || inputsOf(n).some((i) => reaches(i, target));
}

/** `n` with each node of `by` replaced by its value below it; shared nodes stay shared (the binder names stages by node). */
function replace(n: RelNode, by: ReadonlyMap<RelNode, RelNode>, memo: Map<RelNode, RelNode>): RelNode {
  const direct = by.get(n);
  if (direct !== undefined) return direct;
  const done = memo.get(n);
  if (done !== undefined) return done;
  const ins = inputsOf(n);
  const next = ins.map((i) => replace(i, by, memo));
  const out = next.every((x, i) => x === ins[i]) ? n : withInputs(n, next);
  memo.set(n, out);
  return out;
}

function withInputs(n: RelNode, ins: readonly RelNode[]): RelNode {
  switch (n.op) {
    case 'read':
      return n;
    case 'join':
    case 'windowJoin':
    case 'intervalJoin':
    case 'temporalJoin':
      return { ...n, left: ins[0], right: ins[1] };
    case 'union':
      return { ...n, inputs: ins };
    default:
      return { ...n, input: ins[0] } as RelNode;
  }
}

function bindChecked(f: Flow, registry: Registry): BoundFlow {
  const b = bindFlow(f, registry);
  const error = b.findings.find((x) => x.severity === 'error');
  if (error !== undefined) throw new Error(`flow ${f.name}: its repartitioned parts do not bind: ${error.message}`);
  return b;
}
