// Crash suite, PostgreSQL sinks (spec reliability §3): the bounded and live flows of the crash fixture writing to
// PostgreSQL tables (replace, merge, a windowed aggregate) through the real CLI, against a real server. Each trial has
// its own database (a copy of the reference's after the step before the faulted one), is killed at a named crash
// point × k (the epoch points and the sink's pg-staging, pg-after-precommit, pg-commit, pg-after-commit) or at random
// times, and must end with tables equal to the fault-free run's, no staged or pending rows, and each commit key once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import postgres from 'postgres';
import { type PgServer, startPgServer } from '../pg-server.ts';
import type { FlowSpec, Snapshot } from './checks.ts';
import { boundedProblems, liveProblems } from './expected.ts';
import { CONCURRENCY, planTrials, trialsFor } from './harness.ts';
import {
  boundedData,
  boundedSubset,
  LIVE_GAP_MS,
  liveData,
  newProject,
  PG_PROJECT,
  removeProject,
  writeBoundedFiles,
} from './project.ts';
import { disposeReference, referenceRun, runTrials, type Scenario, type TrialProject } from './trials.ts';

/** The bounded flows: one PostgreSQL sink each (replace, merge, a windowed aggregate), all reading one topic. */
const pgBatch = (flow: string, sink: string, table: string, middle?: string): FlowSpec => ({
  flow,
  source: 'read_events',
  sinks: [{ kind: 'postgres', stage: sink, table }],
  edges:
    middle === undefined
      ? [['read_events', sink]]
      : [
          ['read_events', middle],
          [middle, sink],
        ],
  rowStages: ['read_events'],
});
const PG_BATCH: readonly FlowSpec[] = [
  pgBatch('pg_events_clean', 'write_crash_events_clean', 'crash.events_clean'),
  pgBatch('pg_per_key', 'write_crash_per_key', 'crash.per_key', 'per_key'),
  pgBatch('pg_per_minute', 'write_crash_per_minute', 'crash.per_minute', 'per_minute'),
];

const PG_LIVE: FlowSpec = {
  flow: 'pg_live_events',
  source: 'read_live',
  sinks: [
    { kind: 'postgres', stage: 'write_crash_live_panes', table: 'crash.live_panes' },
    { kind: 'duckdb', stage: 'write_crash_live_windows', table: 'crash.live_windows' },
  ],
  edges: [
    ['read_live', 'live_windows'],
    ['live_windows', 'write_crash_live_windows'],
    ['live_windows', 'write_crash_live_panes'],
  ],
  rowStages: ['read_live'],
};

/** Sink rows of every flow of a step, by sink stage. */
const sinksOf = (snaps: readonly Snapshot[]) => Object.assign({}, ...snaps.map((s) => s.sinks));

const PG_POINTS = {
  'pg-staging': [1, 2, 3],
  'pg-after-precommit': [1, 2, 3],
  'pg-commit': [1, 2, 3],
  'pg-after-commit': [1, 2, 3],
};
// Three flows in one process: each epoch point is reached once per flow.
const EPOCH_POINTS = {
  'epoch-offsets': [1, 2, 3],
  'epoch-checkpoint': [1, 2, 3],
  'epoch-sinks': [1, 2, 3],
  'epoch-commit': [1, 2, 3],
};

