import { isAbsolute, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { glob } from 'tinyglobby';
import { openParquetSink } from '../connectors/duckdb/parquet-sink.ts';
import { duckType, quoteIdent, quoteString, quoteTable } from '../connectors/duckdb/sql-types.ts';
import { openTableSink } from '../connectors/duckdb/table-sink.ts';
import { openDuckSource } from '../connectors/duckdb/table-source.ts';
import type { Warehouse } from '../connectors/duckdb/warehouse.ts';
import { openTailSource } from '../connectors/files/tail-source.ts';
import { openTextSink } from '../connectors/files/text-sink.ts';
import { openTextSource } from '../connectors/files/text-source.ts';
import { openKafkaSink } from '../connectors/kafka/sink.ts';
import { openPostgresSink } from '../connectors/postgres/table-sink.ts';
import type { Schema } from '../expr/types.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { Storage } from '../flow/storage.ts';
import { flowFingerprint } from '../plan/fingerprint.ts';
import type { ProjectPlan } from '../plan/project-plan.ts';
import type { Stage } from '../plan/stage.ts';
import type { FlowIO, SinkWriter, SourceReader } from '../runtime/execute.ts';
import type { QuarantineEntry } from '../runtime/quarantine.ts';
import { versionedStorage } from './versions.ts';

/** Where a dataset is stored when it declares no storage: a warehouse table named after it. */
export function storageOf(ds: Dataset): Storage {
  return ds.storage ?? { kind: 'duckdb', table: ds.name };
}

/** Quarantined records of one run, per stage, written to the warehouse when the flow commits. */
export type QuarantineBuffer = Map<Stage, QuarantineEntry[]>;

/**
 * The I/O of one flow run over a project folder and its warehouse: picks the connector for each dataset's storage,
 * resolves paths against the project root, and buffers quarantined records until the run commits.
 */
export function flowIO(
  root: string,
  warehouse: Warehouse,
  plan: ProjectPlan,
  quarantined: QuarantineBuffer,
  onProgress?: FlowIO['onProgress'],
  options: {
    readonly realClock?: boolean;
    /** Write version N of every output beside the active one (`napkin replay`): `name__vN`, `stem__vN.ext`. */
    readonly version?: number;
  } = {},
): FlowIO {
  const clock = realClock();
  const path = (p: string) => (isAbsolute(p) ? p : join(root, p));
  const schemaOfInput = (s: Stage): Schema => {
    const flow = plan.flows.find((b) => b.flow.name === s.flow);
    return flow?.stages.find((x) => x.id === s.inputs[0])?.schema as Schema;
  };
  return {
    async openSource(s: Stage, live?: readonly boolean[]): Promise<SourceReader> {
      const ds = s.dataset as Dataset;
      const contract = ds.contract;
      if (contract === undefined)
        throw new Error(`dataset ${ds.name} has no contract; napkin check reports this as NAP011`);
      const st = storageOf(ds);
      if (st.kind === 'duckdb')
        return openDuckSource(warehouse, { kind: 'table', table: st.table }, contract, st.table, live);
      if (st.kind === 'postgres')
        throw new Error(`dataset ${ds.name}: reading postgres storage is not supported yet; read it from a copy`);
      if (st.kind === 'kafka')
        throw new Error(`dataset ${ds.name}: a kafka topic is read through the dataset's topic in napkin's log`);
      if (st.kind === 'postgresCdc')
        throw new Error(`dataset ${ds.name}: a change-data-capture source is read from its topic only`);
      if (st.kind === 'jsonl' && st.follow !== undefined) {
        const follow = st.follow;
        const file = path(st.path);
        return untilSignalled((signal) =>
          openTailSource({
            file,
            display: st.path,
            contract,
            follow,
            signal,
            now: clock,
            ...(live === undefined ? {} : { live }),
          }),
        );
      }
      return openFiles(root, warehouse, ds, await matchFiles(root, st.path, ds.name), live);
    },
    async openSink(s: Stage): Promise<SinkWriter> {
      const ds = s.dataset as Dataset;
      const contract = ds.contract?.schema as Schema;
      const input = schemaOfInput(s);
      const st = options.version === undefined ? storageOf(ds) : versionedStorage(storageOf(ds), options.version);
      switch (st.kind) {
        case 'duckdb':
          return openTableSink(warehouse, {
            table: st.table,
            contract,
            key: ds.contract?.key ?? [],
            mode: s.writeMode ?? 'replace',
            input,
            owner: { flow: s.flow, sink: s.id },
            ...(ds.description === undefined ? {} : { comment: `${ds.description} (owner: ${ds.owner ?? '?'})` }),
          });
        case 'parquet':
          return openParquetSink(warehouse, {
            path: path(st.path),
            display: st.path,
            contract,
            input,
            owner: { flow: s.flow, sink: s.id },
          });
        case 'csv':
          return openTextSink({
            format: 'csv',
            path: path(st.path),
            display: st.path,
            delimiter: st.delimiter,
            contract,
            input,
          });
        case 'jsonl':
          return openTextSink({ format: 'jsonl', path: path(st.path), display: st.path, contract, input });
        case 'postgres':
        case 'kafka':
          return openServerSink(plan, s, st, input);
        case 'postgresCdc':
          throw new Error(`dataset ${ds.name} is a change-data-capture source (postgresCdc): it cannot be written`);
        default:
          return st satisfies never;
      }
    },
    async runSql(s: Stage) {
      const ds = s.dataset as Dataset;
      const st = storageOf(ds);
      if (st.kind !== 'duckdb')
        throw new Error(`SQL model ${ds.name} must be stored in the warehouse (duckdb storage)`);
      await exposeDatasets(warehouse, root, plan, plan.sql.get(ds.name)?.inputs ?? []);
      const sql = (s.output as { sql: string }).sql;
      return warehouse.transaction(async () => {
        await warehouse.ensureSchemaOf(st.table);
        await warehouse.run(`CREATE OR REPLACE TABLE ${quoteTable(st.table)} AS ${sql}`);
        await checkSqlContract(warehouse, st.table, ds);
        const n = await warehouse.rows(`SELECT count(*) AS n FROM ${quoteTable(st.table)}`);
        return { rows: Number(n[0].n), location: `duckdb ${st.table} (${Number(n[0].n)} rows)` };
      });
    },
    sqlInputs(s: Stage) {
      return s.dataset === undefined ? [] : (plan.sql.get(s.dataset.name)?.inputs ?? []);
    },
    quarantine(s: Stage, entries: readonly QuarantineEntry[]) {
      const list = quarantined.get(s) ?? [];
      list.push(...entries);
      quarantined.set(s, list);
    },
    ...(onProgress === undefined ? {} : { onProgress }),
    // Batch runs keep processing time still, so their results never depend on how fast the machine is.
    ...(options.realClock === true ? { clock, wait } : {}),
  };
}

/**
 * Opens a sink on a server (PostgreSQL, Kafka): its writes are fenced and committed per epoch under the commit key's
 * `partition` ('0' for a flow run whole by one process; a worker's partition number otherwise).
 */
export function openServerSink(
  plan: ProjectPlan,
  s: Stage,
  st: Extract<Storage, { kind: 'postgres' | 'kafka' }>,
  input: Schema,
  partition = '0',
  /** A worker's repartition topic: the progress records its commits carry (see `connectors/kafka/progress.ts`). */
  progress?: { readonly from: number; readonly partitions: number },
): Promise<SinkWriter> {
  const ds = s.dataset as Dataset;
  const contract = ds.contract?.schema as Schema;
  const bound = plan.flows.find((b) => b.flow.name === s.flow);
  if (bound === undefined) throw new Error(`stage ${s.id}: flow ${s.flow} is not in the plan`);
  const common = {
    contract,
    mode: s.writeMode ?? 'replace',
    input,
    flow: s.flow,
    sink: s.id,
    fingerprint: flowFingerprint(bound),
    partition,
  } as const;
  if (st.kind === 'postgres')
    return openPostgresSink({ ...common, connection: st.connection, table: st.table, key: ds.contract?.key ?? [] });
  return openKafkaSink({
    ...common,
    storage: st,
    dataset: ds.name,
    contractKey: ds.contract?.key ?? [],
    ...(ds.contract?.eventTime === undefined ? {} : { eventTime: ds.contract.eventTime }),
    ...(progress === undefined ? {} : { progress }),
  });
}

/** Whether a flow reads a followed file, and so runs in processing time as well as event time. */
export function readsFollowed(stages: readonly Stage[]): boolean {
  return stages.some((s) => {
    if (s.kind !== 'source' || s.dataset === undefined) return false;
    const st = storageOf(s.dataset);
    return (st.kind === 'jsonl' && st.follow !== undefined) || st.kind === 'postgresCdc' || st.kind === 'kafka';
  });
}

/** The executor's probe timer while no source has data; an abort ends the wait early, it is not an error. */
function wait(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, undefined, { signal }).catch(() => undefined);
}

