// The crash suite's process harness (spec reliability §3): runs the real CLI as child processes, delivers faults (a
// SIGKILL at a random time, a named crash point through NAPKIN_CRASH_AT, a graceful SIGTERM), restarts until the run
// completes, and keeps the operation history of every trial so a failure can be read and reproduced from its seed.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN } from '../helpers.ts';
import { Prng } from './generate.ts';

/** Total trials across the crash suite's files; each file takes its share (see {@link trialsFor}). */
export const TOTAL_TRIALS = Number(process.env.NAPKIN_CRASH_TRIALS ?? '20');
/** The seed every trial's seed derives from; set it to reproduce a run. */
export const BASE_SEED = Number(process.env.NAPKIN_CRASH_SEED ?? '20240501');
/** Trials run this many at a time, each in its own project copy. */
export const CONCURRENCY = Math.max(1, Number(process.env.NAPKIN_CRASH_CONCURRENCY ?? '2'));
/** `<point>:<k>@<seed>` or `random@<seed>`: run only that trial (the failure message of a trial prints it). */
export const REPLAY = process.env.NAPKIN_CRASH_REPLAY;

/** Shares of the total per suite file: bounded DuckDB+files, live DuckDB+files, PostgreSQL. */
const SHARES: Readonly<Record<string, number>> = { bounded: 0.4, live: 0.25, postgres: 0.35 };

export function trialsFor(suite: keyof typeof SHARES & string): number {
  if (!Number.isFinite(TOTAL_TRIALS) || TOTAL_TRIALS < 1)
    throw new Error(`NAPKIN_CRASH_TRIALS='${process.env.NAPKIN_CRASH_TRIALS}' is not a positive number`);
  return Math.max(2, Math.round(TOTAL_TRIALS * (SHARES[suite] ?? 0.2)));
}

/** A fault delivered to one run. */
export type Fault =
  | { readonly kind: 'point'; readonly point: string; readonly k: number }
  | { readonly kind: 'kill'; readonly afterMs: number }
  /** SIGTERM: a live flow commits a last non-final epoch and exits 0; the next run goes on. */
  | { readonly kind: 'term'; readonly afterMs: number };

export function describeFault(f: Fault | undefined): string {
  if (f === undefined) return 'no fault';
  if (f.kind === 'point') return `NAPKIN_CRASH_AT=${f.point}:${f.k}`;
  return `${f.kind === 'kill' ? 'SIGKILL' : 'SIGTERM'} after ${f.afterMs} ms`;
}

/** One napkin process of a trial. */
export interface RunRecord {
  readonly args: readonly string[];
  readonly fault: Fault | undefined;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly ms: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The fault was delivered: the process died of it (SIGKILL) or was sent SIGTERM while running. */
  readonly faulted: boolean;
  /** It did not exit within the watchdog's time and was killed. */
  readonly hung: boolean;
}

