/**
 * A source dataset's topic: the embedded log its source ingests into, and flows read from by offset (the Kappa log).
 *
 *   .napkin/log/<dataset>/            the log (src/log), one partition
 *   .napkin/log/<dataset>/topic.json  a cache of the topic's state, rebuilt from the log when missing or behind
 *
 * Records, by key:
 *   null  a valid row: a JSON array of its values, in the order of the generation's `fields`
 *   'q'   a record the contract refused at ingestion: its quarantine entry (original text, file, line, field)
 *   'm'   a marker (below): ingestion's progress, appended in the same atomic append as the records it follows
 *
 * A bounded source (files read once) is kept as generations: a `generation` marker, then every file's records. New
 * files join the current generation; a changed or removed file, a changed contract, or a file left half ingested by a
 * crash starts a new one, and readers read the latest. A followed file is one generation that grows.
 *
 * `napkin quarantine replay` appends a replay chunk: the rows of the quarantined records that now pass, then a
 * `replay` marker naming the quarantine ids they resolve (and those that still fail), in one atomic append. The
 * marker is what makes a replay exactly once: readers skip a 'q' record whose id a marker before the end of their
 * range resolved, and a replay skips ids the current generation already resolved.
 */
import { join } from 'node:path';
import type { LogRecord } from '../log/log.ts';
import type { FrontierState } from '../runtime/partition-frontier.ts';
import type { QuarantineEntry } from '../runtime/quarantine.ts';

export type Marker =
  /** Starts a generation whose rows hold `fields`, in this order. */
  | { readonly kind: 'generation'; readonly fields: readonly string[] }
  /**
   * Follows the records of one chunk of `file`: the reader's position after it (`position`), and `done` with the
   * file's size and modification time once the whole file is in.
   */
  | {
      readonly kind: 'chunk';
      readonly file: string;
      readonly position?: Readonly<Record<string, number>>;
      readonly done?: { readonly size: number; readonly mtimeMs: number };
      /** A partitioned source's event-time frontier after the chunk, and each partition's newest event time. */
      readonly frontier?: number;
      readonly times?: Readonly<Record<string, number>>;
    }
  | ReplayMarker;

/** Why a replayed record still fails: its new quarantine error. */
export interface ReplayFailure {
  readonly id: string;
  readonly errorClass: string;
  readonly field?: string;
  readonly expected: string;
  readonly found: string;
}

/**
 * Follows the rows of quarantined records that now pass their contract, one per id of `resolved`, in that order
 * (`napkin quarantine replay`). `failed` lists the ids tried that still fail; `fixes` holds the corrected records a
 * user gave (`--file`), by id, so a later generation can carry them; `carry` marks the chunk that carried the fixes
 * of earlier generations into the current one (see `TopicState.carry`). `at`: when, in ms.
 */
export interface ReplayMarker {
  readonly kind: 'replay';
  readonly at: number;
  readonly resolved: readonly string[];
  readonly failed: readonly ReplayFailure[];
  readonly fixes?: Readonly<Record<string, string>>;
  readonly carry?: boolean;
}

/** What the replays of one quarantine id came to, over every generation. */
export interface ReplayHistory {
  /** Replay attempts (the ingestion that quarantined it is not one). */
  attempts: number;
  /** `replayed` once a replay resolved it; `open` while the last attempt failed. */
  status: 'replayed' | 'open';
  /** When the last attempt was made (ms). */
  at: number;
  /** The error of the last attempt, when it failed. */
  error?: Omit<ReplayFailure, 'id'>;
  /** The corrected record a user gave (`--file`) that resolved it, to carry into later generations. */
  fix?: string;
}

export const QUARANTINE_KEY = 'q';
export const MARKER_KEY = 'm';
const KEY_Q = QUARANTINE_KEY.charCodeAt(0);
const KEY_M = MARKER_KEY.charCodeAt(0);

export type TopicRecord =
  | { readonly kind: 'row'; readonly values: unknown[] }
  | { readonly kind: 'quarantine'; readonly entry: QuarantineEntry }
  | { readonly kind: 'marker'; readonly marker: Marker };

/** The folder of a dataset's topic under the project's state folder. */
export function topicDir(stateDir: string, dataset: string): string {
  return join(stateDir, 'log', dataset);
}

