/**
 * `napkin quarantine replay`: re-injects quarantined records of a dataset into its topic once they pass its contract,
 * keeping their original record ids (issue 5; spec reliability §4).
 *
 * A record is known by its quarantine id (runtime/quarantine.ts `quarantineId`). A replay re-validates, under the
 * dataset's current contract, each selected record of the topic's current generation: its original text (the fix is
 * a contract change), or the corrected record a user gave for its id (`--file`). The ones that pass go into the topic
 * as rows, followed by a `replay` marker naming the ids they resolve, in one atomic append (topic.ts); the ones that
 * still fail are named in the same marker with their new error. Every flow that reads the dataset sees the rows at
 * its next epoch, and a reader skips a quarantined record a marker before it resolved, so a run that recomputes from
 * the generation's start has the record once, as a row.
 *
 * The log is the truth: an id the current generation already resolved is never appended again, whatever crashed
 * where, and `napkin_meta.quarantine_replays` (with the status, replayed_at and attempts of the quarantine rows) is
 * a projection of the markers, rewritten by every replay and every run that opens the topic.
 *
 * A new generation (a source file changed) is ingested from the files again, so the replayed rows of the previous one
 * are not in it. Fixes are carried: once its files are in, every id replayed before that the new generation
 * quarantines again (the same record, unchanged, at the same place) is tried again, with the user's corrected record
 * if there was one, in a replay chunk marked `carry`. A record corrected in the file itself is simply read as a row.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { crashPoint } from '../connectors/crash-point.ts';
import { type ReplayRow, Warehouse } from '../connectors/duckdb/warehouse.ts';
import { CsvParser, type ParsedRows } from '../connectors/files/csv-parser.ts';
import { JsonlParser } from '../connectors/files/jsonl-parser.ts';
import type { Contract } from '../flow/contract.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { Storage } from '../flow/storage.ts';
import { LogLockedError } from '../log/errors.ts';
import { type BatchBuilder, finishBuilder, newColumns } from '../runtime/batch.ts';
import { isPlainObject } from '../runtime/json-values.ts';
import { QUARANTINE_ID, type QuarantineEntry, quarantineId } from '../runtime/quarantine.ts';
import {
  compileTextValidator,
  compileValueValidator,
  type TextValidator,
  type ValueValidator,
} from '../runtime/validate.ts';
import { openDatasetTopic } from './dataset-topic.ts';
import { storageOf } from './flow-io.ts';
import { decodeEntry, kindOf, type ReplayFailure, type ReplayMarker, type TopicState, topicDir } from './topic.ts';
import type { Topic } from './topic-log.ts';
import type { Workspace } from './workspace.ts';

/** The key of a corrected record (`--file`) that names the quarantine id it fixes. */
export const FIX_ID_KEY = '_quarantine_id';

/** A corrected record given for one quarantine id. */
export interface Fix {
  readonly id: string;
  /** The record without its `_quarantine_id`. */
  readonly record: Record<string, unknown>;
  /** Where it was given (file and line), for messages. */
  readonly at: string;
}

/** The user asked for something that is not there or gave a file that cannot be used: exit code 2. */
export class ReplayUsageError extends Error {}

export interface QuarantineReplayOptions {
  readonly dataset: string;
  /** The project's state folder (`.napkin`). */
  readonly stateDir: string;
  /** Only these quarantine ids (default: every quarantined record of the current input, or every fix given). */
  readonly ids?: readonly string[];
  /** Corrected records, by id (`--file`). */
  readonly fixes?: readonly Fix[];
  /** Validate and report, change nothing. */
  readonly dryRun?: boolean;
}

export type OutcomeKind = 'replayed' | 'failing' | 'already';

/** What became of one quarantined record. */
export interface ReplayOutcome {
  readonly id: string;
  readonly kind: OutcomeKind;
  /** `file:line`, or `file record n`. */
  readonly where: string;
  /** Attempts so far, the ingestion that quarantined it included (after this one, unless a dry run). */
  readonly attempts: number;
  /** Why it still fails. */
  readonly error?: Omit<ReplayFailure, 'id'>;
  /** Corrected record given (`--file`) rather than the original text. */
  readonly fixed: boolean;
}

