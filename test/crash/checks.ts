// The crash suite's checks (spec reliability §3, "Checks"): what a project holds once a trial's run completed, read
// the way committed-only readers read it (warehouse tables, file sinks through their manifests, PostgreSQL tables),
// compared with the reference run's snapshot E: sink contents as multisets (lost and duplicated rows listed apart),
// the quarantine (each bad record exactly once), counter conservation, the epoch records and leftovers.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import type { Pg } from '../../src/connectors/postgres/connection.ts';
import { type Duck, openDuck, type Row, sqlString } from '../helpers.ts';
import type { BadRecord } from './generate.ts';
import type { RunRecord } from './harness.ts';

export type SinkSpec =
  | { readonly kind: 'duckdb'; readonly stage: string; readonly table: string }
  | { readonly kind: 'parquet' | 'csv' | 'jsonl'; readonly stage: string; readonly path: string }
  | { readonly kind: 'postgres'; readonly stage: string; readonly table: string };

/** What the checks need to know of a flow. */
export interface FlowSpec {
  readonly flow: string;
  /** The source stage, which quarantines bad records. */
  readonly source: string;
  readonly sinks: readonly SinkSpec[];
  /** Stage edges: the input stage's `out` is the output stage's `in`. */
  readonly edges: readonly (readonly [string, string])[];
  /** Stages that pass rows through (source, filter): in = out + filtered + quarantined + late-dropped. */
  readonly rowStages: readonly string[];
}

export interface Counters {
  readonly in: number;
  readonly out: number;
  readonly quarantined: number;
  readonly filtered: number;
  readonly lateDropped: number;
}

/** A flow's epoch records in the state folder. */
export interface EpochRecords {
  readonly offsets: readonly number[];
  readonly commits: readonly number[];
  readonly checkpoints: readonly number[];
  /** The first epoch of the current output (the latest fresh one). */
  readonly first: number;
  readonly latestFinal: boolean;
  /** Damage found while reading them (unparsable files, a checkpoint failing its checksum). */
  readonly problems: readonly string[];
}

/** What a completed trial's project holds. */
export interface Snapshot {
  readonly flow: string;
  /** Per sink stage, its committed rows in a canonical text form (a multiset: order is not compared). */
  readonly sinks: Readonly<Record<string, readonly string[]>>;
  /** Quarantine entries of the current output's epochs, as `source:line:raw`. */
  readonly quarantine: readonly string[];
  /** Quarantine entries of an epoch that has no commit entry. */
  readonly strayQuarantine: readonly string[];
  /** Per stage, the counters the completing run reported (`--json`). */
  readonly counters: Readonly<Record<string, Counters>>;
  /** The counters in the latest checkpoint manifest. */
  readonly checkpointCounters: Readonly<Record<string, Counters>> | undefined;
  readonly epochs: EpochRecords;
  /** Per sink stage, the epochs whose commit key it holds. */
  readonly sinkKeys: Readonly<Record<string, readonly number[]>>;
  /** Temporary files, staging rows, locks and uncommitted file tails left behind. */
  readonly leaks: readonly string[];
}

export interface CheckResult {
  readonly name: CheckName;
  readonly ok: boolean;
  readonly detail: string;
}

export const CHECKS = ['sinks = E', 'quarantine = Q once', 'counters conserve', 'epoch records', 'no leaks'] as const;
export type CheckName = (typeof CHECKS)[number];

/** What the expected quarantine and source counts are, independently of napkin: from the generator. */
export interface Expectation {
  readonly bad: readonly BadRecord[];
  /** Records the source reads: good plus bad. */
  readonly sourceRecords: number;
}

const STATE = '.napkin';

