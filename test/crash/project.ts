// The crash suite's fixture projects and inputs: a fresh copy of a fixture per trial, the generated input written into
// it, and the appender that feeds a live flow's followed file in known batches while napkin runs.
import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { copyProject } from '../helpers.ts';
import type { FlowSpec } from './checks.ts';
import { type BoundedInput, boundedInput, type LiveInput, liveInput, type Prng } from './generate.ts';

export const FIXTURES = join(import.meta.dirname, 'fixtures');
/** DuckDB warehouse and file sinks: the bounded flow `batch_events` and the live flow `live_events`. */
export const PROJECT = join(FIXTURES, 'project');
/** The same flows writing to PostgreSQL tables (connection `env:NAPKIN_PG_URL`). */
export const PG_PROJECT = join(FIXTURES, 'pg-project');

/** A fresh copy of a fixture project in a temp dir (its own state folder, warehouse and outputs). */
export function newProject(fixture = PROJECT): string {
  return copyProject(fixture);
}

/** The bounded input of every trial: the same seed, so the reference run is computed once per suite file. */
export const BOUNDED_SEED = 11;
export function boundedData(): BoundedInput {
  return boundedInput(BOUNDED_SEED, { files: 4, rows: 4000, keys: 8, poison: 12 });
}

export const LIVE_SEED = 13;
/** Milliseconds between two batches appended to the followed file. */
export const LIVE_GAP_MS = 250;
export function liveData(): LiveInput {
  return liveInput(LIVE_SEED, { batches: 10, rows: 200, keys: 5, poison: 8 });
}

/** Writes the bounded input's first `files` files into the project (a delivery of files, as a step of a trial). */
export function writeBoundedFiles(dir: string, input: BoundedInput, files: number): void {
  const names = Object.keys(input.files).sort().slice(0, files);
  for (const name of names) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), input.files[name]);
  }
}

/** The input of the first `files` files alone: the expected quarantine after a step that saw only those. */
export function boundedSubset(input: BoundedInput, files: number): BoundedInput {
  const names = Object.keys(input.files).sort().slice(0, files);
  const keep = new Set(names);
  return {
    files: Object.fromEntries(names.map((n) => [n, input.files[n]])),
    good: [],
    bad: input.bad.filter((b) => keep.has(b.source)),
  };
}

/** The followed file of the live flow, relative to the project. */
export const LIVE_FILE = 'data/live.jsonl';

/**
 * Appends the live input's batches to the followed file, one every `gapMs` (± a seeded jitter), like a collector
 * that does not care whether napkin is up. Each batch is one write of whole lines.
 */
export class Appender {
  finished = false;
  readonly done: Promise<void>;

  constructor(dir: string, batches: readonly string[], gapMs: number, rng: Prng) {
    const file = join(dir, LIVE_FILE);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
    const gaps = batches.map(() => gapMs + rng.int(-gapMs / 4, gapMs / 4));
    this.done = (async () => {
      for (const [i, b] of batches.entries()) {
        await sleep(gaps[i]);
        appendFileSync(file, b);
      }
      this.finished = true;
    })();
  }
}

/** Removes a trial's project copy. */
export function removeProject(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** The bounded flow's sinks, as the checks read them. */
export const BATCH_FLOW: FlowSpec = {
  flow: 'batch_events',
  source: 'read_events',
  sinks: [
    { kind: 'duckdb', stage: 'write_crash_events_clean', table: 'crash.events_clean' },
    { kind: 'duckdb', stage: 'write_crash_per_key', table: 'crash.per_key' },
    { kind: 'parquet', stage: 'write_crash_per_minute', path: 'out/per-minute.parquet' },
    { kind: 'csv', stage: 'write_crash_big_events', path: 'out/big-events.csv' },
  ],
  edges: [
    ['read_events', 'write_crash_events_clean'],
    ['read_events', 'per_key'],
    ['per_key', 'write_crash_per_key'],
    ['read_events', 'per_minute'],
    ['per_minute', 'write_crash_per_minute'],
    ['read_events', 'big_events'],
    ['big_events', 'write_crash_big_events'],
  ],
  rowStages: ['read_events', 'big_events'],
};

/** The live flow's sinks. */
export const LIVE_FLOW: FlowSpec = {
  flow: 'live_events',
  source: 'read_live',
  sinks: [
    { kind: 'duckdb', stage: 'write_crash_live_windows', table: 'crash.live_windows' },
    { kind: 'jsonl', stage: 'write_crash_live_panes', path: 'out/live-panes.jsonl' },
  ],
  edges: [
    ['read_live', 'live_windows'],
    ['live_windows', 'write_crash_live_windows'],
    ['live_windows', 'write_crash_live_panes'],
  ],
  rowStages: ['read_live'],
};
