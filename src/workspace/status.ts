/**
 * `napkin status` (spec reliability §6): per flow and stage, where the flow stands against its SLA, read from what
 * the running process leaves on disk — its lock, its epoch records, its topics, its output versions — and from the
 * warehouse's run log (with the log on Kafka, the epoch records are read from `__napkin_epochs`, read_committed). Everything is read without a lock and nothing is written: a process running the flow is not
 * disturbed, and files it replaces (always whole, by rename) while they are read are read again.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Warehouse, WarehouseBusyError } from '../connectors/duckdb/warehouse.ts';
import { type KafkaConnection, resolveBrokers } from '../connectors/kafka/client.ts';
import { topicEnds } from '../connectors/kafka/fetch.ts';
import type { KafkaLogConfig } from '../flow/kafka-storage.ts';
import type { BoundFlow } from '../plan/bind.ts';
import { flowFingerprint } from '../plan/fingerprint.ts';
import type { Stage } from '../plan/stage.ts';
import type { StageMode } from '../time/duration.ts';
import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../time/timestamps.ts';
import { readJson } from './durable-json.ts';
import { type CheckpointManifest, type CommitEntry, EpochStore, type OffsetEntry } from './epochs.ts';
import { storageOf } from './flow-io.ts';
import { type FlowOwner, lockFile, ownerAlive, readOwner } from './flow-lock.ts';
import { epochsRoot, latestOffsets, readFlowRecords } from './kafka-epochs.ts';
import { kafkaTopicOf, logPrefix } from './kafka-log.ts';
import { STATE_DIR } from './run.ts';
import { type TopicLag, topicLag } from './topic-lag.ts';
import { type Build, readVersions } from './versions.ts';
import type { Workspace } from './workspace.ts';

/** Against the SLA: below 80% of it, up to it, past it; or nothing committed yet. */
export type Health = 'OK' | 'AT RISK' | 'BREACHED' | 'NEVER RUN';

/** Records in, out, quarantined and dropped as late (reliability §6). */
export interface Counts {
  readonly in: number;
  readonly out: number;
  readonly quarantined: number;
  readonly lateDropped: number;
}

export interface StageStatus {
  readonly stage: string;
  readonly kind: string;
  readonly mode: StageMode;
  readonly sla: string;
  /** Lag and watermark delay against the stage's SLA. */
  readonly health: Health;
  readonly reason: string;
  /**
   * Counts of the current output, summed over its committed epochs (from the last checkpoint: replays never inflate
   * them); of the last run where there is no checkpoint, and for SQL models (they run after the epochs).
   */
  readonly counts?: Counts;
  readonly countsFrom?: 'checkpoint' | 'last run';
  /** Records of the topics upstream of the stage that no committed epoch covers, and the age of the oldest. */
  readonly lag?: { readonly records: number; readonly ageMs?: number };
  /**
   * The watermark the stage had passed on at the last checkpoint, and how far processing time is past it now (the
   * watermark delay). `complete`: its input has ended (the watermark reached +∞).
   */
  readonly watermark?: { readonly complete: true } | { readonly at: string; readonly delayMs: number };
}

/** Where a source dataset's topic stands against the flow's last committed epoch. */
export type SourceStatus =
  | (TopicLag & { readonly state: 'ok' })
  | { readonly dataset: string; readonly state: 'no log yet' }
  /**
   * A project whose log is on Kafka: where the committed epochs end in the topic and the topic's last stable offset.
   * Offsets, not records: transaction markers take one each, so records behind are fewer than `end − committed`.
   */
  | {
      readonly dataset: string;
      readonly state: 'on kafka';
      readonly topic: string;
      readonly committed?: number;
      readonly end?: number;
    }
  | { readonly dataset: string; readonly state: 'unreadable'; readonly error: string };