/** Reads everything the checks compare; `pg` reads PostgreSQL sinks. */
export async function capture(dir: string, spec: FlowSpec, final: RunRecord, pg?: Pg): Promise<Snapshot> {
  const epochs = readEpochRecords(dir, spec.flow);
  const leaks = scanFiles(dir);
  const sinks: Record<string, string[]> = {};
  const sinkKeys: Record<string, number[]> = {};
  let quarantine: string[] = [];
  let stray: string[] = [];
  const warehouse = join(dir, 'out', 'warehouse.duckdb');
  const duck = await openDuck();
  try {
    if (existsSync(warehouse)) await duck.query(`ATTACH ${sqlString(warehouse)} AS wh (READ_ONLY)`);
    for (const s of spec.sinks) {
      if (s.kind === 'duckdb') {
        sinks[s.stage] = (await duck.query(`SELECT * FROM wh.${s.table}`)).map(canonical);
        sinkKeys[s.stage] = (
          await duck.query(
            `SELECT epoch FROM wh.napkin_meta.sink_commits WHERE flow = ${sqlString(spec.flow)} AND sink = ${sqlString(s.stage)} ORDER BY epoch`,
          )
        ).map((r) => Number(r.epoch));
      } else if (s.kind === 'postgres') {
        if (pg === undefined) throw new Error(`sink ${s.stage} is in PostgreSQL: capture needs a connection`);
        const rows = await pg`select row_to_json(t)::text as line from ${pg(s.table)} as t`;
        sinks[s.stage] = rows.map((r) => canonical(JSON.parse(String(r.line)) as Row));
        const keys = await pg`select epoch::int as e from napkin.commits
          where flow = ${spec.flow} and sink = ${s.stage} order by epoch`;
        sinkKeys[s.stage] = keys.map((k) => Number(k.e));
      } else {
        const f = await readFileSink(duck, join(dir, s.path), s.kind);
        sinks[s.stage] = f.rows;
        sinkKeys[s.stage] = f.epochs;
        leaks.push(...f.leaks);
      }
    }
    if (existsSync(warehouse)) {
      const committed = new Set(epochs.commits);
      const current = new Set(epochs.commits.filter((e) => e >= epochs.first));
      const q = await duck.query(
        `SELECT run_id, source, line, raw FROM wh.napkin_meta.quarantine WHERE flow = ${sqlString(spec.flow)}`,
      );
      for (const r of q) {
        const m = /#(\d+)$/.exec(String(r.run_id));
        const entry = `${r.source}:${r.line}:${r.raw}`;
        const epoch = m === null ? undefined : Number(m[1]);
        if (epoch === undefined || !committed.has(epoch)) stray.push(`${r.run_id} ${entry}`);
        else if (current.has(epoch)) quarantine.push(entry);
      }
      const staging = await duck.query(
        `SELECT table_name FROM information_schema.tables WHERE table_catalog = 'wh' AND table_schema = 'napkin_staging'`,
      );
      for (const t of staging) leaks.push(`warehouse staging table napkin_staging.${t.table_name}`);
    } else {
      quarantine = [];
      stray = [];
    }
  } finally {
    duck.close();
  }
  if (pg !== undefined) {
    const staged = await pg`select count(*)::int as n from napkin.pending where flow = ${spec.flow}`;
    if (Number(staged[0].n) > 0) leaks.push(`${staged[0].n} pending row(s) in napkin.pending`);
    const stages = await pg`select table_name from information_schema.tables
      where table_schema = 'napkin' and table_name like 'stage\\_%'`;
    for (const t of stages) {
      const n = await pg`select count(*)::int as n from ${pg(`napkin.${t.table_name}`)}`;
      if (Number(n[0].n) > 0) leaks.push(`${n[0].n} staged row(s) in napkin.${t.table_name}`);
    }
  }
  return {
    flow: spec.flow,
    sinks,
    quarantine,
    strayQuarantine: stray,
    counters: countersOf(final, spec.flow),
    checkpointCounters: checkpointCounters(dir, spec.flow, epochs),
    epochs,
    sinkKeys,
    leaks,
  };
}

/** Compares a trial's snapshot with the reference's and with the generator's expectation. */
export function compare(ref: Snapshot, got: Snapshot, spec: FlowSpec, expect: Expectation): CheckResult[] {
  return [
    checkSinks(ref, got),
    checkQuarantine(got, expect),
    checkCounters(ref, got, spec, expect),
    checkEpochs(got, spec),
    { name: 'no leaks', ok: got.leaks.length === 0, detail: got.leaks.join('; ') },
  ];
}

function checkSinks(ref: Snapshot, got: Snapshot): CheckResult {
  const problems: string[] = [];
  for (const [stage, expected] of Object.entries(ref.sinks)) {
    const d = multisetDiff(got.sinks[stage] ?? [], expected);
    if (d !== null) problems.push(`${stage}: ${d}`);
  }
  return { name: 'sinks = E', ok: problems.length === 0, detail: problems.join('\n') };
}

function checkQuarantine(got: Snapshot, expect: Expectation): CheckResult {
  const problems: string[] = [];
  const d = multisetDiff(
    got.quarantine,
    expect.bad.map((b) => `${b.source}:${b.line}:${b.raw}`),
  );
  if (d !== null) problems.push(`quarantine of the current output: ${d}`);
  if (got.strayQuarantine.length > 0)
    problems.push(`entries of uncommitted epochs: ${got.strayQuarantine.slice(0, 5).join(' | ')}`);
  return { name: 'quarantine = Q once', ok: problems.length === 0, detail: problems.join('\n') };
}

