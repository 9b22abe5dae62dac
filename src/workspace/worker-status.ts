import { resolveBrokers } from '../connectors/kafka/client.ts';
import { topicEnds } from '../connectors/kafka/fetch.ts';
import type { BoundFlow } from '../plan/bind.ts';
import type { CommitEntry, OffsetEntry } from './epochs.ts';
import { latestOffsets, readFlowRecords } from './kafka-epochs.ts';
import { scheduleOf } from './live.ts';
import { type FlowPart, splitForWorkers } from './repartition.ts';
import { type Health, judge } from './status.ts';
import { workerGroup } from './worker.ts';
import { workerPlan } from './worker-plan.ts';
import type { Workspace } from './workspace.ts';

/** One partition of a flow run by workers, as its epoch records and its topics say. */
export interface PartitionStatus {
  readonly partition: number;
  /** The last epoch committed, 0 before the first. */
  readonly committed: number;
  /** An epoch planned and not committed yet (under way, or left by a worker that died). */
  readonly inFlight?: number;
  /** The version (fingerprint) of the partition's current output. */
  readonly fingerprint?: string;
  readonly committedAt?: string;
  /** Per source topic: where the committed epochs end, the topic's end, and the records between. */
  readonly inputs: readonly {
    readonly topic: string;
    readonly committed: number;
    readonly end: number;
    readonly lag: number;
  }[];
  /** Caught up (no lag): OK; otherwise the age of its last commit against the SLA. */
  readonly health: Health | 'NEVER RUN';
}

export interface WorkerFlowStatus {
  readonly flow: string;
  readonly group: string;
  readonly slaMs: number;
  /** The partitions of the flow's first part (its sources'). */
  readonly partitions: readonly PartitionStatus[];
  /** Every part of the flow, the first included: two when workers repartition it (see repartition.ts). */
  readonly parts: readonly WorkerPartStatus[];
}

export interface WorkerPartStatus {
  /** `<flow>`, or `<flow>/<stage>` for the part after a repartition. */
  readonly name: string;
  readonly group: string;
  readonly partitions: readonly PartitionStatus[];
}

/**
 * The partitions of a flow run by `napkin worker`, read from `__napkin_epochs` and the source topics' ends (read
 * only: nothing is fenced or joined), for each part of the flow. A partition is healthy while it has nothing left to
 * read, or committed within the SLA.
 */
export async function workerStatus(ws: Workspace, flow: string, now = Date.now()): Promise<WorkerFlowStatus> {
  const b = ws.plan.flows.find((x) => x.flow.name === flow);
  if (b === undefined)
    throw new Error(`unknown flow ${flow}; the project has ${ws.plan.flows.map((x) => x.flow.name).join(', ')}`);
  const plan = workerPlan(b);
  const conn = resolveBrokers(plan.brokers);
  const first = plan.sources[0].storage.topic;
  const count = (await topicEnds(conn, flow, [first])).get(first)?.length ?? 0;
  const slaMs = slaOf(b);
  const parts: WorkerPartStatus[] = [];
  for (const part of splitForWorkers(b, ws.registry, count))
    parts.push({
      name: part.name,
      group: workerGroup(part.name),
      partitions: await partStatus(conn, part, slaMs, now),
    });
  return { flow, group: workerGroup(flow), slaMs, partitions: parts[0].partitions, parts };
}

async function partStatus(
  conn: ReturnType<typeof resolveBrokers>,
  part: FlowPart,
  slaMs: number,
  now: number,
): Promise<PartitionStatus[]> {
  const root = part.name;
  const records = await readFlowRecords(conn, root);
  const topics = part.plan.sources.map((s) => ({ dataset: s.dataset.name, topic: s.storage.topic }));
  const ends = await topicEnds(
    conn,
    part.bound.flow.name,
    topics.map((t) => t.topic),
  );
  const count = ends.get(topics[0].topic)?.length ?? 0;
  const partitions: PartitionStatus[] = [];
  for (let p = 0; p < count; p++) {
    const planned = latestOffsets(records, root, p);
    const commit = records.get(`${root}/${p}/commit`) as CommitEntry | undefined;
    const committedEntry =
      commit === undefined
        ? undefined
        : (records.get(`${root}/${p}/offsets/${commit.epoch}`) as OffsetEntry | undefined);
    const inputs = topics.map(({ dataset, topic }) => {
      const end = ends.get(topic)?.[p] ?? 0;
      const at = committedEntry?.ranges[dataset]?.to ?? 0;
      return { topic, committed: at, end, lag: Math.max(0, end - at) };
    });
    const lagging = inputs.some((i) => i.lag > 0);
    const age = commit === undefined ? Number.POSITIVE_INFINITY : now - Date.parse(commit.committedAt);
    partitions.push({
      partition: p,
      committed: commit?.epoch ?? 0,
      ...(planned !== undefined && planned.epoch > (commit?.epoch ?? 0) ? { inFlight: planned.epoch } : {}),
      ...(planned === undefined ? {} : { fingerprint: planned.fingerprint }),
      ...(commit === undefined ? {} : { committedAt: commit.committedAt }),
      inputs,
      health: commit === undefined && planned === undefined ? 'NEVER RUN' : lagging ? judge(age / slaMs) : 'OK',
    });
  }
  return partitions;
}

/** The tightest SLA of the flow's stages (what its schedule follows). */
function slaOf(b: BoundFlow): number {
  const s = scheduleOf(b);
  return Math.min(...b.stages.filter((x) => x.mode === s.mode).map((x) => x.slaMs));
}
