import { copyFile, rm, stat } from 'node:fs/promises';
import { basename, isAbsolute, join } from 'node:path';
import { quoteIdent, quoteTable } from '../connectors/duckdb/sql-types.ts';
import type { Warehouse } from '../connectors/duckdb/warehouse.ts';
import { publishFile, tempPathFor } from '../connectors/files/atomic.ts';
import { manifestPathFor } from '../connectors/files/sink-manifest.ts';
import { connectPg } from '../connectors/postgres/connection.ts';
import { tableName } from '../connectors/postgres/identifiers.ts';
import type { Dataset } from '../flow/dataset.ts';
import { readJson, writeDurableJson } from './durable-json.ts';
import { storageOf } from './flow-io.ts';
import { versionedPath, versionedStorage } from './versions.ts';

/**
 * Switches one output from version `from` to the built version `to`: readers of the dataset's own name see the old
 * version or the new one, never a mix (one transaction renaming both tables; one rename of the file), and the old
 * version stays as `…__v<from>`. Every step checks what is already done, so a switch cut by a crash is redone.
 */
export async function switchOutput(root: string, w: Warehouse, ds: Dataset, from: number, to: number): Promise<string> {
  const st = storageOf(ds);
  const built = versionedStorage(st, to);
  const kept = versionedStorage(st, from);
  if (st.kind === 'duckdb' && built.kind === 'duckdb' && kept.kind === 'duckdb') {
    await w.transaction(async () => {
      if (!(await w.tableExists(built.table))) return;
      if (await w.tableExists(st.table))
        await w.run(`ALTER TABLE ${quoteTable(st.table)} RENAME TO ${quoteIdent(last(kept.table))}`);
      await w.run(`ALTER TABLE ${quoteTable(built.table)} RENAME TO ${quoteIdent(last(st.table))}`);
    });
    return `duckdb ${st.table} is version ${to} (version ${from} kept as ${kept.table})`;
  }
  if (st.kind === 'postgres') return switchPostgres(st.connection, st.table, from, to);
  if (st.kind === 'kafka')
    return `kafka ${st.topic} holds version ${to} after version ${from} (a topic cannot be renamed: versions append to it)`;
  if (st.kind === 'csv' || st.kind === 'jsonl' || st.kind === 'parquet') {
    const abs = (p: string) => (isAbsolute(p) ? p : join(root, p));
    await switchFile(abs(st.path), from, to);
    return `${st.kind} ${st.path} is version ${to} (version ${from} kept as ${versionedPath(st.path, from)})`;
  }
  throw new Error(`dataset ${ds.name}: its storage cannot be versioned`);
}

/**
 * Removes version `version` of an output (what an abandoned build left, or an old version the user drops). The
 * active version is never touched: it lives under the dataset's own name.
 */
export async function dropOutput(root: string, w: Warehouse, ds: Dataset, version: number): Promise<string> {
  const v = versionedStorage(storageOf(ds), version);
  if (v.kind === 'duckdb') {
    await w.run(`DROP TABLE IF EXISTS ${quoteTable(v.table)}`);
    return `duckdb ${v.table}`;
  }
  if (v.kind === 'postgres') {
    const conn = connectPg(v.connection);
    try {
      await conn.sql`drop table if exists ${conn.sql(tableName(v.table).qualified)}`;
    } finally {
      await conn.sql.end({ timeout: 5 });
    }
    return `postgres ${v.table} (${conn.reference})`;
  }
  if (v.kind === 'postgresCdc') throw new Error(`dataset ${ds.name} is a change-data-capture source, not an output`);
  if (v.kind === 'kafka') return `kafka ${v.topic} (nothing dropped: versions share the topic)`;
  const file = isAbsolute(v.path) ? v.path : join(root, v.path);
  await rm(file, { force: true });
  await rm(manifestPathFor(file), { force: true });
  return `${v.kind} ${v.path}`;
}

/** Whether version `version` of an output is stored (a kept old version, or a build in progress). */
export async function outputExists(root: string, w: Warehouse, ds: Dataset, version: number): Promise<boolean> {
  const v = versionedStorage(storageOf(ds), version);
  if (v.kind === 'duckdb') return w.tableExists(v.table);
  if (v.kind === 'postgres') {
    const conn = connectPg(v.connection);
    try {
      const [r] = await conn.sql`select to_regclass(${tableName(v.table).qualified}) is not null as present`;
      return r.present === true;
    } finally {
      await conn.sql.end({ timeout: 5 });
    }
  }
  if (v.kind === 'postgresCdc' || v.kind === 'kafka') return false;
  return exists(isAbsolute(v.path) ? v.path : join(root, v.path));
}

const last = (table: string): string => table.split('.').at(-1) as string;

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * A file output: the active file is copied aside (it stays readable under its name until the rename), the built
 * file renamed over it, then the built file's sink manifest becomes the active one's.
 */
async function switchFile(target: string, from: number, to: number): Promise<void> {
  const built = versionedPath(target, to);
  const kept = versionedPath(target, from);
  if (await exists(built)) {
    if ((await exists(target)) && !(await exists(kept))) {
      const tmp = tempPathFor(kept);
      await copyFile(target, tmp);
      await publishFile(tmp, kept);
      await moveManifest(manifestPathFor(target), kept, false);
    }
    await publishFile(built, target);
  }
  await moveManifest(manifestPathFor(built), target, true);
}

/** Writes the manifest at `path` as the manifest of `file` (it names its file); `remove`: then deletes the source. */
async function moveManifest(path: string, file: string, remove: boolean): Promise<void> {
  const m = (await readJson(path)) as Record<string, unknown> | undefined;
  if (m === undefined) return;
  await writeDurableJson(manifestPathFor(file), { ...m, file: basename(file) });
  if (remove) await rm(path, { force: true });
}

async function switchPostgres(connection: string, table: string, from: number, to: number): Promise<string> {
  const t = tableName(table);
  const built = tableName(`${table}__v${to}`);
  const kept = tableName(`${table}__v${from}`);
  const conn = connectPg(connection);
  try {
    await conn.sql.begin(async (sql) => {
      const [b] = await sql`select to_regclass(${built.qualified}) is not null as present`;
      if (b.present !== true) return;
      const [a] = await sql`select to_regclass(${t.qualified}) is not null as present`;
      if (a.present === true) await sql`alter table ${sql(t.qualified)} rename to ${sql(kept.name)}`;
      await sql`alter table ${sql(built.qualified)} rename to ${sql(t.name)}`;
    });
  } finally {
    await conn.sql.end({ timeout: 5 });
  }
  return `postgres ${table} (${conn.reference}) is version ${to} (version ${from} kept as ${kept.qualified})`;
}