export interface ReplayReport {
  readonly dataset: string;
  readonly dryRun: boolean;
  readonly outcomes: readonly ReplayOutcome[];
  readonly replayed: number;
  readonly failing: number;
  readonly already: number;
}

/**
 * Replays quarantined records of a dataset (see the module comment). Nothing is appended unless something was tried;
 * the bookkeeping is written from the log whatever happened, so running the same command again after a crash
 * settles it without appending anything twice.
 */
export async function replayQuarantine(ws: Workspace, o: QuarantineReplayOptions): Promise<ReplayReport> {
  const ds = replayableDataset(ws, o.dataset);
  const contract = ds.contract as Contract;
  const dir = topicDir(o.stateDir, ds.name);
  const onKafka = ws.project.log !== undefined;
  if (!onKafka && !existsSync(join(dir, 'log.json')))
    throw new Error(
      `dataset ${ds.name} has no topic yet: nothing of it has been ingested, so nothing is quarantined; run \`napkin run\` first`,
    );
  const topic = await openTopic(o.stateDir, ds.name, ws);
  if (onKafka && topic.state.generation < 0) {
    await topic.close();
    throw new Error(
      `dataset ${ds.name} has no records in its topic on Kafka yet: nothing of it has been ingested, so nothing is quarantined; run \`napkin run\` first`,
    );
  }
  let warehouse: Warehouse | undefined;
  try {
    assertSameFields(topic, contract);
    if (o.dryRun !== true) warehouse = await Warehouse.open(ws.warehousePath);
    const quarantined = await quarantinedInGeneration(topic);
    const targets = selectTargets(ds.name, topic.state, quarantined, o);
    const resolved = topic.state.resolved ?? {};
    const history = topic.state.replays ?? {};
    const checker = new Checker(ws.root, ds, contract);
    const tried = await checker.tryAll(targets.filter((t) => resolved[t.id] === undefined));
    const outcomes: ReplayOutcome[] = targets.map((t) => {
      const before = 1 + (history[t.id]?.attempts ?? 0);
      const where = whereOf(t.entry);
      if (resolved[t.id] !== undefined)
        return { id: t.id, kind: 'already', where, attempts: before, fixed: t.fix !== undefined };
      const r = tried.results.get(t.id) as TryResult;
      const attempts = o.dryRun === true ? before : before + 1;
      return r.ok
        ? { id: t.id, kind: 'replayed', where, attempts, fixed: t.fix !== undefined }
        : { id: t.id, kind: 'failing', where, attempts, error: r.error, fixed: t.fix !== undefined };
    });
    if (o.dryRun !== true) {
      crashPoint('quarantine-replay-validated');
      if (tried.results.size > 0) {
        await appendReplay(topic, contract, tried, false);
        crashPoint('quarantine-replay-append');
      }
      await syncReplays(warehouse as Warehouse, ds.name, topic.state);
      crashPoint('quarantine-replay-bookkept');
    }
    const count = (k: OutcomeKind) => outcomes.filter((x) => x.kind === k).length;
    return {
      dataset: ds.name,
      dryRun: o.dryRun === true,
      outcomes,
      replayed: count('replayed'),
      failing: count('failing'),
      already: count('already'),
    };
  } finally {
    warehouse?.close();
    await topic.close();
  }
}

/**
 * Carries the fixes of earlier generations into the current one (see the module comment), once its files are in.
 * Does nothing unless a generation started since records were replayed; appends a `carry` replay chunk, even an empty
 * one, so it is done once.
 */
export async function carryReplays(root: string, topic: Topic, ds: Dataset): Promise<void> {
  if (topic.state.carry !== true || topic.state.partial !== undefined) return;
  const contract = ds.contract as Contract;
  const history = topic.state.replays ?? {};
  const resolved = topic.state.resolved ?? {};
  const targets: Target[] = [];
  for (const [id, { entry, offset }] of await quarantinedInGeneration(topic)) {
    const h = history[id];
    if (h?.status !== 'replayed' || resolved[id] !== undefined) continue;
    const fix = h.fix === undefined ? undefined : parseStoredFix(id, h.fix);
    targets.push({ id, entry, offset, ...(fix === undefined ? {} : { fix }) });
  }
  const tried = await new Checker(root, ds, contract).tryAll(targets);
  await appendReplay(topic, contract, tried, true);
  await topic.saveState();
}

