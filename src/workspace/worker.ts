import { setTimeout as sleep } from 'node:timers/promises';
import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  type GroupPartitionsAssigner,
  type GroupPartitionsAssignments,
} from '@platformatic/kafka';
import { crashPoint } from '../connectors/crash-point.ts';
import {
  clientOptions,
  closeClient,
  errorIds,
  isFenced,
  type KafkaConnection,
  kafkaFailure,
  resolveBrokers,
} from '../connectors/kafka/client.ts';
import { createMissingTopics } from '../connectors/kafka/commits.ts';
import { KafkaPartitionInput } from '../connectors/kafka/partition-input.ts';
import { KafkaFencedError } from '../connectors/kafka/sink.ts';
import { FencedError } from '../connectors/postgres/fence.ts';
import type { Schema } from '../expr/types.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { BoundFlow } from '../plan/bind.ts';
import { flowFingerprint, shortFingerprint } from '../plan/fingerprint.ts';
import type { Stage } from '../plan/stage.ts';
import type { FlowIO } from '../runtime/execute.ts';
import type { QuarantineEntry } from '../runtime/quarantine.ts';
import { type EpochInput, EpochRunner } from './epoch-run.ts';
import { openServerSink, storageOf } from './flow-io.ts';
import { flowRecords, KafkaEpochStore } from './kafka-epochs.ts';
import { ensureStateTopic, stateTopic } from './kafka-state.ts';
import { monotonicNow, scheduleOf } from './live.ts';
import { type FlowPart, splitForWorkers } from './repartition.ts';
import { assertRunnable } from './run.ts';
import { type WorkerPlan, workerPlan } from './worker-plan.ts';
import type { Workspace } from './workspace.ts';

export interface WorkerOptions {
  readonly flow: string;
  /** Epochs this often instead of the interval the flow's SLA gives. */
  readonly epochIntervalMs?: number;
  /** How long the group waits for a silent worker before moving its partitions (default 10 s). */
  readonly sessionTimeoutMs?: number;
  /** How often a partition's committed epoch carries a state snapshot (default 30 s; see `EpochContext`). */
  readonly snapshotEveryMs?: number;
  /** One line per event worth telling (a partition taken or released); stderr by default. */
  readonly onNotice?: (line: string) => void;
  /** Stops the worker: its partitions commit a last epoch, then it leaves the group. */
  readonly signal?: AbortSignal;
}

/** What every part's worker of one process shares. */
interface WorkerSettings {
  readonly notice: (line: string) => void;
  readonly sessionMs: number;
  readonly snapshotEveryMs?: number;
}

/** The consumer group of a flow's workers (of one part of it: `<flow>/<stage>`, see repartition.ts). */
export function workerGroup(part: string): string {
  return `napkin.${part.replace('/', '.')}`;
}

/** The partitions of a flow one worker runs: each its own epochs, state, sinks' transactional ids. */
interface Task {
  readonly partition: number;
  readonly runner: EpochRunner;
  readonly store: KafkaEpochStore;
  readonly inputs: readonly KafkaPartitionInput[];
}

/**
 * Runs a flow's partitions as one of its workers (Kafka Streams' model): the workers of a flow form the consumer
 * group `napkin.<flow>`, which splits the partitions of the flow's first Kafka source among them; every other source
 * is read co-partitioned. Each partition runs the flow's epochs on its own (spec reliability §2.1), with its epoch
 * records in Kafka (kafka-epochs.ts) and its sinks committing under the partition's commit keys, so a partition that
 * moves to another worker is taken up there exactly where it was committed: its state is rebuilt by replaying its
 * committed epochs, and the first transactions of the new owner fence the old one.
 *
 * A worker whose flow version differs from the one the partitions' current outputs were written by is refused
 * before it joins, naming both; the group's assignor gives partitions only to members of one version (the
 * Knight Capital guard, fleet-wide). A worker stalled past its session timeout whose partitions were taken over
 * stops with a one-line error when it wakes (a zombie, fenced).
 */
