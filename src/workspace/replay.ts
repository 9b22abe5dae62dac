import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { crashPoint } from '../connectors/crash-point.ts';
import { Warehouse } from '../connectors/duckdb/warehouse.ts';
import { resolveBrokers } from '../connectors/kafka/client.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { BoundFlow } from '../plan/bind.ts';
import { flowFingerprint, shortFingerprint } from '../plan/fingerprint.ts';
import type { FlowIO, FlowResult } from '../runtime/execute.ts';
import { EpochRunner, topicInputs } from './epoch-run.ts';
import { type EpochLog, EpochStore } from './epochs.ts';
import { flowIO, type QuarantineBuffer, readsFollowed } from './flow-io.ts';
import { acquireFlowLock } from './flow-lock.ts';
import { type FlowTopics, openFlowTopics } from './flow-topics.ts';
import { KafkaEpochStore } from './kafka-epochs.ts';
import { logPrefix } from './kafka-log.ts';
import { assertRunnable, commitQuarantine, logRun, STATE_DIR } from './run.ts';
import { dropOutput, outputExists, switchOutput } from './switch-version.ts';
import type { Topic } from './topic-log.ts';
import { type Build, readVersions, type Versions, writeVersions } from './versions.ts';
import type { Workspace } from './workspace.ts';

/** Where `napkin replay` starts reading each source topic. */
export type ReplayFrom =
  | { readonly kind: 'start' }
  | { readonly kind: 'offset'; readonly offset: number }
  | { readonly kind: 'time'; readonly ms: number; readonly text: string };

export interface ReplayOptions {
  readonly flow: string;
  readonly from: ReplayFrom;
  readonly onProgress?: FlowIO['onProgress'];
  /** One line per step, for people. */
  readonly log?: (line: string) => void;
}

export interface ReplayResult {
  readonly flow: string;
  readonly version: number;
  readonly previous: number;
  /** Per source dataset, the offset the new version's input starts at (on a chunk boundary). */
  readonly from: Readonly<Record<string, number>>;
  readonly result: FlowResult;
  /** One line per output: what it is now and where the previous version is kept. */
  readonly switched: readonly string[];
}

/**
 * Reprocesses a flow from its log into a new version of each of its outputs, then switches them in (issue 5, Kappa).
 * The flow's definition on disk is the new version; the active outputs stay readable and unchanged until the switch.
 * Every step is recorded before it is acted on (versions.json, then the epoch records), so a replay cut by a crash is
 * taken up where it stopped by running `napkin replay` again; `napkin run` refuses the flow until it has finished.
 */
export async function replayFlow(ws: Workspace, options: ReplayOptions): Promise<ReplayResult> {
  assertRunnable(ws, [options.flow]);
  const b = ws.plan.flows.find((f) => f.flow.name === options.flow) as BoundFlow;
  const stateDir = join(ws.root, STATE_DIR);
  const lock = acquireFlowLock(stateDir, b.flow.name, flowFingerprint(b));
  try {
    const warehouse = await Warehouse.open(ws.warehousePath);
    try {
      return await replayLocked(ws, warehouse, b, options);
    } finally {
      warehouse.close();
    }
  } finally {
    lock.release();
  }
}