/**
 * Rewrites the dataset's rows of `napkin_meta.quarantine_replays` from the topic's replay history, and the status,
 * replayed_at and attempts of its quarantine rows from them, in one transaction. Cheap when nothing was ever replayed.
 */
export async function syncReplays(w: Warehouse, dataset: string, state: TopicState): Promise<void> {
  const rows: ReplayRow[] = Object.entries(state.replays ?? {}).map(([id, h]) => ({
    id,
    status: h.status,
    attempts: 1 + h.attempts,
    replayedAt: h.status === 'replayed' ? new Date(h.at).toISOString() : null,
    error: h.error ?? null,
  }));
  await w.replaceReplays(dataset, rows);
}

/**
 * Reads a `--file` of corrected records: one JSON object per line, each with its `_quarantine_id`. Blank lines are
 * skipped. Throws {@link ReplayUsageError} naming the line of anything else.
 */
export function parseFixFile(text: string, file: string): Fix[] {
  const fixes: Fix[] = [];
  const seen = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const at = `${file}:${i + 1}`;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new ReplayUsageError(
        `${at}: not JSON (${(e as Error).message}); give one corrected record per line, a JSON object with its ${FIX_ID_KEY}`,
      );
    }
    if (!isPlainObject(v))
      throw new ReplayUsageError(`${at}: a corrected record must be a JSON object with its ${FIX_ID_KEY}`);
    const { [FIX_ID_KEY]: id, ...record } = v;
    if (typeof id !== 'string' || !QUARANTINE_ID.test(id))
      throw new ReplayUsageError(
        `${at}: ${FIX_ID_KEY} must be the id \`napkin quarantine show\` gives the record (12 hex digits), found ${JSON.stringify(id) ?? 'none'}`,
      );
    const twice = seen.get(id);
    if (twice !== undefined) throw new ReplayUsageError(`${at}: a second fix for ${id} (the first is at ${twice})`);
    seen.set(id, at);
    fixes.push({ id, record, at });
  });
  return fixes;
}

// ─── selection ──────────────────────────────────────────────────────────────────────────────────────────────────

/** A quarantined record of the current generation to try, with the corrected record given for it, if any. */
interface Target {
  readonly id: string;
  readonly entry: QuarantineEntry;
  /** Offset of its 'q' record: targets are tried and appended in log order. */
  readonly offset: number;
  readonly fix?: Fix;
}

function replayableDataset(ws: Workspace, name: string): Dataset {
  const node = ws.plan.datasets.get(name);
  if (node === undefined)
    throw new ReplayUsageError(`unknown dataset ${name}; the project has ${[...ws.plan.datasets.keys()].join(', ')}`);
  const ds = node.dataset;
  const st = storageOf(ds);
  if (st.kind === 'postgresCdc')
    throw new Error(
      `dataset ${name} is read by change data capture from postgres ${st.table}: correct the row in the table itself, and the fix arrives as an update (its quarantined change stays as it was)`,
    );
  if (st.kind !== 'csv' && st.kind !== 'jsonl' && st.kind !== 'parquet' && st.kind !== 'kafka')
    throw new Error(
      `dataset ${name} is stored in ${st.kind} (${'table' in st ? st.table : ''}), which flows read directly, not through a topic; correct the rows in the table itself`,
    );
  if (ds.contract === undefined)
    throw new Error(`dataset ${name} has no contract; napkin check reports this as NAP011`);
  return ds;
}

/**
 * The dataset's topic, where the project keeps its log. On Kafka, opening it takes the topic's writer id over: a
 * `napkin run` ingesting the dataset meanwhile is fenced and stops, saying so, and is run again afterwards.
 */
async function openTopic(stateDir: string, dataset: string, ws: Workspace): Promise<Topic> {
  try {
    return await openDatasetTopic(stateDir, dataset, ws.project.name, ws.project.log);
  } catch (e) {
    if (e instanceof LogLockedError)
      throw new Error(
        `dataset ${dataset}: its topic is in use by pid ${e.pid} (a napkin run reading it); replay once that process has stopped (SIGINT or SIGTERM ends a live run cleanly)`,
      );
    throw e;
  }
}