export interface FlowStatus {
  readonly flow: string;
  readonly sla: string;
  readonly health: Health;
  /** One line saying why. */
  readonly reason: string;
  /** The fingerprint of the definition on disk now. */
  readonly fingerprint: string;
  /** The process holding the flow, if one is running; `foreign` when it runs another version than the one on disk. */
  readonly running?: FlowOwner & { readonly foreign: boolean };
  readonly lastRun?: {
    readonly status: string;
    readonly finishedAt: string;
    readonly fingerprint: string | null;
    readonly error: string | null;
  };
  /** When the flow last committed (its last commit entry, or its last successful run), and how long ago (ms). */
  readonly lastCommit?: { readonly at: string; readonly ageMs: number };
  /** The last committed epoch's checkpoint: when it was written, how long ago, and by which version. */
  readonly checkpoint?: {
    readonly epoch: number;
    readonly at: string;
    readonly ageMs: number;
    readonly fingerprint: string;
    /** Written by the version on disk now. */
    readonly current: boolean;
  };
  /** An epoch planned and not committed: running now, or cut off by a crash (the next run settles it). */
  readonly inFlight?: { readonly epoch: number; readonly fingerprint: string };
  /** The flow's epoch records could not be read (damaged): the flow will refuse to start. */
  readonly epochsError?: string;
  /** Output versions: the active one, and a replay building the next. */
  readonly output?: {
    readonly active: number;
    readonly building?: Build & {
      /** The latest committed epoch of the build, once it has one. */
      readonly epoch?: number;
    };
    readonly switching?: boolean;
    readonly error?: string;
  };
  /** Per source dataset read from the log. */
  readonly sources: readonly SourceStatus[];
  readonly stages: readonly StageStatus[];
}

export interface ProjectStatus {
  readonly flows: readonly FlowStatus[];
  /** `busy` while a run holds the warehouse: run-log figures are from before it; checkpoints still show progress. */
  readonly warehouse: 'ok' | 'busy' | 'absent';
}

interface RunRow {
  readonly flow: string;
  readonly status: string;
  readonly finished_at: string;
  readonly fingerprint: string | null;
  readonly error: string | null;
  readonly stages: string;
}

type Runner = FlowOwner & { foreign: boolean };

/** Per flow and stage: health against the SLA, who runs it and which version, epochs, lag, watermarks, counts. */
export async function projectStatus(ws: Workspace, now = Date.now()): Promise<ProjectStatus> {
  const runs = await readRuns(ws.warehousePath);
  const flows: FlowStatus[] = [];
  for (const b of ws.plan.flows) flows.push(await flowStatus(ws, b, runs, now));
  return { flows, warehouse: runs.warehouse };
}

async function flowStatus(
  ws: Workspace,
  b: BoundFlow,
  runs: Awaited<ReturnType<typeof readRuns>>,
  now: number,
): Promise<FlowStatus> {
  const name = b.flow.name;
  const stateDir = join(ws.root, STATE_DIR);
  const flowDir = join(stateDir, 'flows', name);
  const fingerprint = flowFingerprint(b);
  const owner = await settled(() => readOwner(lockFile(stateDir, name)));
  const running: Runner | undefined =
    owner !== undefined && ownerAlive(owner) ? { ...owner, foreign: owner.fingerprint !== fingerprint } : undefined;
  const run = runs.last.get(name);
  const ok = runs.lastSuccess.get(name);
  let epochs: EpochView = {};
  let epochsError: string | undefined;
  try {
    const log = ws.project.log;
    epochs =
      log === undefined
        ? await readEpochs(new EpochStore(flowDir, name))
        : await readKafkaEpochs(resolveBrokers(log.brokers), epochsRoot(name, logPrefix(log, ws.project.name)));
  } catch (e) {
    epochsError = (e as Error).message;
  }
  const cp = epochs.checkpoint;
  const commitAt = latest(epochs.commit?.committedAt, ok === undefined ? undefined : `${ok.finished_at}Z`);
  // Ages are never negative: a record the running flow wrote after `now` was taken is as fresh as can be.
  const lastCommit =
    commitAt === undefined ? undefined : { at: iso(commitAt), ageMs: Math.max(0, now - Date.parse(commitAt)) };
  const sources =
    ws.project.log === undefined
      ? await sourcesOf(stateDir, b, cp, now)
      : await kafkaSources(b, cp, ws.project.log, ws.project.name);
  const runCounts = new Map(
    (run === undefined ? [] : (JSON.parse(run.stages) as (Counts & { stage: string })[])).map((s) => [s.stage, s]),
  );
  const committed = lastCommit !== undefined;
  const judged = b.stages.map((s) => stageStatus(s, b, cp, runCounts, sources, committed, now));
  const stages = judged.map((j) => j.status);
  const fresh = freshness(b.flow.slaMs, b.flow.sla, lastCommit?.ageMs, run, running, runs.warehouse);
  const { health, reason } =
    epochsError !== undefined ? { health: 'BREACHED' as const, reason: epochsError } : worst(fresh, judged);
  return {
    flow: name,
    sla: b.flow.sla,
    health,
    reason,
    fingerprint,
    ...(running === undefined ? {} : { running }),
    ...(run === undefined
      ? {}
      : {
          lastRun: {
            status: run.status,
            finishedAt: iso(`${run.finished_at}Z`),
            fingerprint: run.fingerprint,
            error: run.error,
          },
        }),
    ...(lastCommit === undefined ? {} : { lastCommit }),
    ...(cp === undefined
      ? {}
      : {
          checkpoint: {
            epoch: cp.epoch,
            at: cp.writtenAt,
            ageMs: Math.max(0, now - Date.parse(cp.writtenAt)),
            fingerprint: cp.fingerprint,
            current: cp.fingerprint === fingerprint,
          },
        }),
    ...(epochs.inFlight === undefined
      ? {}
      : { inFlight: { epoch: epochs.inFlight.epoch, fingerprint: epochs.inFlight.fingerprint } }),
    ...(epochsError === undefined ? {} : { epochsError }),
    output: await outputOf(flowDir, epochs),
    sources,
    stages,
  };
}

