import type { Registry } from '../expr/functions.ts';
import type { Schema } from '../expr/types.ts';
import type { Contract } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import type { Flow, Output } from '../flow/flow.ts';
import { kafka } from '../flow/kafka-storage.ts';
import { eventTimeOf, inputsOf, type RelNode } from '../flow/rel.ts';
import { type BoundFlow, bindFlow } from '../plan/bind.ts';
import type { Stage } from '../plan/stage.ts';
import { assertPartitionLocal, groupingOf, type WorkerPlan, type WorkerSource, workerPlan } from './worker-plan.ts';

/**
 * One part of a flow run by workers, with its own partitions, consumer group and epoch records (Kafka Streams' sub-
 * topology). A flow whose keyed stages all include the sources' partition key is one part; one with a stage keyed
 * otherwise is two, joined by a repartition topic: the first writes the stage's input keyed by the stage's key, the
 * second reads it from there on.
 */
export interface FlowPart {
  /** Names the part's consumer group (`napkin.<name>`) and the root of its epoch records: `<flow>` or `<flow>/<stage>`. */
  readonly name: string;
  readonly bound: BoundFlow;
  readonly plan: WorkerPlan;
  /** The part that writes a repartition topic: it and its partition count, for the progress records. */
  readonly writes?: { readonly sink: string; readonly partitions: number };
  /**
   * The part that reads a repartition topic: how many upstream partition tasks write it, and after how long one that
   * says nothing counts as idle (the sources' `partitionIdleTimeout`).
   */
  readonly upstream?: { readonly partitions: number; readonly idleMs?: number };
}

/** The Kafka topic between the two parts of `flow` split at `stage`: named after stable, user-visible ids. */
export function repartitionTopic(flow: string, stage: string): string {
  return `napkin.${flow}.${stage}.repartition`;
}

/**
 * Splits a flow for workers over `partitions` partitions: at the first stage that keeps state by a key without the
 * sources' partition key (one repartition per flow). Refuses, saying what to change, what it cannot split: a join
 * keyed otherwise, a stage downstream of the split that also reads from before it, a second differently keyed stage.
 */
export function splitForWorkers(b: BoundFlow, registry: Registry, partitions: number): FlowPart[] {
  const plan = workerPlan(b);
  const whole: FlowPart = { name: b.flow.name, bound: b, plan };
  if (partitions <= 1) return [whole];
  const key = plan.sources[0].key;
  const split = b.stages.find((s) => {
    const g = groupingOf(s);
    return g !== undefined && key.some((k) => !g.includes(k));
  });
  if (split === undefined) {
    assertPartitionLocal(b, plan, partitions);
    return [whole];
  }
  const flow = b.flow.name;
  const node = split.node as RelNode;
  if (node.op !== 'aggregate' && node.op !== 'dedupe')
    return refuse(b, plan, partitions, `stage ${split.id} joins by a key the sources are not partitioned by`);
  const newKey = groupingOf(split) as readonly string[];
  if (newKey.length === 0)
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
        `flow ${flow}: stage ${s.id} reads both the output of ${split.id}, which workers repartition by (${newKey.join(', ')}), and a stage before it; napkin repartitions a flow once, at one stage: move that input after ${split.id}, or run the flow with napkin run`,
      );
  const input = b.stages.find((s) => s.id === split.inputs[0]) as Stage;
  const internal = dataset(`napkin.${flow}.${split.id}`.replaceAll('-', '_'), {
    owner: b.flow.owner,
    description: `${flow}: the input of stage ${split.id}, repartitioned by ${newKey.join(', ')} (internal)`,
    storage: kafka({ topic: repartitionTopic(flow, split.id), brokers: plan.brokers, key: [...newKey] }),
    contract: internalContract(input.schema as Schema, node.op === 'aggregate' ? eventTimeOf(node) : undefined),
  });
  const read: RelNode = { op: 'read', dataset: internal, onInvalid: 'fail' };
  const crosses = (o: Output): boolean => o.kind === 'write' && reaches(o.input, node);
  const first: Flow = {
    ...b.flow,
    outputs: [
      ...b.flow.outputs.filter((o) => !crosses(o)),
      { kind: 'write', dataset: internal, input: node.input, mode: 'replace', options: {} },
    ],
  };
  const memo = new Map<RelNode, RelNode>();
  const second: Flow = {
    ...b.flow,
    outputs: b.flow.outputs
      .filter(crosses)
      .map((o) => (o.kind === 'write' ? { ...o, input: replace(o.input, node.input, read, memo) } : o)),
  };
  const before = bindChecked(first, registry);
  const rest = bindChecked(second, registry);
  const beforePlan = workerPlan(before);
  assertPartitionLocal(before, beforePlan, partitions);
  const restPlan: WorkerPlan = {
    brokers: plan.brokers,
    sources: [{ dataset: internal, storage: internal.storage as WorkerSource['storage'], key: newKey }],
  };
  assertPartitionLocal(rest, restPlan, partitions);
  const sink = before.stages.find((s) => s.kind === 'sink' && s.dataset === internal) as Stage;
  return [
    { name: flow, bound: before, plan: beforePlan, writes: { sink: sink.id, partitions } },
    { name: `${flow}/${split.id}`, bound: rest, plan: restPlan, upstream: upstreamOf(plan, partitions) },
  ];
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

/** `n` with `target` replaced by `by` below it; shared nodes stay shared (the binder names stages by node). */
function replace(n: RelNode, target: RelNode, by: RelNode, memo: Map<RelNode, RelNode>): RelNode {
  if (n === target) return by;
  const done = memo.get(n);
  if (done !== undefined) return done;
  const ins = inputsOf(n);
  const next = ins.map((i) => replace(i, target, by, memo));
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