function checkCounters(ref: Snapshot, got: Snapshot, spec: FlowSpec, expect: Expectation): CheckResult {
  const problems: string[] = [];
  const c = got.counters;
  if (Object.keys(c).length === 0) problems.push('the completing run reported no counters');
  const src = c[spec.source];
  if (src !== undefined && src.in !== expect.sourceRecords)
    problems.push(`${spec.source}: in ${src.in}, the input has ${expect.sourceRecords} records`);
  if (src !== undefined && src.quarantined !== expect.bad.length)
    problems.push(`${spec.source}: quarantined ${src.quarantined}, the input has ${expect.bad.length} bad records`);
  for (const s of spec.rowStages) {
    const m = c[s];
    if (m !== undefined && m.in !== m.out + m.filtered + m.quarantined + m.lateDropped)
      problems.push(
        `${s}: in ${m.in} ≠ out ${m.out} + filtered ${m.filtered} + quarantined ${m.quarantined} + late ${m.lateDropped}`,
      );
  }
  for (const [from, to] of spec.edges) {
    if (c[from] !== undefined && c[to] !== undefined && c[from].out !== c[to].in)
      problems.push(`${from} out ${c[from].out} ≠ ${to} in ${c[to].in}`);
  }
  for (const s of spec.sinks) {
    const m = c[s.stage];
    if (m !== undefined && m.in !== m.out) problems.push(`${s.stage}: in ${m.in} ≠ out ${m.out}`);
  }
  for (const [stage, m] of Object.entries(ref.counters)) {
    if (!sameCounters(c[stage], m))
      problems.push(`${stage}: ${JSON.stringify(c[stage])}, the reference run has ${JSON.stringify(m)}`);
  }
  if (got.checkpointCounters === undefined) problems.push('the latest checkpoint has no counters');
  else {
    for (const [stage, m] of Object.entries(c)) {
      if (!sameCounters(got.checkpointCounters[stage], m))
        problems.push(
          `${stage}: checkpoint says ${JSON.stringify(got.checkpointCounters[stage])}, the run ${JSON.stringify(m)}`,
        );
    }
  }
  return { name: 'counters conserve', ok: problems.length === 0, detail: problems.join('\n') };
}

function checkEpochs(got: Snapshot, spec: FlowSpec): CheckResult {
  const e = got.epochs;
  const problems = [...e.problems];
  const last = e.offsets.at(-1);
  if (last === undefined) problems.push('no offset entry');
  else {
    if (e.offsets.some((n, i) => n !== i + 1))
      problems.push(`offset entries are not 1…${last}: ${e.offsets.join(',')}`);
    if (e.commits.at(-1) !== last)
      problems.push(`latest commit entry ${e.commits.at(-1)} ≠ latest offset entry ${last}`);
    const uncommitted = e.offsets.filter((n) => !e.commits.includes(n));
    if (uncommitted.length > 0) problems.push(`planned but never committed: epochs ${uncommitted.join(',')}`);
    const unplanned = e.commits.filter((n) => !e.offsets.includes(n));
    if (unplanned.length > 0) problems.push(`committed but never planned: epochs ${unplanned.join(',')}`);
    if (!e.latestFinal) problems.push(`latest offset entry ${last} is not final: the run did not complete`);
    if (e.checkpoints.length !== 1 || e.checkpoints[0] !== last)
      problems.push(`checkpoints ${e.checkpoints.join(',') || 'none'}: expected only ${last}`);
    for (const s of spec.sinks) {
      const keys = got.sinkKeys[s.stage] ?? [];
      const missing = [];
      for (let n = e.first; n <= last; n++) if (!keys.includes(n)) missing.push(n);
      if (missing.length > 0) problems.push(`${s.stage} lacks the commit key of epoch(s) ${missing.join(',')}`);
      const beyond = keys.filter((n) => n > last);
      if (beyond.length > 0) problems.push(`${s.stage} holds keys of unplanned epochs ${beyond.join(',')}`);
    }
  }
  return { name: 'epoch records', ok: problems.length === 0, detail: problems.join('\n') };
}