/** A running napkin process. */
export interface Proc {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly started: number;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `napkin --project DIR ...args` (cwd: the project) with extra environment variables. */
export function startNapkin(dir: string, args: readonly string[], env: Readonly<Record<string, string>> = {}): Proc {
  const child = spawn(process.execPath, [BIN, '--project', dir, ...args], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', NAPKIN_CRASH_AT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  if (child.pid === undefined) throw new Error(`could not start napkin in ${dir}`);
  return { child, pid: child.pid, started: Date.now(), stdout: () => out, stderr: () => err, exited };
}

/** A run that has not exited after this long is killed and fails its trial. */
const WATCHDOG_MS = 60_000;

/** Runs napkin once, delivering `fault`; resolves when the process has exited. */
export async function runOnce(
  dir: string,
  args: readonly string[],
  fault: Fault | undefined,
  env: Readonly<Record<string, string>> = {},
): Promise<RunRecord> {
  const extra = fault?.kind === 'point' ? { ...env, NAPKIN_CRASH_AT: `${fault.point}:${fault.k}` } : env;
  const p = startNapkin(dir, args, extra);
  let sent = false;
  let timer: NodeJS.Timeout | undefined;
  if (fault !== undefined && fault.kind !== 'point') {
    timer = setTimeout(() => {
      sent = p.child.kill(fault.kind === 'kill' ? 'SIGKILL' : 'SIGTERM');
    }, fault.afterMs);
  }
  // A hung process fails the trial rather than the whole suite.
  let hung = false;
  const watchdog = setTimeout(() => {
    hung = p.child.kill('SIGKILL');
  }, WATCHDOG_MS);
  const { code, signal } = await p.exited;
  clearTimeout(timer);
  clearTimeout(watchdog);
  const faulted =
    fault === undefined
      ? false
      : fault.kind === 'point'
        ? signal === 'SIGKILL'
        : fault.kind === 'kill'
          ? sent && signal === 'SIGKILL'
          : sent;
  return {
    args,
    fault,
    code,
    signal,
    ms: Date.now() - p.started,
    stdout: p.stdout(),
    stderr: p.stderr(),
    faulted,
    hung,
  };
}

/** The operation history of a trial: every run with its fault and outcome, and notes. */
export class History {
  readonly lines: string[] = [];
  readonly runs: RunRecord[] = [];
  private readonly t0 = Date.now();

  note(s: string): void {
    this.lines.push(`[${String(Date.now() - this.t0).padStart(6)} ms] ${s}`);
  }

  record(r: RunRecord): void {
    this.runs.push(r);
    const how = r.signal !== null ? `killed by ${r.signal}` : `exit ${r.code}`;
    this.note(`napkin ${r.args.join(' ')} with ${describeFault(r.fault)}: ${how} after ${r.ms} ms`);
    const err = r.stderr.trim();
    if (err !== '') for (const l of err.split('\n').slice(0, 20)) this.lines.push(`    stderr| ${l}`);
  }

  get kills(): number {
    return this.runs.filter((r) => r.faulted && r.fault?.kind !== 'term').length;
  }

  get terms(): number {
    return this.runs.filter((r) => r.faulted && r.fault?.kind === 'term').length;
  }

  /** Named points that actually killed a process. */
  get pointsHit(): string[] {
    return this.runs
      .filter((r) => r.faulted && r.fault?.kind === 'point')
      .map((r) => {
        const f = r.fault as Extract<Fault, { kind: 'point' }>;
        return `${f.point}:${f.k}`;
      });
  }

  save(dir: string): void {
    writeFileSync(join(dir, 'crash-history.log'), `${this.lines.join('\n')}\n`);
  }
}

/**
 * Runs napkin until a run completes: the faults are delivered to the first runs, one each, then runs go on without
 * faults. `done` decides whether a run's outcome completes the step (by default: exit 0 without a delivered fault,
 * or a named point never reached). A run that fails on its own (a non-zero exit that was not a kill) is a finding:
 * napkin refused to take up after a crash. Returns the completing run.
 */
export async function runToCompletion(
  dir: string,
  args: readonly string[],
  faults: readonly Fault[],
  history: History,
  o: {
    readonly env?: Readonly<Record<string, string>>;
    readonly maxRuns?: number;
    readonly done?: (r: RunRecord) => boolean;
  } = {},
): Promise<RunRecord> {
  const maxRuns = o.maxRuns ?? faults.length + 6;
  const done = o.done ?? ((r: RunRecord) => r.code === 0 && !r.faulted);
  for (let i = 0; i < maxRuns; i++) {
    const r = await runOnce(dir, args, faults[i], o.env);
    history.record(r);
    if (r.signal === null && r.code !== 0) {
      throw new TrialFailure(`napkin failed on its own (exit ${r.code}), after ${history.kills} kill(s)`, r.stderr);
    }
    if (r.hung) throw new TrialFailure(`napkin did not exit within ${WATCHDOG_MS / 1000} s and was killed`, r.stderr);
    if (r.signal !== null && !r.faulted) throw new TrialFailure(`napkin died of ${r.signal} without a fault`, r.stderr);
    if (done(r)) return r;
  }
  throw new TrialFailure(`no run completed in ${maxRuns} runs`, '');
}

/** A trial that failed: what went wrong, with the stderr of the run that showed it. */
export class TrialFailure extends Error {
  constructor(
    message: string,
    readonly stderr: string,
  ) {
    super(
      stderr.trim() === '' ? message : `${message}\n  stderr: ${stderr.trim().split('\n').slice(0, 8).join('\n  ')}`,
    );
    this.name = 'TrialFailure';
  }
}

/** Runs `work` over `items`, `n` at a time, in order of start; resolves to the results in item order. */
export async function pool<T, R>(
  items: readonly T[],
  n: number,
  work: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length) return;
      out[i] = await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

/** What a trial does: named crash point first (if any), then random faults, all from its seed. */
export interface TrialPlan {
  readonly name: string;
  readonly seed: number;
  readonly point?: { readonly point: string; readonly k: number };
}

/**
 * The trials of a suite file: every named point × k first (spec §3: "every point × k ∈ {1,2,3}, before random
 * schedules"), then random schedules, `count` in all. With fewer trials than points × k (the smoke tier), the points
 * are taken in an order that covers every point once before any point's k = 2.
 */
export function planTrials(count: number, points: Readonly<Record<string, readonly number[]>>): TrialPlan[] {
  if (REPLAY !== undefined && REPLAY !== '') {
    const m = /^(?:([a-z0-9-]+):(\d+)|random)@(\d+)$/.exec(REPLAY);
    if (m === null) throw new Error(`NAPKIN_CRASH_REPLAY='${REPLAY}' is not '<point>:<k>@<seed>' or 'random@<seed>'`);
    const seed = Number(m[3]);
    return [
      m[1] === undefined
        ? { name: `random@${seed}`, seed }
        : { name: `${m[1]}:${m[2]}@${seed}`, seed, point: { point: m[1], k: Number(m[2]) } },
    ];
  }
  const maxK = Math.max(...Object.values(points).flat());
  const named: { point: string; k: number }[] = [];
  for (let k = 1; k <= maxK; k++)
    for (const [point, ks] of Object.entries(points)) if (ks.includes(k)) named.push({ point, k });
  const plans: TrialPlan[] = [];
  for (let i = 0; i < count; i++) {
    const seed = (BASE_SEED + i * 7919) >>> 0;
    const p = named[i];
    plans.push(
      p === undefined ? { name: `random@${seed}`, seed } : { name: `${p.point}:${p.k}@${seed}`, seed, point: p },
    );
  }
  return plans;
}

/** Random faults for a trial: `n` SIGKILLs (or SIGTERMs, when `terms`) at times within `[lo, hi)` ms. */
export function randomFaults(rng: Prng, n: number, lo: number, hi: number, terms = false): Fault[] {
  const out: Fault[] = [];
  for (let i = 0; i < n; i++) {
    const afterMs = rng.int(lo, hi - 1);
    out.push(terms && rng.next() < 0.25 ? { kind: 'term', afterMs } : { kind: 'kill', afterMs });
  }
  return out;
}

/** The kinds of sink a suite's trials check, for the count of trials per kind. */
export type SinkKind = 'DuckDB' | 'files' | 'PostgreSQL';

/** Tallies of a suite file, for its one-line summary. */
export class Tally {
  trials = 0;
  failed = 0;
  kills = 0;
  terms = 0;
  runs = 0;
  checks = 0;
  checksPassed = 0;
  readonly points = new Set<string>();
  readonly pointsNotReached = new Set<string>();
  readonly started = Date.now();

  line(suite: string): string {
    const s = ((Date.now() - this.started) / 1000).toFixed(1);
    const missed = [...this.pointsNotReached].filter((p) => !this.points.has(p));
    return (
      `crash suite ${suite}: ${this.trials} trials (${this.failed} failed), ${this.runs} runs, ${this.kills} kills, ` +
      `${this.terms} SIGTERMs, ${this.points.size} named points × k hit [${[...this.points].sort().join(' ')}]` +
      `${missed.length > 0 ? `, not reached [${missed.sort().join(' ')}]` : ''}, ` +
      `checks ${this.checksPassed}/${this.checks} passed` +
      `, ${s} s`
    );
  }

  /**
   * Appends the suite's figures as a JSON line to the file NAPKIN_CRASH_TALLY names: `scripts/test.mjs --crash`
   * (npm run test:crash) sets it and ends with the trials per sink kind. Without it, does nothing.
   */
  record(suite: string, sinks: readonly SinkKind[]): void {
    const file = process.env.NAPKIN_CRASH_TALLY;
    if (file === undefined || file === '') return;
    const seconds = Math.round((Date.now() - this.started) / 100) / 10;
    const { trials, failed, runs, kills, terms } = this;
    appendFileSync(file, `${JSON.stringify({ suite, sinks, trials, failed, runs, kills, terms, seconds })}\n`);
  }
}

export { Prng };
