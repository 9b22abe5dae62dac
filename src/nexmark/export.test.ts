import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { LOAD_SQL } from '../../examples/nexmark/reference.ts';
import { exportEvents, exportFormatOf } from './export.ts';
import { GeneratorOptionError, NexmarkGenerator } from './generator.ts';
import { type EventKind, FIELDS } from './schema.ts';
import { allEvents } from './testing.ts';

const dir = mkdtempSync(join(tmpdir(), 'napkin-nexmark-export-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Spec nexmark.md §5.1, as the query checks load it, but for the file name. */
const LOAD = (file: string): string => LOAD_SQL.replace("'events.jsonl'", `'${file}'`);

async function query(sql: string, setup = ''): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    if (setup !== '') await con.run(setup);
    return (await con.runAndReadAll(sql)).getRowObjectsJson();
  } finally {
    con.closeSync();
    db.closeSync();
  }
}

describe('nexmark export: JSON Lines (§4)', () => {
  const options = { events: 2500, seed: 7, outOfOrder: 100 };
  const file = join(dir, 'events.jsonl');

  test('is byte-identical across runs and holds the generator events, fields in spec order', async () => {
    await exportEvents(options, file);
    const first = readFileSync(file);
    await exportEvents(options, file);
    assert.ok(readFileSync(file).equals(first), 'two exports differ');
    const text = first.toString('utf8');
    assert.ok(text.endsWith('}\n'));
    const lines = text.slice(0, -1).split('\n');
    const events = allEvents(new NexmarkGenerator(options));
    assert.equal(lines.length, events.length);
    lines.forEach((line, n) => {
      const parsed = JSON.parse(line) as Record<string, unknown>;
      assert.deepEqual(Object.keys(parsed), ['type', ...FIELDS[parsed.type as EventKind]], `line ${n + 1}`);
      assert.deepEqual(parsed, events[n], `line ${n + 1}`);
    });
    assert.match(lines[0], /^\{"type":"person","id":1000,"name":"[A-Za-z ]+","emailAddress":/);
    assert.doesNotMatch(text, /\d[eE.]\d|\.0[,}]/, 'a number written as a float');
  });

  test('DuckDB reads it with the §5.1 loading statement', async () => {
    const setup = LOAD(file);
    const counts = await query(
      `SELECT (SELECT count(*) FROM person) AS p, (SELECT count(*) FROM auction) AS a, (SELECT count(*) FROM bid) AS b,
        (SELECT count(*) FROM events WHERE dateTime IS NULL) AS no_time`,
      setup,
    );
    assert.deepEqual(counts, [{ p: '50', a: '150', b: '2300', no_time: '0' }]);
    const firstBid = allEvents(new NexmarkGenerator(options)).find((e) => e.type === 'bid');
    const rows = await query(
      `SELECT auction, bidder, price, channel, url, dateTime, extra FROM bid WHERE dateTime = ${firstBid?.dateTime}
        AND auction = ${firstBid?.auction} AND bidder = ${firstBid?.bidder} AND price = ${firstBid?.price}`,
      setup,
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].url, firstBid?.url);
  });

  test('leaves no temporary file behind', () => {
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.startsWith('.')),
      [],
    );
  });
});

describe('nexmark export: Parquet (§4)', () => {
  const options = { events: 3000, seed: 3 };

  test('reads back in DuckDB with the rows of the JSONL, in order, integers as INT64', async () => {
    const jsonl = join(dir, 'p.jsonl');
    const parquet = join(dir, 'p.parquet');
    await exportEvents(options, jsonl);
    await exportEvents(options, parquet);
    const cols = ['type', ...new Set(Object.values(FIELDS).flat())].map((c) => `"${c}"`).join(', ');
    const fromJson = await query(`SELECT ${cols} FROM events`, LOAD(jsonl));
    const fromParquet = await query(`SELECT ${cols} FROM read_parquet('${parquet}')`);
    assert.equal(fromParquet.length, 3000);
    assert.deepEqual(fromParquet, fromJson);
    const schema = await query(
      `SELECT name, type, duckdb_type FROM parquet_schema('${parquet}') WHERE name IN ('dateTime', 'expires', 'id')`,
    );
    assert.equal(schema.length, 3);
    for (const s of schema) assert.deepEqual([s.type, s.duckdb_type], ['INT64', 'BIGINT'], String(s.name));
    const names = (await query(`SELECT name FROM parquet_schema('${parquet}') WHERE name <> 'duckdb_schema'`)).map(
      (r) => r.name,
    );
    assert.deepEqual(names, ['type', ...FIELDS.person.slice(0, 6), ...UNION_TAIL]);
  });
});

const UNION_TAIL = [
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

describe('nexmark export: formats and errors', () => {
  test('the extension picks the format', () => {
    assert.equal(exportFormatOf('a/b.jsonl'), 'jsonl');
    assert.equal(exportFormatOf('b.PARQUET'), 'parquet');
    assert.equal(exportFormatOf('b.csv'), undefined);
  });

  test('an unknown extension or bad options fail before any file is written', async () => {
    await assert.rejects(exportEvents({ events: 5 }, join(dir, 'x.csv')), /\.jsonl or \.parquet/);
    await assert.rejects(exportEvents({ events: 5, outOfOrder: 953 }, join(dir, 'y.jsonl')), GeneratorOptionError);
    assert.ok(!readdirSync(dir).some((f) => f.startsWith('x.') || f.startsWith('y.')));
  });
});