/** Null when equal as multisets; else the lost, duplicated and unexpected rows, a few of each. */
export function multisetDiff(actual: readonly string[], expected: readonly string[]): string | null {
  const count = new Map<string, number>();
  for (const r of expected) count.set(r, (count.get(r) ?? 0) + 1);
  const seen = new Map<string, number>();
  for (const r of actual) seen.set(r, (seen.get(r) ?? 0) + 1);
  const lost: string[] = [];
  const dup: string[] = [];
  const unexpected: string[] = [];
  for (const [r, n] of count) {
    const m = seen.get(r) ?? 0;
    if (m < n) lost.push(n === 1 ? r : `${r} (${m} of ${n})`);
    if (m > n) dup.push(`${r} (×${m}, expected ×${n})`);
  }
  for (const [r, m] of seen) if (!count.has(r)) unexpected.push(m === 1 ? r : `${r} (×${m})`);
  if (lost.length + dup.length + unexpected.length === 0) return null;
  const some = (xs: string[]) => `${xs.length} [${xs.slice(0, 3).join(' | ')}${xs.length > 3 ? ' | …' : ''}]`;
  const parts = [`${actual.length} rows, expected ${expected.length}`];
  if (lost.length > 0) parts.push(`lost ${some(lost)}`);
  if (dup.length > 0) parts.push(`duplicated ${some(dup)}`);
  if (unexpected.length > 0) parts.push(`unexpected ${some(unexpected)}`);
  return parts.join('; ');
}

/** A row as sorted-key JSON, so equal rows give equal text whatever the column order. */
export function canonical(r: Row): string {
  return JSON.stringify(
    Object.fromEntries(
      Object.keys(r)
        .sort()
        .map((k) => [k, r[k]]),
    ),
  );
}

function sameCounters(a: Counters | undefined, b: Counters | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return (
    a.in === b.in &&
    a.out === b.out &&
    a.quarantined === b.quarantined &&
    a.filtered === b.filtered &&
    a.lateDropped === b.lateDropped
  );
}

function pickCounters(m: Partial<Counters>): Counters {
  return {
    in: m.in ?? 0,
    out: m.out ?? 0,
    quarantined: m.quarantined ?? 0,
    filtered: m.filtered ?? 0,
    lateDropped: m.lateDropped ?? 0,
  };
}

/** The counters a `napkin run FLOW --json` printed for the flow. */
function countersOf(final: RunRecord, flow: string): Record<string, Counters> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(final.stdout);
  } catch {
    return {};
  }
  const f = (parsed as { flow: string; stages: (Partial<Counters> & { stage: string })[] }[]).find(
    (x) => x.flow === flow,
  );
  return Object.fromEntries((f?.stages ?? []).map((s) => [s.stage, pickCounters(s)]));
}

function flowDir(dir: string, flow: string): string {
  return join(dir, STATE, 'flows', flow);
}

function numbers(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /^\d{12}\.json$/.test(n))
    .map((n) => Number(n.slice(0, 12)))
    .sort((a, b) => a - b);
}

function entryPath(dir: string, flow: string, kind: string, n: number): string {
  return join(flowDir(dir, flow), kind, `${String(n).padStart(12, '0')}.json`);
}

export function readEpochRecords(dir: string, flow: string): EpochRecords {
  const problems: string[] = [];
  const base = flowDir(dir, flow);
  const offsets = numbers(join(base, 'offsets'));
  const commits = numbers(join(base, 'commits'));
  const checkpoints = numbers(join(base, 'checkpoints'));
  const read = (kind: string, n: number): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(readFileSync(entryPath(dir, flow, kind, n), 'utf8')) as Record<string, unknown>;
    } catch (e) {
      problems.push(`${kind}/${n}: ${(e as Error).message}`);
      return undefined;
    }
  };
  let first = 1;
  let latestFinal = false;
  const last = offsets.at(-1);
  if (last !== undefined) {
    latestFinal = read('offsets', last)?.final === true;
    for (let n = last; n >= 1; n--) {
      const e = read('offsets', n);
      if (e === undefined) break;
      if (e.epoch !== n || e.flow !== flow) problems.push(`offsets/${n} names epoch ${e.epoch} of flow ${e.flow}`);
      if (e.fresh === true) {
        first = n;
        break;
      }
    }
  }
  for (const n of checkpoints) {
    const m = read('checkpoints', n);
    if (m === undefined) continue;
    const { checksum, ...rest } = m;
    if (createHash('sha256').update(JSON.stringify(rest)).digest('hex') !== checksum)
      problems.push(`checkpoints/${n} fails its checksum`);
  }
  for (const n of commits) {
    const c = read('commits', n);
    if (c !== undefined && c.epoch !== n) problems.push(`commits/${n} names epoch ${c.epoch}`);
  }
  return { offsets, commits, checkpoints, first, latestFinal, problems };
}