export function kindOf(r: LogRecord): 'row' | 'quarantine' | 'marker' {
  if (r.key === null) return 'row';
  if (r.key.length === 1 && r.key[0] === KEY_M) return 'marker';
  if (r.key.length === 1 && r.key[0] === KEY_Q) return 'quarantine';
  throw new Error(`log record at offset ${r.offset} has key '${Buffer.from(r.key).toString()}', not one napkin writes`);
}

export function decodeMarker(r: LogRecord): Marker {
  return JSON.parse(Buffer.from(r.value as Uint8Array).toString('utf8')) as Marker;
}

export function decodeEntry(r: LogRecord): QuarantineEntry {
  return JSON.parse(Buffer.from(r.value as Uint8Array).toString('utf8')) as QuarantineEntry;
}

/** A file ingested whole into the current generation. */
export interface IngestedFile {
  readonly size: number;
  readonly mtimeMs: number;
}

/** What ingestion and readers need to know of a topic, derived from its markers. */
export interface TopicState {
  /** Offset of the current generation's marker; −1 before the first. */
  generation: number;
  fields: readonly string[];
  /** Files of the current generation ingested whole. */
  files: Record<string, IngestedFile>;
  /** A file with records in the generation but no `done` marker: ingestion stopped inside it. */
  partial: string | undefined;
  /** The position after the last chunk of the generation, for a followed file. */
  position: Readonly<Record<string, number>> | undefined;
  /** The event-time frontier after the last chunk of the generation, for a partitioned source. */
  frontier?: FrontierState;
  /** One past the last marker: the end of what readers may read (the log ends there unless a crash cut a file). */
  end: number;
  /**
   * Quarantine ids the current generation's replay markers resolved, each with the offset of that marker. Absent in
   * states cached before replays existed, which is the same as empty.
   */
  resolved?: Record<string, number>;
  /** Per quarantine id ever replayed, over all generations. */
  replays?: Record<string, ReplayHistory>;
  /**
   * A generation started after records had been replayed: once its files are in, the fixes must be carried into it
   * (a replay chunk with `carry`), for the ids it quarantines again.
   */
  carry?: boolean;
}

export function emptyState(): TopicState {
  return {
    generation: -1,
    fields: [],
    files: {},
    partial: undefined,
    position: undefined,
    end: 0,
    resolved: {},
    replays: {},
    carry: false,
  };
}

/** Folds one record into the state. */
export function observe(state: TopicState, r: LogRecord): void {
  if (kindOf(r) !== 'marker') return;
  const m = decodeMarker(r);
  if (m.kind === 'generation') {
    const replays = state.replays ?? {};
    Object.assign(state, emptyState(), { generation: r.offset, fields: m.fields, replays });
    state.carry = Object.values(replays).some((h) => h.status === 'replayed');
  } else if (m.kind === 'replay') {
    observeReplay(state, m, r.offset);
  } else {
    state.position = m.position;
    if (m.frontier !== undefined) state.frontier = { frontier: m.frontier, times: m.times ?? {} };
    if (m.done !== undefined) {
      state.files[m.file] = m.done;
      state.partial = undefined;
    } else state.partial = m.file;
  }
  state.end = r.offset + 1;
}

/** A replay marker leaves ingestion's position, files and generation as they were. */
function observeReplay(state: TopicState, m: ReplayMarker, offset: number): void {
  state.resolved ??= {};
  state.replays ??= {};
  const { resolved, replays } = state;
  for (const id of m.resolved) {
    const h = replays[id] ?? { attempts: 0, status: 'open', at: m.at };
    h.attempts++;
    h.status = 'replayed';
    h.at = m.at;
    delete h.error;
    const fix = m.fixes?.[id];
    if (fix !== undefined) h.fix = fix;
    replays[id] = h;
    resolved[id] = offset;
  }
  for (const { id, ...error } of m.failed) {
    const h = replays[id] ?? { attempts: 0, status: 'open', at: m.at };
    h.attempts++;
    h.status = 'open';
    h.at = m.at;
    h.error = error;
    replays[id] = h;
  }
  if (m.carry === true) state.carry = false;
}