/** Rows go into the topic in its generation's field order, which must still be the contract's. */
function assertSameFields(topic: Topic, contract: Contract): void {
  const fields = contract.schema.fields.map((f) => f.name);
  const had = topic.state.fields;
  if (topic.state.generation < 0 || (had.length === fields.length && had.every((f, i) => f === fields[i]))) return;
  throw new Error(
    `dataset ${topic.dataset}: its contract's fields (${fields.join(', ')}) differ from those its topic was ingested with (${had.join(', ')}); run \`napkin run\` first, which ingests the files again under the new contract, then replay what is still quarantined`,
  );
}

/** The quarantined records of the topic's current generation, by id, in log order. */
async function quarantinedInGeneration(
  topic: Topic,
): Promise<Map<string, { readonly entry: QuarantineEntry; readonly offset: number }>> {
  const out = new Map<string, { entry: QuarantineEntry; offset: number }>();
  const { generation, end } = topic.state;
  if (generation < 0) return out;
  let from = Math.max(generation, topic.log.startOffset(0));
  while (from < end) {
    const records = await topic.read(from, 4096);
    if (records.length === 0) break;
    for (const r of records) {
      if (r.offset >= end) break;
      if (kindOf(r) !== 'quarantine') continue;
      const entry = decodeEntry(r);
      const id = quarantineId(topic.dataset, entry);
      if (!out.has(id)) out.set(id, { entry, offset: r.offset });
    }
    from = records[records.length - 1].offset + 1;
  }
  return out;
}

function selectTargets(
  dataset: string,
  state: TopicState,
  quarantined: ReadonlyMap<string, { readonly entry: QuarantineEntry; readonly offset: number }>,
  o: QuarantineReplayOptions,
): Target[] {
  const fixes = new Map((o.fixes ?? []).map((f) => [f.id, f]));
  for (const id of o.ids ?? [])
    if (!QUARANTINE_ID.test(id))
      throw new ReplayUsageError(
        `--id ${id}: a quarantine id is 12 hex digits, as \`napkin quarantine show ${dataset}\` prints it`,
      );
  const wanted = o.ids !== undefined && o.ids.length > 0 ? [...new Set(o.ids)] : undefined;
  const ids = wanted ?? (o.fixes !== undefined ? [...fixes.keys()] : [...quarantined.keys()]);
  const unknown = ids.filter((id) => !quarantined.has(id));
  if (unknown.length > 0) {
    const gone = unknown.filter((id) => state.replays?.[id] !== undefined);
    const fixAt = (id: string) => (fixes.has(id) ? ` (${fixes.get(id)?.at})` : '');
    throw new ReplayUsageError(
      `dataset ${dataset} has no quarantined record ${unknown.map((id) => `${id}${fixAt(id)}`).join(', ')} in its current input${gone.length > 0 ? ` (${gone.join(', ')} was replayed before its source changed; the current input no longer has it as it was)` : ''}; see \`napkin quarantine show ${dataset}\` for the ids of open records`,
    );
  }
  if (wanted !== undefined && o.fixes !== undefined) {
    const missing = wanted.filter((id) => !fixes.has(id));
    if (missing.length > 0)
      throw new ReplayUsageError(`--id ${missing.join(', ')}: the --file gives no corrected record for it`);
  }
  return ids
    .map((id) => {
      const q = quarantined.get(id) as { entry: QuarantineEntry; offset: number };
      const fix = fixes.get(id);
      return { id, entry: q.entry, offset: q.offset, ...(fix === undefined ? {} : { fix }) };
    })
    .sort((a, b) => a.offset - b.offset);
}

function whereOf(e: QuarantineEntry): string {
  return e.line === undefined ? `${e.source} record ${e.record}` : `${e.source}:${e.line}`;
}

function parseStoredFix(id: string, text: string): Fix {
  return { id, record: JSON.parse(text) as Record<string, unknown>, at: `the fix replayed for ${id}` };
}

// ─── validation ─────────────────────────────────────────────────────────────────────────────────────────────────

type TryResult = { readonly ok: true } | { readonly ok: false; readonly error: Omit<ReplayFailure, 'id'> };

/** The records tried: each one's result, and the rows of those that passed (contract order, in target order). */
interface Tried {
  readonly results: Map<string, TryResult>;
  readonly passed: readonly Target[];
  readonly builder: BatchBuilder;
}

