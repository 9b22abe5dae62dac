import { join } from 'node:path';
import { Warehouse, WarehouseBusyError } from '../connectors/duckdb/warehouse.ts';
import { flowFingerprint } from '../plan/fingerprint.ts';
import type { StageMode } from '../time/duration.ts';
import { type FlowOwner, lockFile, ownerAlive, readOwner } from './flow-lock.ts';
import { STATE_DIR } from './run.ts';
import type { Workspace } from './workspace.ts';

/** Freshness against the SLA: within 80% of it, within it, past it; or no successful commit yet. */
export type Health = 'OK' | 'AT RISK' | 'BREACHED' | 'NEVER RUN';

export interface StageStatus {
  readonly stage: string;
  readonly kind: string;
  readonly mode: StageMode;
  readonly sla: string;
  /** Counts of the last run (reliability §6): in, out, quarantined, late-dropped. */
  readonly counts?: {
    readonly in: number;
    readonly out: number;
    readonly quarantined: number;
    readonly lateDropped: number;
  };
}

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
  /** When the last successful run committed, and how long ago (ms). */
  readonly lastCommit?: { readonly at: string; readonly ageMs: number };
  readonly stages: readonly StageStatus[];
}

export interface ProjectStatus {
  readonly flows: readonly FlowStatus[];
  /** `busy` while a run holds the warehouse: run figures are then unavailable, the locks still show who runs. */
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

/** Per flow: health against its SLA, who runs it (and which version), the last run and its per-stage counts. */
export async function projectStatus(ws: Workspace, now = Date.now()): Promise<ProjectStatus> {
  const { last, lastSuccess, warehouse } = await readRuns(ws.warehousePath);
  const flows = ws.plan.flows.map((b): FlowStatus => {
    const name = b.flow.name;
    const fingerprint = flowFingerprint(b);
    const owner = readOwner(lockFile(join(ws.root, STATE_DIR), name));
    const running =
      owner !== undefined && ownerAlive(owner) ? { ...owner, foreign: owner.fingerprint !== fingerprint } : undefined;
    const run = last.get(name);
    const ok = lastSuccess.get(name);
    const ageMs = ok === undefined ? undefined : now - Date.parse(`${ok.finished_at}Z`);
    const counts = new Map(
      (run === undefined ? [] : (JSON.parse(run.stages) as (StageStatus['counts'] & { stage: string })[])).map((s) => [
        s.stage,
        s,
      ]),
    );
    const { health, reason } = healthOf(b.flow.slaMs, b.flow.sla, ageMs, run, running, warehouse);
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
              finishedAt: `${run.finished_at}Z`,
              fingerprint: run.fingerprint,
              error: run.error,
            },
          }),
      ...(ok === undefined || ageMs === undefined ? {} : { lastCommit: { at: `${ok.finished_at}Z`, ageMs } }),
      stages: b.stages.map((s) => {
        const c = counts.get(s.id);
        return {
          stage: s.id,
          kind: s.kind,
          mode: s.mode,
          sla: s.sla,
          ...(c === undefined
            ? {}
            : { counts: { in: c.in, out: c.out, quarantined: c.quarantined, lateDropped: c.lateDropped } }),
        };
      }),
    };
  });
  return { flows, warehouse };
}

function healthOf(
  slaMs: number,
  sla: string,
  ageMs: number | undefined,
  run: RunRow | undefined,
  running: (FlowOwner & { foreign: boolean }) | undefined,
  warehouse: ProjectStatus['warehouse'],
): { health: Health; reason: string } {
  if (running?.foreign === true)
    return {
      health: 'BREACHED',
      reason: `pid ${running.pid} runs another version than the one on disk (foreign fingerprint)`,
    };
  if (ageMs === undefined) {
    if (warehouse === 'busy')
      return { health: 'NEVER RUN', reason: 'the warehouse is in use by a run; figures show once it commits' };
    if (run !== undefined)
      return { health: 'BREACHED', reason: `never committed; last run ${run.status}: ${run.error ?? ''}`.trim() };
    return {
      health: 'NEVER RUN',
      reason: running === undefined ? 'no run recorded' : `first run in progress (pid ${running.pid})`,
    };
  }
  const age = formatAge(ageMs);
  if (run !== undefined && run.status !== 'succeeded')
    return {
      health: ageMs > slaMs ? 'BREACHED' : 'AT RISK',
      reason: `last run failed (${run.error ?? 'no message'}); last commit ${age} ago`,
    };
  if (ageMs > slaMs) return { health: 'BREACHED', reason: `last commit ${age} ago, SLA ${sla}` };
  if (ageMs > 0.8 * slaMs) return { health: 'AT RISK', reason: `last commit ${age} ago, past 80% of the SLA ${sla}` };
  return { health: 'OK', reason: `last commit ${age} ago, SLA ${sla}` };
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