function checkpointCounters(dir: string, flow: string, e: EpochRecords): Record<string, Counters> | undefined {
  const n = e.checkpoints.at(-1);
  if (n === undefined) return undefined;
  try {
    const m = JSON.parse(readFileSync(entryPath(dir, flow, 'checkpoints', n), 'utf8')) as {
      metrics?: Record<string, Partial<Counters>>;
    };
    return m.metrics === undefined
      ? undefined
      : Object.fromEntries(Object.entries(m.metrics).map(([k, v]) => [k, pickCounters(v)]));
  } catch {
    return undefined;
  }
}

/** A file sink read as its manifest says: the committed bytes (text) or rows (Parquet) of its latest epoch. */
async function readFileSink(
  duck: Duck,
  path: string,
  kind: 'parquet' | 'csv' | 'jsonl',
): Promise<{ rows: string[]; epochs: number[]; leaks: string[] }> {
  const manifestPath = join(dirname(path), `.${basename(path)}.napkin-commits.json`);
  if (!existsSync(manifestPath)) return { rows: [], epochs: [], leaks: [] };
  const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    epochs: { epoch: number; rows: number; bytes: number }[];
  };
  const last = m.epochs[m.epochs.length - 1];
  const epochs = m.epochs.map((e) => e.epoch);
  const leaks: string[] = [];
  const size = existsSync(path) ? statSync(path).size : -1;
  if (size !== last.bytes) leaks.push(`${basename(path)} has ${size} bytes, its manifest commits ${last.bytes}`);
  if (kind === 'parquet') {
    const file = sqlString(path);
    const all = await duck.query(`SELECT count(*) AS n FROM read_parquet(${file})`);
    if (Number(all[0].n) !== last.rows)
      leaks.push(`${basename(path)} has ${all[0].n} rows, its manifest commits ${last.rows}`);
    const rows = await duck.query(
      `SELECT * EXCLUDE (file_row_number) FROM read_parquet(${file}, file_row_number = true) WHERE file_row_number < ${last.rows}`,
    );
    return { rows: rows.map(canonical), epochs, leaks };
  }
  const text = readFileSync(path).subarray(0, last.bytes).toString('utf8');
  const lines = text.split('\n').filter((l) => l !== '');
  const rows = kind === 'csv' ? lines.slice(1) : lines.map((l) => canonical(JSON.parse(l) as Row));
  if (rows.length !== last.rows)
    leaks.push(`${basename(path)}: ${rows.length} committed rows, its manifest says ${last.rows}`);
  return { rows, epochs, leaks };
}

/**
 * Files left behind in the project: temporary files (`*.tmp`), DuckDB write-ahead logs, flow locks and log locks
 * (every process ended, so none should remain).
 */
export function scanFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (rel === 'node_modules' || rel === 'data') continue;
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.tmp')) found.push(`temporary file ${rel}`);
      else if (name.endsWith('.wal')) found.push(`write-ahead log ${rel}`);
      else if (name === 'owner.json') found.push(`flow lock ${rel}`);
      else if (name === 'LOCK') found.push(`log lock ${rel}`);
    }
  };
  if (existsSync(dir)) walk(dir);
  return found;
}

/** Every file of a project but its inputs and node_modules, with a hash of its contents. */
export function treeHashes(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (rel === 'node_modules' || rel === 'data') continue;
      if (statSync(p).isDirectory()) walk(p);
      else out.set(rel, createHash('sha256').update(readFileSync(p)).digest('hex'));
    }
  };
  walk(dir);
  return out;
}

/** The files created, removed or changed between two {@link treeHashes}. */
export function changedFiles(before: Map<string, string>, now: Map<string, string>): string[] {
  const changed: string[] = [];
  for (const [f, h] of now) if (before.get(f) !== h) changed.push(before.has(f) ? `changed ${f}` : `created ${f}`);
  for (const f of before.keys()) if (!now.has(f)) changed.push(`removed ${f}`);
  return changed.sort();
}

/** A one-line description of failed checks. */
export function describeFailures(results: readonly CheckResult[]): string {
  return results
    .filter((r) => !r.ok)
    .map((r) => `  ✗ ${r.name}: ${r.detail.split('\n').join('\n      ')}`)
    .join('\n');
}
