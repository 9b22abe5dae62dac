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
 */
import { join } from 'node:path';
import type { LogRecord } from '../log/log.ts';
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
    };

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
  /** One past the last marker: the end of what readers may read (the log ends there unless a crash cut a file). */
  end: number;
}

export function emptyState(): TopicState {
  return { generation: -1, fields: [], files: {}, partial: undefined, position: undefined, end: 0 };
}

/** Folds one record into the state. */
export function observe(state: TopicState, r: LogRecord): void {
  if (kindOf(r) !== 'marker') return;
  const m = decodeMarker(r);
  if (m.kind === 'generation') {
    Object.assign(state, emptyState(), { generation: r.offset, fields: m.fields });
  } else {
    state.position = m.position;
    if (m.done !== undefined) {
      state.files[m.file] = m.done;
      state.partial = undefined;
    } else state.partial = m.file;
  }
  state.end = r.offset + 1;
}
