import { mkdtemp, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { quoteString } from '../connectors/duckdb/sql-types.ts';
import { StagingTable } from '../connectors/duckdb/staging.ts';
import { Warehouse } from '../connectors/duckdb/warehouse.ts';
import { publishFile, tempPathFor } from '../connectors/files/atomic.ts';
import type { Field, Schema, Value } from '../expr/types.ts';
import type { Column } from '../runtime/batch.ts';
import { batchOf, eachChunk } from './export-chunks.ts';
import type { NexmarkGenerator } from './generator.ts';
import { KIND_NAMES } from './layout.ts';
import { FIELDS } from './schema.ts';

/**
 * The Parquet export (spec nexmark.md §4): one row per event in output order, `type` and then the union of all
 * fields, null where a kind lacks one. Integers and times are INT64 (ms), so the file holds the JSONL's values.
 */
const UNION: readonly string[] = [
  'id',
  'name',
  'emailAddress',
  'creditCard',
  'city',
  'state',
  'itemName',
  'description',
  'initialBid',
  'reserve',
  'expires',
  'seller',
  'category',
  'auction',
  'bidder',
  'price',
  'channel',
  'url',
  'dateTime',
  'extra',
];
const STRINGS: ReadonlySet<string> = new Set([
  ...['name', 'emailAddress', 'creditCard', 'city', 'state'],
  ...['itemName', 'description', 'channel', 'url', 'extra'],
]);

export const PARQUET_SCHEMA: Schema = {
  fields: [
    { name: 'type', type: { kind: 'string' }, nullable: false },
    ...UNION.map((name): Field => ({ name, type: { kind: STRINGS.has(name) ? 'string' : 'int64' }, nullable: true })),
  ],
};

/** DuckDB's memory for the staged rows, past which it spills them to the scratch folder (10M events take ~7 GB). */
const MEMORY_LIMIT = '1GB';

/** For each kind, the union column (1-based: column 0 is `type`) of each of its fields. */
const TARGETS: readonly (readonly number[])[] = KIND_NAMES.map((k) => FIELDS[k].map((f) => 1 + unionIndex(f)));

function unionIndex(f: string): number {
  const i = UNION.indexOf(f);
  if (i < 0) throw new Error(`nexmark export: field ${f} is missing from the Parquet layout; add it to UNION`);
  return i;
}

/**
 * Stages the rows in an in-memory DuckDB, a chunk per append, then has DuckDB `COPY` them to a temporary Parquet file
 * that is published atomically. DuckDB spills to a scratch folder beside the output when the rows outgrow memory.
 */
export async function writeParquet(gen: NexmarkGenerator, path: string): Promise<void> {
  const tmp = tempPathFor(path);
  const scratch = await mkdtemp(join(dirname(path), '.napkin-parquet-'));
  const w = await Warehouse.open(':memory:');
  try {
    await w.run(`SET temp_directory = ${quoteString(scratch)}`);
    await w.run(`SET memory_limit = '${MEMORY_LIMIT}'`);
    await w.run('SET preserve_insertion_order = true');
    const staging = await StagingTable.create(w, PARQUET_SCHEMA);
    await stageEvents(gen, staging);
    staging.finish();
    await w.run(
      `COPY (SELECT ${staging.selectList()} FROM ${staging.table}) TO ${quoteString(tmp)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    await publishFile(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  } finally {
    w.close();
    await rm(scratch, { recursive: true, force: true });
  }
}

async function stageEvents(gen: NexmarkGenerator, staging: StagingTable): Promise<void> {
  let columns: Column[] = [];
  let length = 0;
  await eachChunk(
    gen,
    (chunk, kind, row, i) => {
      if (i === 0) {
        length = chunk.positions;
        columns = PARQUET_SCHEMA.fields.map(() => new Array<Value>(length).fill(null));
      }
      const source = batchOf(chunk, kind);
      const targets = TARGETS[kind];
      columns[0][i] = KIND_NAMES[kind];
      for (let f = 0; f < targets.length; f++) columns[targets[f]][i] = source[f][row];
    },
    async () => {
      if (length > 0) staging.append({ length, columns });
      length = 0;
    },
  );
}
