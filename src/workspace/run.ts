import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Warehouse } from '../connectors/duckdb/warehouse.ts';
import { resolveBrokers } from '../connectors/kafka/client.ts';
import type { BoundFlow } from '../plan/bind.ts';
import { formatFinding } from '../plan/findings.ts';
import { flowFingerprint, shortFingerprint } from '../plan/fingerprint.ts';
import type { Stage } from '../plan/stage.ts';
import { type FlowIO, type FlowResult, RunError } from '../runtime/execute.ts';
import { EpochRunner, topicInputs } from './epoch-run.ts';
import { EpochStore } from './epochs.ts';
import { flowIO, type QuarantineBuffer, readsFollowed } from './flow-io.ts';
import { acquireFlowLock, type FlowLock } from './flow-lock.ts';
import { type FlowTopics, openFlowTopics } from './flow-topics.ts';
import { KafkaEpochStore } from './kafka-epochs.ts';
import { logPrefix } from './kafka-log.ts';
import { removeLeftovers } from './leftovers.ts';
import { runLive, scheduleOf } from './live.ts';
import { readVersions } from './versions.ts';
import type { Workspace } from './workspace.ts';

/** The project's state folder (locks, ownership epochs; later the log and checkpoints), beside its config. */
export const STATE_DIR = '.napkin';

/** Options of {@link runProject}. */
export interface RunOptions {
  /** Flow names to run; all flows when empty. They run in dependency order whatever the order given. */
  readonly flows?: readonly string[];
  readonly onProgress?: FlowIO['onProgress'];
  /** Epochs of a live flow this often, instead of the interval its stages' modes and SLAs give. */
  readonly epochIntervalMs?: number;
  /** How often a live flow's committed epoch carries a state snapshot (default 30 s; see `EpochContext`). */
  readonly snapshotEveryMs?: number;
  /** Called when a flow starts and after it commits. */
  readonly onFlow?: (event: { readonly flow: string; readonly result?: FlowResult }) => void;
  /** Called with each line the run has to say besides its results (leftovers of killed runs it removed); stderr. */
  readonly onNotice?: (line: string) => void;
}

/**
 * Runs flows in dependency order. A project with check errors does not run (the same findings `napkin check` prints).
 * Each flow commits on its own: its sinks publish atomically, then its quarantined records and its run record are
 * written. The first failing flow stops the run; flows already committed stay committed.
 */
export async function runProject(ws: Workspace, options: RunOptions = {}): Promise<FlowResult[]> {
  const wanted = options.flows ?? [];
  assertRunnable(ws, wanted);
  const flows = ws.plan.flows.filter((b) => wanted.length === 0 || wanted.includes(b.flow.name));
  // One writer per flow: a second process, above all one running another version, is refused before it opens the
  // warehouse or reads a record.
  const locks: FlowLock[] = [];
  try {
    for (const b of flows) locks.push(acquireFlowLock(join(ws.root, STATE_DIR), b.flow.name, flowFingerprint(b)));
    return await runFlows(ws, flows, options);
  } finally {
    for (const l of locks) l.release();
  }
}

/** Refuses a project with check errors (the findings `napkin check` prints), or unknown flow names. */
export function assertRunnable(ws: Workspace, wanted: readonly string[]): void {
  const errors = ws.plan.findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) {
    throw new Error(
      `the project does not pass napkin check (${errors.length} error${errors.length > 1 ? 's' : ''}):\n${errors.map(formatFinding).join('\n')}`,
    );
  }
  const unknown = wanted.filter((n) => !ws.plan.flows.some((b) => b.flow.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `unknown flow(s) ${unknown.join(', ')}; the project has ${ws.plan.flows.map((b) => b.flow.name).join(', ')}`,
    );
  }
}

async function runFlows(ws: Workspace, flows: readonly BoundFlow[], options: RunOptions): Promise<FlowResult[]> {
  const warehouse = await Warehouse.open(ws.warehousePath);
  const results: FlowResult[] = [];
  try {
    for (const b of flows) {
      options.onFlow?.({ flow: b.flow.name });
      const r = await runOne(ws, warehouse, b, options);
      results.push(r);
      options.onFlow?.({ flow: b.flow.name, result: r });
    }
  } finally {
    warehouse.close();
  }
  return results;
}