// ─── epochs ───

interface EpochView {
  readonly commit?: CommitEntry;
  readonly checkpoint?: CheckpointManifest;
  /** The latest offset entry, when it is past the latest commit. */
  readonly inFlight?: OffsetEntry;
}

/**
 * The latest commit entry, its checkpoint and an epoch in flight. The commit log is listed before the offset log (a
 * running flow may add to both meanwhile, and the offset log is never behind the commit log); a checkpoint collected
 * between the listing and the read means a later epoch committed, so everything is read again.
 */
async function readEpochs(store: EpochStore): Promise<EpochView> {
  for (let attempt = 1; ; attempt++) {
    const c = (await numbers(store.dir, 'commits')).at(-1) ?? 0;
    const o = (await numbers(store.dir, 'offsets')).at(-1) ?? 0;
    const commit = c === 0 ? undefined : ((await readJson(store.file('commits', c))) as CommitEntry | undefined);
    const checkpoint = c === 0 ? undefined : await store.checkpoint(c);
    if (c > 0 && (commit === undefined || checkpoint === undefined)) {
      if (attempt < 5) continue;
      throw new Error(
        `epoch ${c} of flow ${store.flow} is committed but its ${commit === undefined ? 'commit entry' : 'checkpoint'} is missing (${store.dir}); the flow will refuse to start`,
      );
    }
    const inFlight = o > c ? await store.offsets(o) : undefined;
    return {
      ...(commit === undefined ? {} : { commit }),
      ...(checkpoint === undefined ? {} : { checkpoint }),
      ...(inFlight === undefined ? {} : { inFlight }),
    };
  }
}

/**
 * The same view from `__napkin_epochs`, for a project whose log is on Kafka (partition 0 of the flow), read with
 * read_committed and without opening the flow's transactional id: a running flow is not fenced.
 */
async function readKafkaEpochs(conn: KafkaConnection, root: string): Promise<EpochView> {
  const records = await readFlowRecords(conn, root, 0);
  const commit = records.get(`${root}/0/commit`) as CommitEntry | undefined;
  const checkpoint =
    commit === undefined
      ? undefined
      : (records.get(`${root}/0/checkpoint/${commit.epoch}`) as CheckpointManifest | undefined);
  const planned = latestOffsets(records, root, 0);
  const inFlight = planned !== undefined && planned.epoch > (commit?.epoch ?? 0) ? planned : undefined;
  return {
    ...(commit === undefined ? {} : { commit }),
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(inFlight === undefined ? {} : { inFlight }),
  };
}