async function replayLocked(
  ws: Workspace,
  warehouse: Warehouse,
  b: BoundFlow,
  options: ReplayOptions,
): Promise<ReplayResult> {
  const say = options.log ?? (() => undefined);
  const flowDir = join(ws.root, STATE_DIR, 'flows', b.flow.name);
  const fingerprint = flowFingerprint(b);
  const started = new Date();
  let topics: FlowTopics | undefined;
  let store: EpochLog | undefined;
  try {
    topics = await openFlowTopics(ws.root, join(ws.root, STATE_DIR), warehouse, b, ws.project.name, ws.project.log);
    let versions = await readVersions(flowDir);
    const resumable = versions.building?.fingerprint === fingerprint && options.from.kind === 'start';
    if (versions.building !== undefined && !resumable) {
      if (versions.switching === true) {
        throw new Error(
          `flow ${b.flow.name}: version ${versions.building.version} was being switched in when a run stopped; finish that with \`napkin replay ${b.flow.name}\` under version ${shortFingerprint(versions.building.fingerprint)} (no --from)`,
        );
      }
      say(
        `abandoning the unfinished build of version ${versions.building.version} (by ${shortFingerprint(versions.building.fingerprint)}, started ${versions.building.startedAt})`,
      );
    }
    const build: Build = resumable
      ? (versions.building as Build)
      : {
          version: versions.active + 1,
          fingerprint,
          from: await resolveFrom(topics.topics, options.from),
          startedAt: started.toISOString(),
        };
    if (!resumable) {
      versions = { ...withoutBuild(versions), building: build };
      await writeVersions(flowDir, versions);
    }
    const outputs = sinkDatasets(b);
    store = await openEpochLog(ws, flowDir, b.flow.name);
    const runner = runnerFor(ws, warehouse, b, topics, build, store);
    if (versions.switching !== true) {
      await buildVersion(ws, warehouse, b, runner, store, build, (v) => writeVersions(flowDir, v), versions, say);
      // Its sinks write the built version under its own name: closed before that name goes away.
      await runner.close();
      versions = { ...versions, switching: true };
      await writeVersions(flowDir, versions);
      crashPoint('replay-switching');
    } else say(`version ${build.version} is built; switching it in`);
    const switched: string[] = [];
    for (const ds of outputs) {
      switched.push(await switchOutput(ws.root, warehouse, ds, versions.active, build.version));
      crashPoint('replay-switched-one');
    }
    await writeVersions(flowDir, {
      format: 'napkin-output-versions',
      formatVersion: 1,
      active: build.version,
      from: build.from,
    });
    const final = await runner.runSql();
    await logRun(warehouse, randomUUID(), b.flow.name, started, 'succeeded', null, final, fingerprint);
    return {
      flow: b.flow.name,
      version: build.version,
      previous: versions.active,
      from: build.from,
      result: final,
      switched,
    };
  } finally {
    await topics?.close();
    if (store instanceof KafkaEpochStore) await store.close();
  }
}

/**
 * The flow's epoch records: in the state folder, or in `__napkin_epochs` for a project whose log is on Kafka (where
 * `napkin run` keeps them, partition 0: one process runs the flow whole).
 */
async function openEpochLog(ws: Workspace, flowDir: string, flow: string): Promise<EpochLog> {
  const log = ws.project.log;
  if (log === undefined) return new EpochStore(flowDir, flow);
  return KafkaEpochStore.open(resolveBrokers(log.brokers), flow, 0, undefined, logPrefix(log, ws.project.name));
}

/**
 * Runs the new version's epochs into its own outputs up to the end of the log: one epoch that ends the input for a
 * bounded flow, one that leaves it open for a live one (the next `napkin run` goes on from there).
 */
async function buildVersion(
  ws: Workspace,
  warehouse: Warehouse,
  b: BoundFlow,
  runner: EpochRunner,
  store: EpochLog,
  build: Build,
  save: (v: Versions) => Promise<void>,
  versions: Versions,
  say: (line: string) => void,
): Promise<void> {
  const pos = await store.position();
  const started = build.firstEpoch !== undefined && pos.planned !== undefined && pos.planned.epoch >= build.firstEpoch;
  const live = readsFollowed(b.stages);
  if (started) {
    say(`taking up the build of version ${build.version} at epoch ${pos.planned?.epoch}`);
    await runner.start();
    const done = pos.planned?.final === true && pos.committed === pos.planned.epoch;
    if (!done) await runner.epoch({ final: !live, clock: Date.now() });
    return;
  }
  const outputs = sinkDatasets(b);
  for (const ds of outputs) await dropOutput(ws.root, warehouse, ds, build.version);
  const { first, abandoned } = await runner.startNewOutput(true);
  if (abandoned !== undefined)
    say(
      `epoch ${abandoned.epoch} of version ${shortFingerprint(abandoned.fingerprint)} was planned but never committed; it is abandoned (sinks that committed it before the stop keep it in the version being replaced)`,
    );
  await save({ ...versions, building: { ...build, firstEpoch: first } });
  say(
    `building version ${build.version} from ${
      Object.entries(build.from)
        .map(([ds, o]) => `${ds}@${o}`)
        .join(', ') || 'the log'
    } (epoch ${first})`,
  );
  await runner.epoch({ final: !live, clock: Date.now() });
}