/** `Date.now()`, clamped so it never goes back when the system clock is set back (T6). */
function realClock(): () => number {
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const t = Date.now();
    if (t > last) last = t;
    return last;
  };
}

/**
 * Lets SIGINT or SIGTERM end an unbounded source gracefully while it is read: the source stops, its watermark goes
 * to +∞ and the sinks commit what was emitted. The handlers go away with the source.
 */
function untilSignalled(openReader: (signal: AbortSignal) => SourceReader): SourceReader {
  return {
    unbounded: true,
    async *chunks() {
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        yield* openReader(stop.signal).chunks();
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    },
  };
}

/** Reads files of a file dataset (CSV, JSON Lines or Parquet) under its contract, in the order given. */
export function openFiles(
  root: string,
  warehouse: Warehouse,
  ds: Dataset,
  files: readonly string[],
  live?: readonly boolean[],
): Promise<SourceReader> | SourceReader {
  const st = storageOf(ds);
  const contract = ds.contract;
  if (contract === undefined)
    throw new Error(`dataset ${ds.name} has no contract; napkin check reports this as NAP011`);
  if (st.kind === 'parquet')
    return openDuckSource(warehouse, { kind: 'parquet', files: [...files] }, contract, st.path, live);
  if (st.kind !== 'csv' && st.kind !== 'jsonl') throw new Error(`dataset ${ds.name} is not stored in files`);
  return openTextSource({
    format: st.kind,
    files,
    display: (f) => relative(root, f),
    contract,
    ...(live === undefined ? {} : { live }),
    ...(st.kind === 'csv' ? { delimiter: st.delimiter } : {}),
  });
}