/** A project whose log is on Kafka: each source's topic, where the committed epochs end in it, and its end. */
async function kafkaSources(
  b: BoundFlow,
  cp: CheckpointManifest | undefined,
  log: KafkaLogConfig,
  project: string,
): Promise<SourceStatus[]> {
  const prefix = logPrefix(log, project);
  const topics = topicDatasets(b).map((dataset) => ({ dataset, topic: kafkaTopicOf(prefix, dataset) }));
  let ends: Map<string, number[]>;
  try {
    ends = await topicEnds(
      resolveBrokers(log.brokers),
      b.flow.name,
      topics.map((t) => t.topic),
    );
  } catch (e) {
    return topics.map(({ dataset }) => ({ dataset, state: 'unreadable', error: (e as Error).message }));
  }
  return topics.map(({ dataset, topic }) => {
    const committed = cp?.offsets[dataset];
    const end = ends.get(topic)?.[0];
    return {
      dataset,
      state: 'on kafka' as const,
      topic,
      ...(committed === undefined ? {} : { committed }),
      ...(end === undefined ? {} : { end }),
    };
  });
}

async function numbers(dir: string, kind: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, kind));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names
    .filter((n) => /^\d{12}\.json$/.test(n))
    .map((n) => Number(n.slice(0, 12)))
    .sort((a, b) => a - b);
}

async function outputOf(flowDir: string, epochs: EpochView): Promise<NonNullable<FlowStatus['output']>> {
  try {
    const v = await readVersions(flowDir);
    const b = v.building;
    const epoch = epochs.commit?.epoch;
    return {
      active: v.active,
      ...(b === undefined
        ? {}
        : {
            building: {
              ...b,
              ...(b.firstEpoch !== undefined && epoch !== undefined && epoch >= b.firstEpoch ? { epoch } : {}),
            },
          }),
      ...(v.switching === true ? { switching: true } : {}),
    };
  } catch (e) {
    return { active: 0, error: (e as Error).message };
  }
}

// ─── sources ───

/** The flow's source datasets read from the log (stored in files, as `openFlowTopics` decides), in stage order. */
function topicDatasets(b: BoundFlow): string[] {
  const out: string[] = [];
  for (const s of b.stages) {
    const ds = s.dataset;
    if (s.kind !== 'source' || ds === undefined || out.includes(ds.name)) continue;
    const kind = storageOf(ds).kind;
    if (kind === 'csv' || kind === 'jsonl' || kind === 'parquet' || kind === 'kafka' || kind === 'postgresCdc')
      out.push(ds.name);
  }
  return out;
}

async function sourcesOf(
  stateDir: string,
  b: BoundFlow,
  cp: CheckpointManifest | undefined,
  now: number,
): Promise<SourceStatus[]> {
  const out: SourceStatus[] = [];
  for (const dataset of topicDatasets(b)) {
    try {
      const lag = await settled(() => topicLag(stateDir, dataset, cp?.offsets[dataset], now));
      out.push(lag === undefined ? { dataset, state: 'no log yet' } : { ...lag, state: 'ok' });
    } catch (e) {
      out.push({ dataset, state: 'unreadable', error: (e as Error).message });
    }
  }
  return out;
}

/**
 * Files written while they are read can be caught half done (a log appended to or rolled; a lock file between its
 * exclusive creation and its write): try again, a moment later, before reporting.
 */
async function settled<T>(fn: () => T | Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (attempt >= 3) throw e;
      await sleep(20 * attempt);
    }
  }
}

// ─── stages ───