function runnerFor(
  ws: Workspace,
  warehouse: Warehouse,
  b: BoundFlow,
  topics: FlowTopics,
  build: Build,
  store: EpochLog,
): EpochRunner {
  const quarantined: QuarantineBuffer = new Map();
  return new EpochRunner({
    bound: b,
    registry: ws.registry,
    io: flowIO(ws.root, warehouse, ws.plan, quarantined, undefined, {
      realClock: readsFollowed(b.stages),
      version: build.version,
    }),
    store,
    inputs: topicInputs(topics.topics, b),
    fingerprint: build.fingerprint,
    from: new Map(Object.entries(build.from)),
    quarantine: (epoch) => commitQuarantine(warehouse, b.flow.name, quarantined, epoch),
  });
}

/** Per source topic, the chunk boundary the new version starts reading at. */
async function resolveFrom(topics: ReadonlyMap<string, Topic>, from: ReplayFrom): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [ds, topic] of topics) {
    const floor = Math.max(0, topic.state.generation);
    if (from.kind === 'start') out[ds] = await topic.chunkStart(floor, floor);
    else if (from.kind === 'offset') out[ds] = await topic.chunkStart(Math.max(floor, from.offset), floor);
    else out[ds] = await topic.chunkStart(Math.max(floor, await topic.offsetForTimestamp(from.ms)), floor);
  }
  return out;
}

function sinkDatasets(b: BoundFlow): Dataset[] {
  const seen = new Map<string, Dataset>();
  for (const s of b.stages) if (s.kind === 'sink' && s.dataset !== undefined) seen.set(s.dataset.name, s.dataset);
  return [...seen.values()];
}

function withoutBuild(v: Versions): Versions {
  const { building: _b, switching: _s, ...rest } = v;
  return rest;
}

/** One version of a flow's outputs, as `napkin versions` lists it. */
export interface OutputVersion {
  readonly version: number;
  readonly state: 'active' | 'kept' | 'building';
  /** The outputs of this version that are stored. */
  readonly outputs: readonly string[];
}

/** The flow's output versions: the active one, the old ones still kept, and a build in progress. */
export async function listVersions(ws: Workspace, flow: string): Promise<OutputVersion[]> {
  assertRunnable(ws, [flow]);
  const b = ws.plan.flows.find((f) => f.flow.name === flow) as BoundFlow;
  const v = await readVersions(join(ws.root, STATE_DIR, 'flows', flow));
  const warehouse = await Warehouse.open(ws.warehousePath);
  try {
    const out: OutputVersion[] = [];
    const last = v.building?.version ?? v.active;
    for (let n = 1; n <= last; n++) {
      const names: string[] = [];
      for (const ds of sinkDatasets(b)) {
        if (n === v.active) names.push(ds.name);
        else if (await outputExists(ws.root, warehouse, ds, n)) names.push(`${ds.name}__v${n}`);
      }
      if (n === v.active) out.push({ version: n, state: 'active', outputs: names });
      else if (n === v.building?.version) out.push({ version: n, state: 'building', outputs: names });
      else if (names.length > 0) out.push({ version: n, state: 'kept', outputs: names });
    }
    return out;
  } finally {
    warehouse.close();
  }
}

/** Drops a kept old version of every output of the flow; the active version and a build in progress are refused. */
export async function dropVersion(ws: Workspace, flow: string, version: number): Promise<string[]> {
  assertRunnable(ws, [flow]);
  const b = ws.plan.flows.find((f) => f.flow.name === flow) as BoundFlow;
  const lock = acquireFlowLock(join(ws.root, STATE_DIR), flow, flowFingerprint(b));
  try {
    const v = await readVersions(join(ws.root, STATE_DIR, 'flows', flow));
    if (version === v.active)
      throw new Error(`version ${version} is the active version of flow ${flow}; only older versions can be dropped`);
    if (version === v.building?.version)
      throw new Error(`version ${version} of flow ${flow} is being built; finish it with \`napkin replay ${flow}\``);
    if (version > v.active)
      throw new Error(`flow ${flow} has no version ${version}; its active version is ${v.active}`);
    const warehouse = await Warehouse.open(ws.warehousePath);
    try {
      const dropped: string[] = [];
      for (const ds of sinkDatasets(b))
        if (await outputExists(ws.root, warehouse, ds, version))
          dropped.push(await dropOutput(ws.root, warehouse, ds, version));
      return dropped;
    } finally {
      warehouse.close();
    }
  } finally {
    lock.release();
  }
}
