// Trials of the crash suite (spec reliability §3): a reference run without faults gives E, then each trial runs the
// same steps in its own project copy under faults (a named crash point × k, random SIGKILLs, SIGTERMs), restarts
// until each step completes, and checks what the project holds against E. A failing trial keeps its project copy
// with its operation history (crash-history.log) and prints how to replay it.
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pg } from '../../src/connectors/postgres/connection.ts';
import {
  type CheckResult,
  capture,
  compare,
  describeFailures,
  type Expectation,
  type FlowSpec,
  type Snapshot,
} from './checks.ts';
import {
  describeFault,
  type Fault,
  History,
  Prng,
  pool,
  type RunRecord,
  randomFaults,
  runToCompletion,
  Tally,
  type TrialPlan,
} from './harness.ts';
import { Appender, removeProject } from './project.ts';

/** One step of a trial: prepare the input, then run the flow to completion. */
export interface Step {
  /** Writes this step's input into the project (before its first run). */
  readonly prepare: (dir: string) => void;
  readonly expect: Expectation;
}

/** Everything a suite file's trials share. */
export interface Scenario {
  /** e.g. 'bounded DuckDB+files' */
  readonly suite: string;
  /** The flows a run runs (`napkin run A B … --json`), in that order, each checked on its own. */
  readonly specs: readonly FlowSpec[];
  readonly steps: readonly Step[];
  /**
   * A fresh project copy for a trial (or the reference), with `tag` to tell trials apart in shared servers. With
   * `afterStep`, external stores (a PostgreSQL database) start as the reference left them after that step; the
   * folder itself is copied from the reference's template by the caller.
   */
  readonly newProject: (tag: string, afterStep?: number) => Promise<TrialProject>;
  /** Changes the project after a trial's step completed, before it is checked: only for the suite's self-test. */
  readonly tamper?: (dir: string) => Promise<void>;
  /** A live flow: its followed file is fed by an appender during the step. */
  readonly live?: { readonly batches: readonly string[]; readonly gapMs: number };
}

/** A project copy and what its runs need. */
export interface TrialProject {
  readonly dir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly pg?: Pg;
  /** Keeps the external stores' state after step `i` for trials that start there (the reference calls it). */
  saveTemplate?(i: number): Promise<void>;
  dispose(keep: boolean): Promise<void>;
}

/** The reference run: each step's snapshot E, and how long a fault-free run of each step takes. */
export interface Reference {
  /** Per step, per flow of the scenario. */
  readonly snapshots: readonly (readonly Snapshot[])[];
  readonly ms: readonly number[];
  /** The reference project as it stood after each step. */
  readonly templates: readonly string[];
}

export interface TrialOutcome {
  readonly plan: TrialPlan;
  readonly ok: boolean;
  readonly message: string;
  readonly checks: readonly CheckResult[];
  readonly history: History;
}

/** The run's command; `snapshots`: a state snapshot with every epoch (else the default, every 30 s). */
const args = (s: Scenario, snapshots = false) => [
  'run',
  ...s.specs.map((f) => f.flow),
  '--json',
  ...(snapshots ? ['--snapshot-every', '0ms'] : []),
];

/** Captures every flow of the scenario. */
async function captureAll(s: Scenario, p: TrialProject, r: RunRecord): Promise<Snapshot[]> {
  const out: Snapshot[] = [];
  for (const spec of s.specs) out.push(await capture(p.dir, spec, r, p.pg));
  return out;
}

/** Compares every flow's snapshot with the reference's; each flow's failures name it. */
function compareAll(s: Scenario, ref: readonly Snapshot[], got: readonly Snapshot[], e: Expectation): CheckResult[] {
  return s.specs.flatMap((spec, i) =>
    compare(ref[i], got[i], spec, e).map((c) =>
      c.ok || s.specs.length === 1 ? c : { ...c, detail: `flow ${spec.flow}: ${c.detail}` },
    ),
  );
}

/**
 * Runs the steps once without faults and captures E after each. The project as it stands after each step is kept as a
 * template, so a trial faulting step i starts from the reference's state after step i − 1 instead of running it again.
 */
export async function referenceRun(s: Scenario): Promise<Reference> {
  const p = await s.newProject('ref');
  const history = new History();
  const snapshots: Snapshot[][] = [];
  const ms: number[] = [];
  const templates: string[] = [];
  try {
    for (const step of s.steps) {
      step.prepare(p.dir);
      const appender =
        s.live === undefined ? undefined : new Appender(p.dir, s.live.batches, s.live.gapMs, new Prng(1));
      const r = await runToCompletion(p.dir, args(s), [], history, {
        env: p.env,
        done: liveDone(appender),
      });
      await appender?.done;
      ms.push(r.ms);
      const snap = await captureAll(s, p, r);
      snapshots.push(snap);
      const self = compareAll(s, snap, snap, step.expect);
      const failed = describeFailures(self);
      if (failed !== '') throw new Error(`the reference run fails the checks:\n${failed}\n${history.lines.join('\n')}`);
      templates.push(snapshotDir(p.dir));
      await p.saveTemplate?.(templates.length - 1);
    }
  } catch (e) {
    history.save(p.dir);
    await p.dispose(true);
    throw new Error(`reference run in ${p.dir}: ${(e as Error).message}`);
  }
  await p.dispose(false);
  return { snapshots, ms, templates };
}