/** The files a dataset's storage path matches, sorted; an error naming the path when none does. */
export async function matchFiles(root: string, pattern: string, dataset: string): Promise<string[]> {
  const files = (await glob(pattern, { cwd: root, absolute: true, onlyFiles: true })).sort();
  if (files.length === 0) {
    throw new Error(`dataset ${dataset}: no file matches '${pattern}' under ${root}; check the storage path`);
  }
  return files;
}

/**
 * Makes the datasets a SQL model reads visible under their dataset names: a view over the files or table that
 * stores each one, unless it already is a warehouse table of that name.
 */
async function exposeDatasets(w: Warehouse, root: string, plan: ProjectPlan, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const ds = plan.datasets.get(name)?.dataset;
    if (ds === undefined) continue;
    const st = storageOf(ds);
    if (st.kind === 'duckdb' && st.table === name) continue;
    if (st.kind === 'postgres' || st.kind === 'postgresCdc' || st.kind === 'kafka')
      throw new Error(`SQL models cannot read dataset ${name} yet: it is stored in ${st.kind}, not in the warehouse`);
    await w.ensureSchemaOf(name);
    let from: string;
    if (st.kind === 'duckdb') from = quoteTable(st.table);
    else if (st.kind === 'parquet') from = `read_parquet(${quoteString(join(root, st.path))})`;
    else if (st.kind === 'jsonl') from = `read_json(${quoteString(join(root, st.path))}, format = 'newline_delimited')`;
    else {
      const cols = (ds.contract?.schema.fields ?? []).map(
        (f) => `${quoteString(f.name)}: ${quoteString(duckType(f.type))}`,
      );
      from = `read_csv(${quoteString(join(root, st.path))}, header = true, delim = ${quoteString(st.delimiter)}, columns = {${cols.join(', ')}})`;
    }
    await w.run(`CREATE OR REPLACE VIEW ${quoteTable(name)} AS SELECT * FROM ${from}`);
  }
}

/** A SQL model's result must have the columns and types its dataset's contract declares. */
async function checkSqlContract(w: Warehouse, table: string, ds: Dataset): Promise<void> {
  const contract = ds.contract;
  if (contract === undefined) return;
  const cols = await w.rows(`DESCRIBE ${quoteTable(table)}`);
  const found = new Map(cols.map((c) => [String(c.column_name), String(c.column_type)]));
  const problems: string[] = [];
  for (const f of contract.schema.fields) {
    const t = found.get(f.name);
    if (t === undefined) problems.push(`column '${f.name}' is missing`);
    else if (t !== duckType(f.type) && !(f.type.kind === 'enum' && t === 'VARCHAR')) {
      problems.push(`column '${f.name}' is ${t}, the contract says ${duckType(f.type)}`);
    }
  }
  for (const name of found.keys()) {
    if (!contract.schema.fields.some((f) => f.name === name) && contract.content === 'closed') {
      problems.push(`column '${name}' is not in the contract`);
    }
  }
  if (problems.length === 0) {
    for (const f of contract.schema.fields.filter((x) => !x.nullable)) {
      const n = await w.rows(`SELECT count(*) AS n FROM ${quoteTable(table)} WHERE ${quoteIdent(f.name)} IS NULL`);
      if (Number(n[0].n) > 0) problems.push(`required column '${f.name}' has ${String(n[0].n)} null values`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `SQL model ${ds.name} breaks its contract v${contract.version}: ${problems.join('; ')}; cast the SELECT's columns (e.g. CAST(x AS DOUBLE) AS x) or change the contract`,
    );
  }
}