function stageStatus(
  s: Stage,
  b: BoundFlow,
  cp: CheckpointManifest | undefined,
  runCounts: ReadonlyMap<string, Counts>,
  sources: readonly SourceStatus[],
  committed: boolean,
  now: number,
): { status: StageStatus; ratio: number } {
  const fromCheckpoint = s.kind !== 'sql' ? cp?.metrics[s.id] : undefined;
  const fromRun = runCounts.get(s.id);
  const c = fromCheckpoint ?? fromRun;
  const counts =
    c === undefined ? undefined : { in: c.in, out: c.out, quarantined: c.quarantined, lateDropped: c.lateDropped };
  const lag = lagOf(upstreamDatasets(s, b), sources);
  const wm = cp?.watermarks?.[s.id];
  const watermark =
    typeof wm !== 'number' || wm <= MIN_TIMESTAMP
      ? undefined
      : wm >= MAX_TIMESTAMP
        ? { complete: true as const }
        : { at: new Date(wm).toISOString(), delayMs: now - wm };
  const { health, reason, ratio } = stageHealth(s, committed, lag, watermark);
  const status: StageStatus = {
    stage: s.id,
    kind: s.kind,
    mode: s.mode,
    sla: s.sla,
    health,
    reason,
    ...(counts === undefined ? {} : { counts, countsFrom: fromCheckpoint !== undefined ? 'checkpoint' : 'last run' }),
    ...(lag === undefined ? {} : { lag }),
    ...(watermark === undefined ? {} : { watermark }),
  };
  return { status, ratio };
}

/** The source datasets a stage reads, through any number of stages. */
function upstreamDatasets(s: Stage, b: BoundFlow): Set<string> {
  const byId = new Map(b.stages.map((x) => [x.id, x]));
  const out = new Set<string>();
  const seen = new Set<string>();
  const visit = (x: Stage): void => {
    if (seen.has(x.id)) return;
    seen.add(x.id);
    if (x.kind === 'source' && x.dataset !== undefined) out.add(x.dataset.name);
    for (const i of x.inputs) {
      const up = byId.get(i);
      if (up !== undefined) visit(up);
    }
  };
  visit(s);
  return out;
}

function lagOf(datasets: ReadonlySet<string>, sources: readonly SourceStatus[]): StageStatus['lag'] {
  let records = 0;
  let ageMs: number | undefined;
  let any = false;
  for (const src of sources) {
    if (!datasets.has(src.dataset) || src.state !== 'ok') continue;
    any = true;
    records += src.records;
    if (src.oldest !== undefined) ageMs = Math.max(ageMs ?? Number.NEGATIVE_INFINITY, src.oldest.ageMs);
  }
  return any ? { records, ...(ageMs === undefined ? {} : { ageMs }) } : undefined;
}

interface Judged {
  readonly health: Health;
  readonly reason: string;
  /** Delay over SLA: what ranks two judgements of the same health. */
  readonly ratio: number;
}

export function judge(ratio: number): Health {
  return ratio > 1 ? 'BREACHED' : ratio >= 0.8 ? 'AT RISK' : 'OK';
}

/** A stage's health: the larger of its lag (the age of the oldest record waiting) and its watermark delay. */
function stageHealth(
  s: Stage,
  committed: boolean,
  lag: StageStatus['lag'],
  watermark: StageStatus['watermark'],
): Judged {
  const waiting =
    lag === undefined || lag.records === 0
      ? undefined
      : `${lag.records} record${lag.records === 1 ? '' : 's'} waiting${lag.ageMs === undefined ? '' : `, the oldest for ${formatAge(lag.ageMs)}`}`;
  if (!committed)
    return { health: 'NEVER RUN', reason: waiting === undefined ? 'nothing committed yet' : waiting, ratio: 0 };
  const candidates: { ms: number; text: string }[] = [];
  if (lag?.ageMs !== undefined && lag.records > 0) candidates.push({ ms: lag.ageMs, text: waiting as string });
  if (watermark !== undefined && 'delayMs' in watermark)
    candidates.push({ ms: watermark.delayMs, text: `watermark ${formatAge(watermark.delayMs)} behind` });
  if (candidates.length === 0) return { health: 'OK', reason: `up to date, SLA ${s.sla}`, ratio: 0 };
  const top = candidates.reduce((a, x) => (x.ms > a.ms ? x : a));
  const ratio = top.ms / s.slaMs;
  const health = judge(ratio);
  return { health, reason: `${top.text}, ${health === 'AT RISK' ? 'past 80% of the ' : ''}SLA ${s.sla}`, ratio };
}

// ─── flow ───