/** A copy of a project folder as it stands (its state folder, warehouse, outputs and inputs). */
function snapshotDir(dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'napkin-crash-template-'));
  cpSync(dir, copy, { recursive: true, filter: (src) => !src.startsWith(join(dir, 'node_modules')) });
  return copy;
}

/** Removes the reference's templates. */
export function disposeReference(ref: Reference): void {
  for (const t of ref.templates) rmSync(t, { recursive: true, force: true });
}

/** A live step completes with a run that ended by itself (idle → final epoch) after the last batch was appended. */
function liveDone(appender: Appender | undefined): ((r: RunRecord) => boolean) | undefined {
  if (appender === undefined) return undefined;
  return (r) => r.code === 0 && !r.faulted && appender.finished;
}

/**
 * The step a trial faults and its faults, from its seed: a named point (sometimes followed by a SIGKILL of the
 * recovering run), or one to three random SIGKILLs (a live flow also gets SIGTERMs) spread over the run's span.
 */
function faultsOf(plan: TrialPlan, s: Scenario, ref: Reference): { step: number; faults: Fault[] } {
  const rng = new Prng(plan.seed);
  const step = rng.int(0, s.steps.length - 1);
  const live = s.live !== undefined;
  const lo = Math.min(100, ref.ms[step] / 4);
  // Runs under load (trials in parallel) take longer than the reference did alone.
  const hi = Math.max(200, ref.ms[step] * 1.8);
  if (plan.point !== undefined)
    return { step, faults: [{ kind: 'point', ...plan.point }, ...randomFaults(rng, rng.int(0, 1), lo, hi / 2, live)] };
  return { step, faults: randomFaults(rng, rng.int(1, 3), lo, hi, live) };
}

/**
 * One trial: the project as the reference left it before the faulted step (a fresh copy for the first), then that
 * step under its faults, restarted until it completes, and checked against E.
 */
export async function runTrial(s: Scenario, ref: Reference, plan: TrialPlan): Promise<TrialOutcome> {
  const history = new History();
  history.note(`trial ${plan.name} (${s.suite})`);
  const { step: i, faults } = faultsOf(plan, s, ref);
  const p = await s.newProject(`t${plan.seed}`, i > 0 ? i - 1 : undefined);
  const checks: CheckResult[] = [];
  let message = '';
  try {
    const step = s.steps[i];
    if (i > 0) {
      history.note(`from the reference's state after step ${i}`);
      cpSync(ref.templates[i - 1], p.dir, { recursive: true });
    }
    history.note(`step ${i + 1}: ${faults.map(describeFault).join(', ')}`);
    step.prepare(p.dir);
    const appender =
      s.live === undefined ? undefined : new Appender(p.dir, s.live.batches, s.live.gapMs, new Prng(plan.seed));
    // Half the trials (and those killed at the snapshot's crash point) snapshot the state with every epoch, so
    // restarts restore it rather than replay.
    const snapshots = plan.seed % 2 === 0 || faults.some((f) => f.kind === 'point' && f.point === 'epoch-snapshot');
    if (snapshots) history.note('state snapshots every epoch');
    const r = await runToCompletion(p.dir, args(s, snapshots), faults, history, {
      env: p.env,
      done: liveDone(appender),
    });
    await appender?.done;
    await s.tamper?.(p.dir);
    const got = await captureAll(s, p, r);
    const results = compareAll(s, ref.snapshots[i], got, step.expect);
    checks.push(...results);
    const failed = describeFailures(results);
    if (failed !== '') message = `step ${i + 1}:\n${failed}`;
  } catch (e) {
    message = (e as Error).message;
  }
  const ok = message === '';
  if (!ok) history.save(p.dir);
  await p.dispose(!ok);
  return { plan, ok, message: ok ? '' : `${message}\n  project kept: ${p.dir}`, checks, history };
}

/** Runs the trials, two at a time; returns the tally and a report of every failed trial. */
export async function runTrials(
  s: Scenario,
  ref: Reference,
  plans: readonly TrialPlan[],
  concurrency: number,
): Promise<{ tally: Tally; failures: string[] }> {
  const tally = new Tally();
  const failures: string[] = [];
  await pool(plans, concurrency, async (plan) => {
    const o = await runTrial(s, ref, plan);
    tally.trials++;
    tally.runs += o.history.runs.length;
    tally.kills += o.history.kills;
    tally.terms += o.history.terms;
    for (const p of o.history.pointsHit) tally.points.add(p);
    if (plan.point !== undefined && o.history.pointsHit.length === 0)
      tally.pointsNotReached.add(`${plan.point.point}:${plan.point.k}`);
    tally.checks += o.checks.length;
    tally.checksPassed += o.checks.filter((c) => c.ok).length;
    if (!o.ok) {
      tally.failed++;
      failures.push(
        `✗ trial ${plan.name}: ${o.message}\n  replay: NAPKIN_CRASH_REPLAY='${plan.name}'\n  history:\n    ${o.history.lines.join('\n    ')}`,
      );
    }
  });
  return { tally, failures };
}

/** A trial project that is a plain copy: removed unless kept. */
export function plainProject(dir: string): TrialProject {
  return {
    dir,
    env: {},
    async dispose(keep) {
      if (!keep) removeProject(dir);
    },
  };
}