describe('crash suite: PostgreSQL sinks', () => {
  let server: PgServer;
  let admin: postgres.Sql;
  before(async () => {
    server = await startPgServer();
    admin = postgres(server.url, { max: 2, onnotice: () => undefined });
  });
  after(async () => {
    await admin?.end();
    await server?.stop();
  });

  /** A project copy with its own database: fresh, or a copy of the reference's after a step. */
  const pgProjects = (suite: string) => {
    const templates: string[] = [];
    const factory = async (tag: string, afterStep?: number): Promise<TrialProject> => {
      const db = `${suite}_${tag}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
      if (afterStep === undefined) await admin`create database ${admin(db)}`;
      else await admin`create database ${admin(db)} template ${admin(templates[afterStep])}`;
      const url = server.url.replace(/\/postgres$/, `/${db}`);
      const connect = () => postgres(url, { max: 2, onnotice: () => undefined, connection: { TimeZone: 'UTC' } });
      const dir = newProject(PG_PROJECT);
      const project: TrialProject & { pg: postgres.Sql } = {
        dir,
        env: { NAPKIN_PG_URL: url },
        pg: connect(),
        async saveTemplate(i) {
          // A template database takes no connections while it is copied.
          await project.pg.end();
          const tpl = `${suite}_tpl_${i}`;
          await admin`create database ${admin(tpl)} template ${admin(db)}`;
          templates[i] = tpl;
          project.pg = connect();
        },
        async dispose(keep) {
          await project.pg.end();
          if (keep) return;
          removeProject(dir);
          await admin`drop database if exists ${admin(db)} with (force)`;
        },
      };
      return project;
    };
    return { factory, templates };
  };

  it('bounded flow: named crash points × k, then random SIGKILLs; tables equal the fault-free run’s', async (t) => {
    const input = boundedData();
    const { factory } = pgProjects('bounded');
    const scenario: Scenario = {
      suite: 'bounded PostgreSQL',
      specs: PG_BATCH,
      steps: [2, 4].map((files) => ({
        prepare: (dir: string) => writeBoundedFiles(dir, input, files),
        expect: { bad: boundedSubset(input, files).bad, sourceRecords: files * 4000 },
      })),
      newProject: factory,
    };
    const ref = await referenceRun(scenario);
    const wrong = boundedProblems(sinksOf(ref.snapshots[1]), input.good).filter((p) => !p.startsWith('big-events'));
    assert.deepEqual(wrong, [], 'the reference output matches the generator');
    const plans = planTrials(Math.round(trialsFor('postgres') * 0.6), { ...PG_POINTS, ...EPOCH_POINTS });
    const { tally, failures } = await runTrials(scenario, ref, plans, CONCURRENCY).finally(() => disposeReference(ref));
    const line = tally.line('bounded PostgreSQL (replace, merge, windowed; 3 flows)');
    tally.record('bounded PostgreSQL (replace, merge, windowed)', ['PostgreSQL']);
    t.diagnostic(line);
    console.log(`# ${line}`);
    assert.equal(failures.length, 0, `${line}\n${failures.join('\n\n')}`);
  });

  it('live flow: named crash points × k, then random SIGKILLs and SIGTERMs; tables equal the fault-free run’s', async (t) => {
    const input = liveData();
    const { factory } = pgProjects('live');
    const scenario: Scenario = {
      suite: 'live PostgreSQL',
      specs: [PG_LIVE],
      steps: [
        { prepare: () => undefined, expect: { bad: input.bad, sourceRecords: input.good.length + input.bad.length } },
      ],
      newProject: factory,
      live: { batches: input.batches, gapMs: LIVE_GAP_MS },
    };
    const ref = await referenceRun(scenario);
    const wrong = liveProblems(sinksOf(ref.snapshots[0]), input.good, [
      'write_crash_live_windows',
      'write_crash_live_panes',
    ]);
    assert.deepEqual(wrong, [], 'the reference output matches the generator');
    const plans = planTrials(Math.round(trialsFor('postgres') * 0.4), PG_POINTS);
    const { tally, failures } = await runTrials(scenario, ref, plans, CONCURRENCY).finally(() => disposeReference(ref));
    const line = tally.line('live PostgreSQL (replace+append) + DuckDB merge');
    tally.record('live PostgreSQL (replace then append) and DuckDB merge', ['PostgreSQL', 'DuckDB']);
    t.diagnostic(line);
    console.log(`# ${line}`);
    assert.equal(failures.length, 0, `${line}\n${failures.join('\n\n')}`);
  });
});
