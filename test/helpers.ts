// Helpers for the end-to-end tests: fresh project copies in temp dirs, the CLI as a real child process, and
// read-only DuckDB queries over what it wrote.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

/** The repository root (the `napkin` package). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(REPO, 'bin', 'napkin.js');

/**
 * A project outside the repository imports `napkin` like an installed package: its temp dir gets a package.json
 * (ESM, as napkin.config.ts files are modules) and `node_modules/napkin` linking to this repository.
 */
function linkNapkin(dir: string): void {
  if (!existsSync(join(dir, 'package.json'))) {
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'fixture', private: true, type: 'module' })}\n`);
  }
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  if (!existsSync(join(dir, 'node_modules', 'napkin'))) symlinkSync(REPO, join(dir, 'node_modules', 'napkin'), 'dir');
}

/** A fresh empty temp dir set up as a napkin project folder. */
export function tempProject(prefix = 'napkin-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  linkNapkin(dir);
  return dir;
}

/**
 * Copies a project folder to a fresh temp dir and returns the copy's path. Its `node_modules/` is not copied, nor its
 * `out/` and `.napkin/` unless `keepOut` (to start from the outputs and state of earlier runs).
 */
export function copyProject(src: string, options: { readonly keepOut?: boolean } = {}): string {
  const from = resolve(src);
  const dir = tempProject(`napkin-${from.split(sep).pop() ?? 'project'}-`);
  cpSync(from, dir, {
    recursive: true,
    filter: (path) => {
      const rel = relative(from, path);
      const top = rel.split(sep)[0];
      // A run's outputs and state (out/, .napkin/) stay behind unless asked for: a demo run in the example must not
      // make a test's copy look run already.
      return (options.keepOut === true || (top !== 'out' && top !== '.napkin')) && top !== 'node_modules';
    },
  });
  return dir;
}

/** Writes files (paths relative to `dir`, folders created as needed). */
export function writeFiles(dir: string, files: Readonly<Record<string, string | Uint8Array>>): void {
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `napkin --project DIR ...args` as a child process (cwd: the project), capturing its output and exit code. */
export function napkin(dir: string, ...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, '--project', dir, ...args], {
    cwd: dir,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    env: { ...process.env, NO_COLOR: '1' },
  });
  if (r.error !== undefined) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Describes a CLI result for assertion messages. */
export function show(r: CliResult): string {
  return `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** A query result value, made plain: BIGINT as number, dates and timestamps as ISO text. */
export type Cell = string | number | boolean | null;
export type Row = Record<string, Cell>;

function plain(v: unknown): Cell {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (v instanceof Date) return v.toISOString();
  return JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x));
}

/** A DuckDB session: `query` returns plain rows; `close` releases the file. */
export interface Duck {
  query(sql: string): Promise<Row[]>;
  close(): void;
}

/**
 * Opens a DuckDB database: a file read-only, or `:memory:` (where `ATTACH '...' (READ_ONLY)` reaches files). The
 * session's time zone is UTC. Close it before a napkin child process opens the same file for writing.
 */
export async function openDuck(file = ':memory:'): Promise<Duck> {
  const instance = await DuckDBInstance.create(file, file === ':memory:' ? {} : { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  await connection.run(`SET TimeZone = 'UTC'`);
  return {
    async query(sql) {
      const r = await connection.runAndReadAll(sql);
      return r.getRowObjectsJS().map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, plain(v)])));
    },
    close() {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/** Runs SQL statements on a DuckDB database (see {@link openDuck}) and returns the rows of the last. */
export async function queryDuck(file: string, ...sql: string[]): Promise<Row[]> {
  const duck = await openDuck(file);
  try {
    let rows: Row[] = [];
    for (const s of sql) rows = await duck.query(s);
    return rows;
  } finally {
    duck.close();
  }
}

/** Whether a table exists in a DuckDB file (false when the file does not exist). */
export async function tableExists(file: string, table: string): Promise<boolean> {
  if (!existsSync(file)) return false;
  const [schema, name] = table.includes('.') ? table.split('.') : ['main', table];
  const rows = await queryDuck(
    file,
    `SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = '${schema}' AND table_name = '${name}'`,
  );
  return rows[0].n === 1;
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * Asserts two row sets are equal as multisets: rows are sorted by their non-float cells, floats compared to `eps`.
 * Returns a description of the first difference, or null when they match.
 */
export function diffRows(actual: readonly Row[], expected: readonly Row[], eps = 1e-6): string | null {
  if (actual.length !== expected.length) return `${actual.length} rows, expected ${expected.length}`;
  const keyOf = (r: Row) =>
    JSON.stringify(
      Object.keys(r)
        .sort()
        .map((k) => {
          const v = r[k];
          return typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v;
        }),
    );
  const sort = (rows: readonly Row[]) =>
    [...rows].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  const a = sort(actual);
  const e = sort(expected);
  for (let i = 0; i < a.length; i++) {
    const ka = Object.keys(a[i]).sort();
    const ke = Object.keys(e[i]).sort();
    if (JSON.stringify(ka) !== JSON.stringify(ke)) return `columns ${ka.join(',')}, expected ${ke.join(',')}`;
    for (const k of ke) {
      const x = a[i][k];
      const y = e[i][k];
      const same = typeof x === 'number' && typeof y === 'number' ? Math.abs(x - y) <= eps : x === y;
      if (!same) return `row ${JSON.stringify(a[i])}\n  expected ${JSON.stringify(e[i])}\n  (column ${k})`;
    }
  }
  return null;
}