/**
 * Re-validates quarantined records under the dataset's current contract, with the compiled validators ingestion
 * uses: a CSV record against its file's header, a JSON Lines record as a JSON object, a Parquet record as the JSON
 * of its values, and a corrected record (`--file`) as a JSON object whatever the format. Good rows are appended to
 * one batch builder, in the order tried.
 */
class Checker {
  private readonly storage: Storage;
  private readonly headers = new Map<string, string[]>();
  private readonly textValidators = new Map<string, TextValidator>();
  private valueValidator: ValueValidator | undefined;

  constructor(
    private readonly root: string,
    private readonly ds: Dataset,
    private readonly contract: Contract,
  ) {
    this.storage = storageOf(ds);
  }

  async tryAll(targets: readonly Target[]): Promise<Tried> {
    const builder: BatchBuilder = { length: 0, columns: newColumns(this.contract.schema.fields.length) };
    const results = new Map<string, TryResult>();
    const passed: Target[] = [];
    for (const t of targets) {
      if (t.fix !== undefined) await this.assertSameKey(t);
      const rejected: QuarantineEntry[] = [];
      const before = builder.length;
      if (t.fix !== undefined) this.validateValue(t.fix.record, JSON.stringify(t.fix.record), builder, rejected);
      else await this.validateOriginal(t.entry, builder, rejected);
      if (builder.length > before) {
        results.set(t.id, { ok: true });
        passed.push(t);
      } else {
        const e = rejected[0] ?? { errorClass: 'parse', expected: 'a record', found: 'nothing' };
        results.set(t.id, {
          ok: false,
          error: {
            errorClass: e.errorClass,
            ...(e.field === undefined ? {} : { field: e.field }),
            expected: e.expected,
            found: e.found,
          },
        });
      }
    }
    return { results, passed, builder };
  }

  private validateValue(
    record: Record<string, unknown>,
    raw: string,
    into: BatchBuilder,
    rejected: QuarantineEntry[],
  ): void {
    this.valueValidator ??= compileValueValidator(this.contract, this.ds.name);
    this.valueValidator.validateInto({ count: 1, values: [record], raws: [raw] }, 0, into, rejected);
  }

  private async validateOriginal(e: QuarantineEntry, into: BatchBuilder, rejected: QuarantineEntry[]): Promise<void> {
    const bytes = Buffer.from(e.raw, e.rawEncoding === 'base64' ? 'base64' : 'utf8');
    if (this.storage.kind === 'csv') {
      const rows = await this.parseCsv(e, bytes);
      rejected.push(...rows.errors);
      if (rows.count > 0) (this.textValidators.get(e.source) as TextValidator).validateInto(rows, 0, into, rejected);
      return;
    }
    if (this.storage.kind === 'parquet') {
      let v: unknown;
      try {
        v = JSON.parse(e.raw);
      } catch {
        rejected.push({ ...e, errorClass: 'parse', expected: 'the JSON of a record', found: e.raw.slice(0, 80) });
        return;
      }
      if (isPlainObject(v)) this.validateValue(v, e.raw, into, rejected);
      else rejected.push({ ...e, errorClass: 'type', expected: 'a JSON object', found: e.raw.slice(0, 80) });
      return;
    }
    const parser = new JsonlParser({ source: e.source });
    // A Kafka record in the contract encoding: the JSON after the wire framing (byte 0, 4-byte schema id).
    const json = this.storage.kind === 'kafka' && this.storage.format === 'napkin' ? bytes.subarray(5) : bytes;
    const rows = [parser.push(Buffer.concat([json, NEWLINE])), parser.finish()];
    for (const r of rows) {
      rejected.push(...r.errors);
      for (const v of r.values) this.validateValue(v, e.raw, into, rejected);
    }
  }

  /** The record's cells under its file's header (read from the file, once per file). */
  private async parseCsv(e: QuarantineEntry, bytes: Buffer): Promise<ParsedRows> {
    const st = this.storage as Extract<Storage, { kind: 'csv' }>;
    let header = this.headers.get(e.source);
    if (header === undefined) {
      header = await csvHeader(this.path(e.source), e.source, st.delimiter, e);
      this.headers.set(e.source, header);
      this.textValidators.set(e.source, compileTextValidator(this.contract, header, e.source));
    }
    const quoted = header.map((h) => `"${h.replaceAll('"', '""')}"`).join(st.delimiter);
    const parser = new CsvParser({ source: e.source, delimiter: st.delimiter });
    const first = parser.push(Buffer.concat([Buffer.from(`${quoted}\n`), bytes, NEWLINE]));
    const last = parser.finish();
    const rows = first.count > 0 ? first : last;
    return { ...rows, errors: [...first.errors, ...last.errors] };
  }

