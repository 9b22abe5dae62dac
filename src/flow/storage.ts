import { parseDuration } from '../time/duration.ts';
import type { KafkaStorage } from './kafka-storage.ts';

/**
 * Where a dataset lives. Storage values are descriptions only: the connectors in `src/connectors` read and write
 * them. Paths are relative to the project root; a read path may be a glob (`data/orders/*.csv`).
 */
export type Storage =
  | { readonly kind: 'csv'; readonly path: string; readonly delimiter: string }
  | { readonly kind: 'jsonl'; readonly path: string; readonly follow?: Follow }
  | { readonly kind: 'parquet'; readonly path: string }
  | { readonly kind: 'duckdb'; readonly table: string }
  | { readonly kind: 'postgres'; readonly table: string; readonly connection: string }
  | PostgresCdc
  | KafkaStorage;

export type StorageKind = Storage['kind'];

/**
 * A followed file is an unbounded input: read what is there, then keep polling for appended lines until the process
 * is told to stop (SIGINT, SIGTERM) or, when set, no line arrived for `stopAfterIdleMs`.
 */
export interface Follow {
  readonly pollMs: number;
  readonly stopAfterIdleMs?: number;
}

export interface JsonlOptions {
  /** Tail the file (one file, no glob) instead of reading it once. */
  readonly follow?: boolean;
  /** How often a followed file is checked for new lines; default 200ms. */
  readonly pollInterval?: string;
  /** End the run after this long without a new line (tests, demos); default: run until SIGINT/SIGTERM. */
  readonly stopAfterIdle?: string;
}

/** CSV files with a header line. */
export function csv(path: string, options: { readonly delimiter?: string } = {}): Storage {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1) throw new Error(`csv('${path}'): delimiter must be one character, got '${delimiter}'`);
  return { kind: 'csv', path: checkPath('csv', path), delimiter };
}