async function runOne(ws: Workspace, warehouse: Warehouse, b: BoundFlow, options: RunOptions): Promise<FlowResult> {
  const runId = randomUUID();
  const started = new Date();
  const fingerprint = flowFingerprint(b);
  const quarantined: QuarantineBuffer = new Map();
  const io = flowIO(ws.root, warehouse, ws.plan, quarantined, options.onProgress, {
    realClock: readsFollowed(b.stages),
  });
  const stateDir = join(ws.root, STATE_DIR);
  const flowDir = join(stateDir, 'flows', b.flow.name);
  let topics: FlowTopics | undefined;
  let runner: EpochRunner | undefined;
  let kafkaStore: KafkaEpochStore | undefined;
  try {
    const versions = await readVersions(flowDir);
    if (versions.building !== undefined)
      throw new Error(
        `a replay is building version ${versions.building.version} of its outputs (by ${shortFingerprint(versions.building.fingerprint)}, started ${versions.building.startedAt}); finish it with \`napkin replay ${b.flow.name}\` before running the flow`,
      );
    topics = await openFlowTopics(ws.root, stateDir, warehouse, b, ws.project.name, ws.project.log);
    const log = ws.project.log;
    // With napkin's log on Kafka, the epoch records are there too (partition 0: one process runs the flow whole).
    kafkaStore =
      log === undefined
        ? undefined
        : await KafkaEpochStore.open(
            resolveBrokers(log.brokers),
            b.flow.name,
            0,
            undefined,
            logPrefix(log, ws.project.name),
          );
    runner = new EpochRunner({
      bound: b,
      registry: ws.registry,
      io,
      store: kafkaStore ?? new EpochStore(flowDir, b.flow.name),
      inputs: topicInputs(topics.topics, b),
      fingerprint,
      ...(versions.from === undefined ? {} : { from: new Map(Object.entries(versions.from)) }),
      quarantine: (epoch) => commitQuarantine(warehouse, b.flow.name, quarantined, epoch),
      warn: options.onNotice ?? ((line) => process.stderr.write(`${line}\n`)),
      ...(options.snapshotEveryMs === undefined ? {} : { snapshotEveryMs: options.snapshotEveryMs }),
    });
    await removeLeftovers(
      ws.root,
      stateDir,
      warehouse,
      b,
      new EpochStore(join(stateDir, 'flows', b.flow.name), b.flow.name),
      options.onNotice ?? ((line) => process.stderr.write(`${line}\n`)),
    );
    await runner.start();
    if (topics.followed.length === 0) await runner.epoch({ final: true });
    else await runLive(runner, topics.followed, scheduleOf(b, options.epochIntervalMs));
    // A live flow stopped by SIGINT/SIGTERM keeps its output open for the next run, but its sinks close their clients
    // (a Kafka producer's connections would keep the process alive).
    await runner.close();
    const result = await runner.runSql();
    await logRun(warehouse, runId, b.flow.name, started, 'succeeded', null, result, fingerprint);
    return result;
  } catch (e) {
    // Every sink the flow opened is aborted: nothing it staged stays behind, and no connection stays open.
    await runner?.close();
    const message = e instanceof RunError ? e.message : `flow ${b.flow.name}: ${(e as Error).message}`;
    await logRun(warehouse, runId, b.flow.name, started, 'failed', message, undefined, fingerprint).catch(
      () => undefined,
    );
    throw e instanceof RunError ? e : new RunError(message, b.flow.name);
  } finally {
    await topics?.close();
    await kafkaStore?.close();
  }
}

/**
 * Writes the records epoch N quarantined, in one transaction that first removes what an earlier attempt at epoch N
 * wrote (a crash between the two leaves them written once); `null` drops them (a replayed epoch's are committed).
 */
export async function commitQuarantine(
  w: Warehouse,
  flow: string,
  quarantined: QuarantineBuffer,
  epoch: number | null,
): Promise<void> {
  if (epoch === null || quarantined.size === 0) {
    quarantined.clear();
    return;
  }
  const id = `${flow}#${epoch}`;
  await w.transaction(async () => {
    await w.run(`DELETE FROM napkin_meta.quarantine WHERE run_id = $1`, [id]);
    for (const [stage, entries] of quarantined) await w.addQuarantine(origin(id, stage), entries);
  });
  quarantined.clear();
}

function origin(runId: string, s: Stage) {
  return { runId, flow: s.flow, stage: s.id, dataset: s.dataset?.name ?? '' };
}

export async function logRun(
  w: Warehouse,
  runId: string,
  flow: string,
  started: Date,
  status: 'succeeded' | 'failed',
  error: string | null,
  result: FlowResult | undefined,
  fingerprint: string,
): Promise<void> {
  const stages = (result?.stages ?? []).map((s) => ({ stage: s.stage.id, ...s.metrics, location: s.location ?? null }));
  await w.run(
    `INSERT INTO napkin_meta.runs (run_id, flow, started_at, finished_at, status, error, stages, fingerprint)
     VALUES ($1, $2, CAST($3 AS TIMESTAMP), CAST($4 AS TIMESTAMP), $5, $6, CAST($7 AS JSON), $8)`,
    [runId, flow, started.toISOString(), new Date().toISOString(), status, error, JSON.stringify(stages), fingerprint],
  );
}