  /**
   * A replayed record keeps its original id (spec §4: so idempotent sinks de-duplicate): a corrected record whose
   * contract key differs from the one its original text shows is refused. Key values the original does not show
   * (unparseable text) are not compared.
   */
  private async assertSameKey(t: Target): Promise<void> {
    const key = this.contract.key;
    if (key.length === 0 || t.fix === undefined) return;
    const original = await this.originalValues(t.entry);
    if (original === undefined) return;
    for (const k of key) {
      const was = original[k];
      const now = t.fix.record[k];
      if (was === undefined || was === null || was === '') continue;
      const same = typeof now === 'number' ? Number(was) === now : String(was) === String(now);
      if (!same)
        throw new ReplayUsageError(
          `${t.fix.at}: the corrected record for ${t.id} (${whereOf(t.entry)}) changes its key ${k} from ${JSON.stringify(was)} to ${JSON.stringify(now) ?? 'nothing'}; a replayed record keeps its original id (a new record belongs in the source)`,
        );
    }
  }

  /** The original record's values by field name, as far as its text can be read. */
  private async originalValues(e: QuarantineEntry): Promise<Record<string, unknown> | undefined> {
    if (e.rawEncoding !== 'utf8') return undefined;
    if (this.storage.kind !== 'csv') {
      try {
        const v: unknown = JSON.parse(e.raw);
        return isPlainObject(v) ? v : undefined;
      } catch {
        return undefined;
      }
    }
    const rows = await this.parseCsv(e, Buffer.from(e.raw));
    if (rows.count === 0) return undefined;
    const header = this.headers.get(e.source) as string[];
    const out: Record<string, unknown> = {};
    for (const f of this.contract.schema.fields) {
      const c = [f.name, ...(f.formerly ?? [])].map((n) => header.indexOf(n)).find((i) => i >= 0);
      if (c !== undefined) out[f.name] = rows.fields[c]?.[0];
    }
    return out;
  }

  private path(source: string): string {
    return isAbsolute(source) ? source : join(this.root, source);
  }
}

const NEWLINE = Buffer.from('\n');

/** The header of a CSV file: its first record. */
async function csvHeader(path: string, source: string, delimiter: string, e: QuarantineEntry): Promise<string[]> {
  const parser = new CsvParser({ source, delimiter });
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new Error(
      `cannot read the header of ${source} to re-validate its quarantined record ${whereOf(e)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); restore the file, or give the corrected record with --file`,
    );
  }
  try {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    while (parser.header === null) {
      const { bytesRead } = await fh.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        parser.finish();
        break;
      }
      parser.push(buffer.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  if (parser.header === null)
    throw new Error(`${source} has no header line any more; restore it, or give the corrected record with --file`);
  return parser.header;
}

// ─── append ─────────────────────────────────────────────────────────────────────────────────────────────────────

/** Appends the rows that passed and the marker naming what was tried, in one atomic append. */
async function appendReplay(topic: Topic, contract: Contract, tried: Tried, carry: boolean): Promise<void> {
  const failed: ReplayFailure[] = [];
  for (const [id, r] of tried.results) if (!r.ok) failed.push({ id, ...r.error });
  const fixes: Record<string, string> = {};
  for (const t of tried.passed) if (t.fix !== undefined) fixes[t.id] = JSON.stringify(t.fix.record);
  const marker: ReplayMarker = {
    kind: 'replay',
    at: Date.now(),
    resolved: tried.passed.map((t) => t.id),
    failed,
    ...(Object.keys(fixes).length > 0 ? { fixes } : {}),
    ...(carry ? { carry: true } : {}),
  };
  const names = contract.schema.fields.map((f) => f.name);
  const timeCol = contract.eventTime === undefined ? -1 : names.indexOf(contract.eventTime);
  await topic.appendChunk({ batch: finishBuilder(tried.builder), rejected: [] }, timeCol, Date.now(), marker);
  await topic.saveState();
}