/** The flow's freshness: how long since it last committed, against the flow's SLA. */
function freshness(
  slaMs: number,
  sla: string,
  ageMs: number | undefined,
  run: RunRow | undefined,
  running: Runner | undefined,
  warehouse: ProjectStatus['warehouse'],
): Judged {
  if (running?.foreign === true)
    return {
      health: 'BREACHED',
      reason: `pid ${running.pid} runs another version than the one on disk (foreign fingerprint)`,
      ratio: Number.POSITIVE_INFINITY,
    };
  if (ageMs === undefined) {
    if (running !== undefined)
      return { health: 'NEVER RUN', reason: `first run in progress (pid ${running.pid})`, ratio: 0 };
    if (warehouse === 'busy')
      return {
        health: 'NEVER RUN',
        reason: 'the warehouse is in use by a run; figures show once it commits',
        ratio: 0,
      };
    if (run !== undefined)
      return {
        health: 'BREACHED',
        reason: `never committed; last run ${run.status}: ${run.error ?? ''}`.trim(),
        ratio: Number.POSITIVE_INFINITY,
      };
    return { health: 'NEVER RUN', reason: 'no run recorded', ratio: 0 };
  }
  const age = formatAge(ageMs);
  const ratio = ageMs / slaMs;
  if (run !== undefined && run.status !== 'succeeded' && running === undefined)
    return {
      health: ratio > 1 ? 'BREACHED' : 'AT RISK',
      reason: `last run failed (${run.error ?? 'no message'}); last commit ${age} ago`,
      ratio: Math.max(ratio, 0.8),
    };
  const health = judge(ratio);
  const past = health === 'AT RISK' ? 'past 80% of the ' : '';
  return { health, reason: `last commit ${age} ago, ${past}SLA ${sla}`, ratio };
}

const RANK: Readonly<Record<Health, number>> = { 'NEVER RUN': 0, OK: 1, 'AT RISK': 2, BREACHED: 3 };

/** The flow's health: its freshness, or the stage doing worst (furthest past its SLA) if that is worse. */
function worst(
  fresh: Judged,
  stages: readonly { readonly status: StageStatus; readonly ratio: number }[],
): { health: Health; reason: string } {
  if (fresh.health === 'NEVER RUN') return fresh;
  let top: Judged = fresh;
  for (const { status: s, ratio } of stages) {
    const rank = RANK[s.health] - RANK[top.health];
    if (rank > 0 || (rank === 0 && s.health !== 'OK' && ratio > top.ratio))
      top = { health: s.health, reason: `stage ${s.stage}: ${s.reason}`, ratio };
  }
  return top;
}

/** A time as ISO 8601 (the warehouse gives `2026-12-02 01:49:17.188Z`). */
function iso(t: string): string {
  return new Date(Date.parse(t)).toISOString();
}

function latest(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(a) >= Date.parse(b) ? a : b;
}

async function readRuns(
  path: string,
): Promise<{ last: Map<string, RunRow>; lastSuccess: Map<string, RunRow>; warehouse: ProjectStatus['warehouse'] }> {
  const last = new Map<string, RunRow>();
  const lastSuccess = new Map<string, RunRow>();
  let w: Warehouse | undefined;
  try {
    w = await Warehouse.openReadOnly(path);
  } catch (e) {
    if (e instanceof WarehouseBusyError) return { last, lastSuccess, warehouse: 'busy' };
    throw e;
  }
  if (w === undefined) return { last, lastSuccess, warehouse: 'absent' };
  try {
    const rows = (await w.rows(
      `SELECT flow, status, CAST(finished_at AS VARCHAR) AS finished_at, fingerprint, error, CAST(stages AS VARCHAR) AS stages,
              row_number() OVER (PARTITION BY flow ORDER BY finished_at DESC) AS latest,
              row_number() OVER (PARTITION BY flow, status = 'succeeded' ORDER BY finished_at DESC) AS latest_of_status
       FROM napkin_meta.runs`,
    )) as unknown as (RunRow & { latest: bigint; latest_of_status: bigint })[];
    for (const r of rows) {
      if (Number(r.latest) === 1) last.set(r.flow, r);
      if (r.status === 'succeeded' && Number(r.latest_of_status) === 1) lastSuccess.set(r.flow, r);
    }
  } finally {
    w.close();
  }
  return { last, lastSuccess, warehouse: 'ok' };
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