/** JSON Lines files: one JSON object per line; `{ follow: true }` tails one growing file. */
export function jsonl(path: string, options: JsonlOptions = {}): Storage {
  const checked = checkPath('jsonl', path);
  if (options.follow !== true) {
    if (options.pollInterval !== undefined || options.stopAfterIdle !== undefined)
      throw new Error(`jsonl('${path}'): pollInterval and stopAfterIdle apply only with { follow: true }`);
    return { kind: 'jsonl', path: checked };
  }
  if (/[*?[{]/.test(checked)) throw new Error(`jsonl('${path}', { follow: true }): follow one file, not a glob`);
  const pollMs = parseDuration(options.pollInterval ?? '200ms');
  if (pollMs <= 0) throw new Error(`jsonl('${path}'): pollInterval must be positive`);
  const follow: Follow = {
    pollMs,
    ...(options.stopAfterIdle === undefined ? {} : { stopAfterIdleMs: parseDuration(options.stopAfterIdle) }),
  };
  return { kind: 'jsonl', path: checked, follow };
}

/** Parquet files, read and written through DuckDB. */
export function parquet(path: string): Storage {
  return { kind: 'parquet', path: checkPath('parquet', path) };
}

/** A table in the project's DuckDB warehouse, e.g. `mart.daily_revenue`. */
export function duckdb(table: string): Storage {
  if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(table)) {
    throw new Error(`duckdb('${table}'): a table name is 'name' or 'schema.name' of letters, digits and _`);
  }
  return { kind: 'duckdb', table };
}

/**
 * A secret given by reference (spec reliability §5): `env:NAME`, resolved from the environment only when a connector
 * connects, so flow definitions, fingerprints and plans hold the name, never the value.
 */
export const SECRET_REFERENCE = /^env:[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A PostgreSQL table, written exactly once per epoch (spec reliability §2.4), e.g.
 * `postgres({ table: 'mart.orders', connection: 'env:NAPKIN_PG_URL' })`. Names are lower case (`[a-z_][a-z0-9_]*`),
 * so they mean the same quoted or not.
 */
export function postgres(options: { readonly table: string; readonly connection: string }): Storage {
  const { table, connection } = options;
  if (typeof table !== 'string' || !/^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/.test(table)) {
    throw new Error(
      `postgres(): table '${String(table)}' must be 'name' or 'schema.name' of lower-case letters, digits and _`,
    );
  }
  // The value is never echoed: a mistake here is often a URL with a password in it.
  if (typeof connection !== 'string' || !SECRET_REFERENCE.test(connection)) {
    throw new Error(
      `postgres({ table: '${table}' }): connection must be a reference such as 'env:NAPKIN_PG_URL', not a URL; put the URL in that environment variable`,
    );
  }
  return { kind: 'postgres', table, connection };
}

/** A PostgreSQL table read by change data capture (see {@link postgresCdc}). */
export interface PostgresCdc {
  readonly kind: 'postgresCdc';
  readonly table: string;
  readonly connection: string;
  /** The logical replication slot; absent: derived from the project and dataset names when the run starts. */
  readonly slot?: string;
  /** The publication; absent: derived from the table name. */
  readonly publication?: string;
  readonly stopAfterIdleMs?: number;
  /** How long a lost replication connection is retried before the run fails (absent: 5 minutes). */
  readonly reconnectForMs?: number;
}

/** Options of {@link postgresCdc}. */
export interface PostgresCdcOptions {
  /** `name` (schema public) or `schema.name`, lower case. */
  readonly table: string;
  /** A reference such as `env:NAPKIN_PG_URL`; the user needs the REPLICATION attribute. */
  readonly connection: string;
  /** The replication slot napkin creates and names (default `napkin_<dataset>_<hash of project and dataset>`). */
  readonly slot?: string;
  /** The publication napkin creates if missing (default `napkin_<table>_<hash>`), FOR TABLE the table. */
  readonly publication?: string;
  /** End the run after this long without a change (tests, demos); default: run until SIGINT/SIGTERM. */
  readonly stopAfterIdle?: string;
  /**
   * How long to keep reconnecting when the replication connection is lost (a restart, a failover, a killed
   * walsender), with backoff from 0.2 s to 5 s, before the run fails; default '5m'. Each session resumes from the
   * log's position, so nothing is missed or repeated.
   */
  readonly reconnectFor?: string;
}

const PG_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Change data capture from a PostgreSQL table through logical replication (pgoutput): a consistent snapshot of the
 * table, then every committed insert, update and delete, as a changelog whose rows carry `_op`, `_lsn` and
 * `_before` beside the table's columns (declare them with `cdcFields()`). Exactly once across restarts: the log
 * holds the position, and the slot is confirmed only up to what the log holds.
 */
export function postgresCdc(options: PostgresCdcOptions): Storage {
  const { table, connection, slot, publication, stopAfterIdle, reconnectFor } = options;
  const what = `postgresCdc({ table: '${String(table)}' })`;
  if (typeof table !== 'string' || !/^[a-z_][a-z0-9_]{0,62}(\.[a-z_][a-z0-9_]{0,62})?$/.test(table)) {
    throw new Error(
      `postgresCdc(): table '${String(table)}' must be 'name' or 'schema.name' of lower-case letters, digits and _`,
    );
  }
  if (typeof connection !== 'string' || !SECRET_REFERENCE.test(connection)) {
    throw new Error(
      `${what}: connection must be a reference such as 'env:NAPKIN_PG_URL', not a URL; put the URL in that environment variable`,
    );
  }
  for (const [option, v] of [
    ['slot', slot],
    ['publication', publication],
  ] as const) {
    if (v !== undefined && (typeof v !== 'string' || !PG_NAME.test(v)))
      throw new Error(`${what}: ${option} '${String(v)}' must be a lower-case name ([a-z_][a-z0-9_]*, at most 63)`);
  }
  const stopAfterIdleMs = positiveDuration(what, 'stopAfterIdle', stopAfterIdle);
  const reconnectForMs = positiveDuration(what, 'reconnectFor', reconnectFor);
  return {
    kind: 'postgresCdc',
    table,
    connection,
    ...(slot === undefined ? {} : { slot }),
    ...(publication === undefined ? {} : { publication }),
    ...(stopAfterIdleMs === undefined ? {} : { stopAfterIdleMs }),
    ...(reconnectForMs === undefined ? {} : { reconnectForMs }),
  };
}

function positiveDuration(what: string, option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch (e) {
    throw new Error(`${what}: ${option}: ${(e as Error).message}`);
  }
  if (!(ms > 0)) throw new Error(`${what}: ${option} must be positive, got '${text}'`);
  return ms;
}

function checkPath(kind: string, path: string): string {
  if (typeof path !== 'string' || path.trim() === '') throw new Error(`${kind}(): give a file path or glob`);
  return path;
}

/** One line for people: `csv data/orders.csv`, `duckdb mart.daily_revenue`. */
export function storageToString(s: Storage): string {
  if (s.kind === 'jsonl' && s.follow !== undefined) return `jsonl ${s.path} (followed)`;
  if (s.kind === 'duckdb' || s.kind === 'postgres') return `${s.kind} ${s.table}`;
  if (s.kind === 'kafka') return `kafka ${s.topic}`;
  if (s.kind === 'postgresCdc') return `postgres ${s.table} (change data capture)`;
  return `${s.kind} ${s.path}`;
}