export async function runWorker(ws: Workspace, o: WorkerOptions): Promise<void> {
  assertRunnable(ws, [o.flow]);
  const b = ws.plan.flows.find((x) => x.flow.name === o.flow) as BoundFlow;
  const fingerprint = flowFingerprint(b);
  const plan = workerPlan(b);
  const conn = resolveBrokers(plan.brokers);
  const notice = o.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
  const fetcher = new Consumer({
    ...clientOptions(conn, `napkin-worker-${o.flow}`),
    groupId: `napkin-fetch-${o.flow}`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const session = o.sessionTimeoutMs ?? 10_000;
  const running: { worker: Worker; group: Consumer }[] = [];
  try {
    const partitions = await partitionCounts(fetcher, conn, plan);
    const parts = splitForWorkers(b, ws.registry, partitions);
    for (const part of parts) await assertVersion(conn, part.name, fingerprint);
    // Before any partition is taken: a take-over alone would make the topic with too few partitions.
    for (const part of parts)
      await ensureStateTopic(conn, stateTopic(part.name), partitions, `flow ${part.name}: state snapshots`);
    for (const part of parts)
      if (part.upstream !== undefined)
        for (const src of part.plan.sources) await ensureRepartitionTopic(conn, src.storage.topic, partitions);
    // One stop for every part: a part that fails stops the others, between their epochs.
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    o.signal?.addEventListener('abort', onSignal);
    try {
      for (const part of parts) {
        const group = joinGroupOf(conn, part, fingerprint, session);
        const worker = new Worker(ws, part, conn, fetcher, group, fingerprint, {
          notice,
          sessionMs: session,
          ...(o.snapshotEveryMs === undefined ? {} : { snapshotEveryMs: o.snapshotEveryMs }),
        });
        running.push({ worker, group });
        await join(conn, part, group, worker);
      }
      const interval = scheduleOf(b, o.epochIntervalMs).intervalMs;
      // Every part finishes its last epochs before the first failure, if any, is reported.
      const results = await Promise.allSettled(
        running.map(({ worker }) =>
          worker.run(interval, stop.signal).catch((e: unknown) => {
            stop.abort();
            throw e;
          }),
        ),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    } finally {
      o.signal?.removeEventListener('abort', onSignal);
    }
  } finally {
    for (const { worker } of running) await worker.closeAll();
    for (const { group } of running) {
      // Leaving at once moves the partitions now, not after the session timeout.
      // A member the group already dropped (a stalled one) may get no answer: leaving never holds the exit up.
      await Promise.race([
        new Promise<void>((resolve) => group.leaveGroup(true, () => resolve())),
        sleep(5000, undefined, { ref: false }),
      ]);
      await closeClient(group);
    }
    await closeClient(fetcher);
  }
}

/** A part's consumer group member: its version in the protocol metadata, for the assignor. */
function joinGroupOf(conn: KafkaConnection, part: FlowPart, fingerprint: string, session: number): Consumer {
  return new Consumer({
    ...clientOptions(conn, `napkin-worker-${part.bound.flow.name}`),
    groupId: workerGroup(part.name),
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    sessionTimeout: session,
    rebalanceTimeout: Math.max(session, 30_000),
    heartbeatInterval: Math.max(100, Math.floor(session / 10)),
    protocols: [{ name: 'napkin', version: 1, metadata: Buffer.from(JSON.stringify({ fingerprint })) }],
    partitionAssigner: assignByVersion(fingerprint),
  });
}

async function join(conn: KafkaConnection, part: FlowPart, group: Consumer, worker: Worker): Promise<void> {
  const topic = part.plan.sources[0].storage.topic;
  const name = workerGroup(part.name);
  group.topics.trackAll(topic);
  // The client reports a failed rejoin as an 'error' event: the worker stops with it, between epochs.
  group.on('error', (e: unknown) => worker.fail(kafkaFailure(`flow ${part.name}: consumer group ${name}`, e, conn)));
  group.on(
    'consumer:group:join',
    (p: { generationId: number; assignments?: { topic: string; partitions: number[] }[] }) =>
      worker.assign(p.generationId, p.assignments?.find((a) => a.topic === topic)?.partitions ?? []),
  );
  try {
    await group.joinGroup({});
  } catch (e) {
    throw kafkaFailure(`flow ${part.name}: joining consumer group ${name} failed`, e, conn);
  }
}

/** Creates a repartition topic with the sources' partition count, or checks the one there has it. */
async function ensureRepartitionTopic(conn: KafkaConnection, topic: string, partitions: number): Promise<void> {
  const admin = new Admin(clientOptions(conn, 'napkin-admin-repartition'));
  try {
    // Kept whole: a partition that moves replays its epochs since its last state snapshot from it, and with
    // `--snapshot-every never` its whole output.
    const keep = [{ name: 'retention.ms', value: '-1' }];
    await createMissingTopics(admin, [{ name: topic, partitions, configs: keep }], conn, `repartition topic ${topic}`);
    const meta = await admin.metadata({ topics: [topic], forceUpdate: true });
    const count = meta.topics.get(topic)?.partitionsCount ?? 0;
    if (count !== partitions)
      throw new Error(
        `repartition topic ${topic} has ${count} partitions, and the flow's sources ${partitions}: they must match (the topic is napkin's own: delete it while no worker runs, and napkin creates it again)`,
      );
  } finally {
    await admin.close().catch(() => undefined);
  }
}

class Worker {
  private readonly tasks = new Map<number, Task>();
  private assigned: readonly number[] = [];
  private generation = -1;
  private readonly clock = monotonicNow();
  /** Partitions let go after a fence, by the generation then: not taken again until the group moves on. */
  private readonly letGo = new Map<number, { readonly generation: number; readonly at: number }>();
  private readonly stall = new StallWatch();
  private failure: Error | undefined;
  /** Per partition, the transactions in a row the brokers failed with an unknown outcome. */
  private readonly unsettled = new Map<number, number>();

  private readonly b: BoundFlow;
  private readonly plan: WorkerPlan;

  constructor(
    private readonly ws: Workspace,
    private readonly part: FlowPart,
    private readonly conn: KafkaConnection,
    private readonly fetcher: Consumer,
    private readonly group: Consumer,
    private readonly fingerprint: string,
    private readonly settings: WorkerSettings,
  ) {
    this.b = part.bound;
    this.plan = part.plan;
  }

  private notice(line: string): void {
    this.settings.notice(line);
  }

  private get sessionMs(): number {
    return this.settings.sessionMs;
  }

  /** Stops the worker at its next step with `e`. */
  fail(e: Error): void {
    this.failure ??= e;
  }

  assign(generation: number, partitions: readonly number[]): void {
    this.generation = generation;
    this.assigned = [...partitions].sort((a, b) => a - b);
  }

  /** Epochs of every partition on the schedule, until the signal (SIGINT/SIGTERM by default). */
  async run(intervalMs: number, signal: AbortSignal | undefined): Promise<void> {
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    signal?.addEventListener('abort', onSignal);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    this.stall.start();
    try {
      while (!stop.signal.aborted) {
        if (this.failure !== undefined) throw this.failure;
        await this.reconcile();
        for (const t of [...this.tasks.values()]) await this.epochOf(t, stop.signal.aborted);
        const wait = Number.isFinite(intervalMs) ? intervalMs : 1000;
        await sleep(wait, undefined, { signal: stop.signal }).catch(() => undefined);
      }
      // A last epoch of each partition commits what was read, without ending the input: the next owner goes on.
      for (const t of [...this.tasks.values()]) await this.epochOf(t, true);
    } finally {
      this.stall.stop();
      signal?.removeEventListener('abort', onSignal);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  async closeAll(): Promise<void> {
    for (const t of [...this.tasks.values()]) await this.release(t, undefined);
  }

  /** Releases the partitions the group took away, takes the ones it gave. */
  private async reconcile(): Promise<void> {
    const wanted = new Set(this.assigned);
    for (const t of [...this.tasks.values()]) if (!wanted.has(t.partition)) await this.release(t, 'reassigned');
    for (const p of this.assigned) if (!this.tasks.has(p) && !this.waiting(p)) await this.tryTake(p);
  }

  /**
   * Takes a partition up; taking it can commit a regenerated epoch, which a rebalance under way or a newer owner
   * interrupts like any epoch: the partition is let go until the group's next generation, and the worker goes on.
   */
  private async tryTake(partition: number): Promise<void> {
    const generation = this.generation;
    try {
      await this.take(partition);
    } catch (e) {
      const why = interruption(e);
      if (why === undefined) throw e;
      this.letGo.set(partition, { generation, at: Date.now() });
      this.notice(`flow ${this.part.name}: partition ${partition} not taken: ${firstLine(e)}`);
    }
  }

  /** Whether a partition let go after a fence waits for the group's next generation (at most two session timeouts). */
  private waiting(partition: number): boolean {
    const l = this.letGo.get(partition);
    if (l === undefined) return false;
    if (l.generation === this.generation && Date.now() - l.at < 2 * this.sessionMs) return true;
    this.letGo.delete(partition);
    return false;
  }

  private async take(partition: number): Promise<void> {
    const started = Date.now();
    const flow = this.part.name;
    const topics = new Map(this.plan.sources.map((s) => [s.dataset.name, s.storage.topic]));
    const store = await KafkaEpochStore.open(this.conn, flow, partition, { consumer: this.group, topics });
    let runner: EpochRunner | undefined;
    try {
      const pos = await store.position();
      if (pos.planned !== undefined && pos.planned.fingerprint !== this.fingerprint)
        throw versionError(flow, partition, pos.planned.fingerprint, this.fingerprint);
      const inputs = this.plan.sources.map(
        (s) =>
          new KafkaPartitionInput(
            this.fetcher,
            this.conn,
            s.storage,
            s.dataset.name,
            s.dataset.contract as NonNullable<Dataset['contract']>,
            partition,
            this.part.upstream,
          ),
      );
      for (const i of inputs) await i.open();
      const quarantined = new Map<Stage, QuarantineEntry[]>();
      runner = new EpochRunner({
        bound: this.b,
        registry: this.ws.registry,
        io: this.io(partition, quarantined),
        store,
        inputs: new Map(inputs.map((i) => [i.dataset, asEpochInput(i)])),
        fingerprint: this.fingerprint,
        partition: String(partition),
        warn: (line) => this.notice(line),
        ...(this.settings.snapshotEveryMs === undefined ? {} : { snapshotEveryMs: this.settings.snapshotEveryMs }),
        quarantine: async (epoch) => {
          if (epoch !== null) store.stageQuarantine([...quarantined].map(([s, entries]) => ({ stage: s.id, entries })));
          quarantined.clear();
        },
      });
      await runner.start();
      crashPoint('worker-taken');
      this.tasks.set(partition, { partition, runner, store, inputs });
      this.notice(
        `flow ${flow}: partition ${partition} taken (${takenHow(runner, pos.committed)}, ${Date.now() - started} ms)`,
      );
    } catch (e) {
      // A take-over cut short (a regenerated epoch interrupted) may have opened sinks: their producers would keep
      // the process alive after the worker stops.
      await runner?.close().catch(() => undefined);
      await store.close();
      throw e;
    }
  }

  private async release(t: Task, why: string | undefined): Promise<void> {
    this.tasks.delete(t.partition);
    await t.runner.close().catch(() => undefined);
    await t.store.close();
    if (why !== undefined) this.notice(`flow ${this.part.name}: partition ${t.partition} released (${why})`);
  }

  /**
   * One epoch of a partition over what its inputs hold now. The group moving on (a rebalance under way: the epoch's
   * group offsets are refused as of an old generation) or having moved the partition away ends the partition here:
   * its epoch is left to whoever owns it next, who regenerates it. A fence met while this worker still holds the
   * partition means it was stalled past its session timeout and another worker took over: the worker stops.
   */
  private async epochOf(t: Task, last: boolean): Promise<void> {
    const generation = this.generation;
    const started = Date.now();
    try {
      for (const i of t.inputs) await i.refresh();
      await t.runner.epoch({ final: false, clock: this.clock() });
      this.unsettled.delete(t.partition);
    } catch (e) {
      // Stalled past the session timeout (paused, swapped out), the worker's connections may have died under it: a
      // request that failed for no reason the brokers named has an unknown outcome, settled by taking the partition
      // up again from what is committed (the group has likely moved it meanwhile, and the release lets it go).
      const stalled = this.stall.since(started - this.sessionMs) > this.sessionMs;
      const why = interruption(e) ?? (stalled ? 'unsettled' : undefined);
      if (why === undefined) throw e;
      if (why === 'unsettled') {
        // The brokers failed a transaction whose outcome is unknown: take the partition up again from what is
        // committed (opening settles the transaction), at most a few times in a row.
        const n = (this.unsettled.get(t.partition) ?? 0) + 1;
        if (n > 3) throw e;
        this.unsettled.set(t.partition, n);
        await this.release(t, `${firstLine(e)}; taking it up again from its committed epochs`);
        return;
      }
      // Stalled past the session timeout (this process was paused): the group has moved on without it. A zombie.
      if (why === 'fenced' && this.stall.since(started - this.sessionMs) > this.sessionMs && !last)
        throw new Error(
          `fenced: flow ${this.part.name} partition ${t.partition}: this worker was stalled for ${(this.stall.since(started - this.sessionMs) / 1000).toFixed(1)} s, past its ${this.sessionMs / 1000} s session timeout, and another worker took the partition over; it stops without committing its epoch; start it again to rejoin the group (${firstLine(e)})`,
        );
      // The group moved the partition while the epoch ran, and this worker has not heard yet: let it go until the
      // group's next generation, so the two owners do not take it from each other in turn.
      this.letGo.set(t.partition, { generation, at: Date.now() });
      await this.release(t, why === 'rebalance' ? 'a rebalance is under way' : 'taken over by its new owner');
    }
  }

  private io(partition: number, quarantined: Map<Stage, QuarantineEntry[]>): FlowIO {
    const plan = this.ws.plan;
    const flow = this.b;
    const writes = this.part.writes;
    return {
      async openSource(s: Stage) {
        throw new Error(`stage ${s.id}: a worker reads its sources by partition only`);
      },
      async openSink(s: Stage) {
        const st = storageOf(s.dataset as Dataset);
        if (st.kind !== 'postgres' && st.kind !== 'kafka')
          throw new Error(`stage ${s.id}: a worker writes Kafka topics and PostgreSQL tables only`);
        const input = flow.stages.find((x) => x.id === s.inputs[0])?.schema as Schema;
        const progress =
          writes?.sinks.includes(s.id) === true ? { from: partition, partitions: writes.partitions } : undefined;
        return openServerSink(plan, s, st, input, String(partition), progress);
      },
      async runSql(s: Stage): Promise<{ rows: number; location: string }> {
        throw new Error(`stage ${s.id}: a worker runs no SQL model`);
      },
      sqlInputs: () => [],
      quarantine(s: Stage, entries: readonly QuarantineEntry[]) {
        const list = quarantined.get(s) ?? [];
        list.push(...entries);
        quarantined.set(s, list);
      },
    };
  }
}

function asEpochInput(i: KafkaPartitionInput): EpochInput {
  return {
    get start() {
      return i.start;
    },
    get end() {
      return i.end;
    },
    open: (range) => i.read(range),
    snapshot: () => i.snapshot(),
    restore: (state) => i.restore(state),
  };
}

/** How a take-over rebuilt a partition's state: from a snapshot and/or by replaying epochs. */
function takenHow(runner: EpochRunner, committed: number): string {
  const parts = [`epoch ${committed} committed`];
  if (runner.restoredFrom !== undefined) parts.push(`state restored from the snapshot of epoch ${runner.restoredFrom}`);
  const rebuilt = runner.replayed + runner.regenerated;
  if (rebuilt > 0) parts.push(`${rebuilt} epoch(s) replayed`);
  return parts.join(', ');
}

/** Refuses a worker whose version differs from the one any partition's current output was written by. */
async function assertVersion(conn: KafkaConnection, part: string, fingerprint: string): Promise<void> {
  const records = await flowRecords(conn, part);
  for (const [p, e] of [...records.planned].sort((x, y) => x[0] - y[0]))
    if (e.fingerprint !== fingerprint) throw versionError(part, p, e.fingerprint, fingerprint);
}

function versionError(flow: string, partition: number, theirs: string, ours: string): Error {
  return new Error(
    `flow ${flow}: refused: partition ${partition}'s current output was written by version ${shortFingerprint(theirs)}, and this worker runs version ${shortFingerprint(ours)}; workers of two versions never share a flow. Stop every worker of version ${shortFingerprint(theirs)} and roll the new version out as a new output, or start this worker from version ${shortFingerprint(theirs)}'s definition`,
  );
}

/**
 * The group's assignor (run by its leader): partitions go, round robin in member-id order, only to members of one
 * flow version: the leader's own when any member runs it, otherwise the version most members run. Members of another
 * version get none.
 */
export function assignByVersion(own: string): GroupPartitionsAssigner {
  return (_current, members, topics, metadata) => {
    const versionOf = (m: { metadata?: Buffer | string }): string => {
      try {
        const raw = m.metadata === undefined ? '' : m.metadata.toString();
        return (JSON.parse(raw) as { fingerprint?: string }).fingerprint ?? '';
      } catch {
        return '';
      }
    };
    const all = [...members.values()].sort((a, b) => (a.memberId < b.memberId ? -1 : 1));
    const counts = new Map<string, number>();
    for (const m of all) counts.set(versionOf(m), (counts.get(versionOf(m)) ?? 0) + 1);
    const chosen = counts.has(own) ? own : [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
    const eligible = all.filter((m) => versionOf(m) === chosen);
    const out: GroupPartitionsAssignments[] = all.map((m) => ({ memberId: m.memberId, assignments: new Map() }));
    const byId = new Map(out.map((a) => [a.memberId, a]));
    for (const topic of topics) {
      const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
      for (let p = 0; p < count && eligible.length > 0; p++) {
        const a = byId.get(eligible[p % eligible.length].memberId) as GroupPartitionsAssignments;
        const list = a.assignments.get(topic) ?? { topic, partitions: [] };
        list.partitions.push(p);
        a.assignments.set(topic, list);
      }
    }
    return out;
  };
}

/** The partition count of every source topic: they must be equal (co-partitioned). */
async function partitionCounts(fetcher: Consumer, conn: KafkaConnection, plan: WorkerPlan): Promise<number> {
  const topics = plan.sources.map((s) => s.storage.topic);
  let meta: Awaited<ReturnType<Consumer['metadata']>>;
  try {
    meta = await fetcher.metadata({ topics, autocreateTopics: false, forceUpdate: true });
  } catch (e) {
    throw kafkaFailure(`looking up topics ${topics.join(', ')} failed`, e, conn, 'create the topics first');
  }
  const counts = topics.map((t) => meta.topics.get(t)?.partitionsCount ?? 0);
  const missing = topics.filter((_, i) => counts[i] === 0);
  if (missing.length > 0) throw new Error(`kafka topic(s) ${missing.join(', ')} do not exist; create them first`);
  if (new Set(counts).size > 1)
    throw new Error(
      `the flow's Kafka sources are not co-partitioned: ${topics.map((t, i) => `${t} has ${counts[i]}`).join(', ')} partitions; give them the same partition count (and the same key)`,
    );
  return counts[0];
}

/**
 * Watches the event loop for stalls (the process paused by SIGSTOP, a debugger, a swap storm): a timer that should
 * tick every 100 ms measures the longest gap since a given time. The gap up to now counts too, so a stall is seen
 * even before the timer runs again after it.
 */
class StallWatch {
  private timer: NodeJS.Timeout | undefined;
  private last = Date.now();
  private readonly gaps: { readonly at: number; readonly ms: number }[] = [];

  start(): void {
    this.last = Date.now();
    this.timer = setInterval(() => {
      const now = Date.now();
      if (now - this.last > 1000) this.gaps.push({ at: now, ms: now - this.last });
      if (this.gaps.length > 100) this.gaps.shift();
      this.last = now;
    }, 100);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The longest stall since `t` (ms). */
  since(t: number): number {
    let longest = Date.now() - this.last;
    for (const g of this.gaps) if (g.at >= t) longest = Math.max(longest, g.ms);
    return longest;
  }
}

/**
 * Why an epoch failed, when it is not a fault of the flow: `fenced`, a newer owner's transactions or PostgreSQL fence
 * took over; `rebalance`, the group's generation moved on (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
 * REBALANCE_IN_PROGRESS on the group offsets); `unsettled`, the transaction coordinator failed a request whose
 * outcome it does not say (UNKNOWN_SERVER_ERROR on EndTxn was met while another owner took the id over,
 * CONCURRENT_TRANSACTIONS, a coordinator moving).
 */
function interruption(e: unknown): 'fenced' | 'rebalance' | 'unsettled' | undefined {
  const text: string[] = [];
  for (let x: unknown = e; x instanceof Error; x = (x as { cause?: unknown }).cause) {
    if (x instanceof KafkaFencedError || x instanceof FencedError) return 'fenced';
    text.push(x.message);
  }
  const ids = new Set([...errorIds(e), ...text.flatMap((m) => m.match(/\b[A-Z][A-Z_]{5,}\b/g) ?? [])]);
  if (
    isFenced(e) ||
    ids.has('PRODUCER_FENCED') ||
    ids.has('INVALID_PRODUCER_EPOCH') ||
    text.some((m) => /(^|: )fenced: /.test(m))
  )
    return 'fenced';
  if (
    ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID'].some((id) => ids.has(id))
  )
    return 'rebalance';
  if (UNSETTLED.some((id) => ids.has(id))) return 'unsettled';
  return undefined;
}

const UNSETTLED = [
  'UNKNOWN_SERVER_ERROR',
  'CONCURRENT_TRANSACTIONS',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'REQUEST_TIMED_OUT',
];

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0];
}
