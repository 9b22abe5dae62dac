import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Value } from '../../expr/types.ts';
import { contract, t } from '../../flow/contract.ts';
import type { SourceReader } from '../../runtime/execute.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { openTableSink } from './table-sink.ts';
import { openDuckSource } from './table-source.ts';
import { Warehouse } from './warehouse.ts';

// The staging writer and the source reader go through raw vectors (typed arrays, validity masks, inline strings);
// these round trips pin the edges: int64 halves and signs, nulls of every kind, chunk and batch boundaries, strings
// on both sides of 12 bytes, non-ASCII text, and more distinct short strings than the string cache takes.

const MAX = Number.MAX_SAFE_INTEGER;
const c = contract({
  key: ['id'],
  fields: {
    id: t.int64(),
    big: t.int64().optional(),
    x: t.float64().optional(),
    at: t.timestamp().optional(),
    day: t.date().optional(),
    ok: t.bool().optional(),
    code: t.string().optional(),
    tag: t.enum('Tag', ['a', 'b', 'c']).optional(),
    nested: t.struct('S', { k: t.string() }).optional(),
  },
});

const EDGES = [0, 1, -1, MAX, -MAX, 2 ** 32, -(2 ** 32), 2 ** 32 - 1, -(2 ** 31), 2 ** 31, 123_456_789_012];
const TEXTS = ['', 'DE', 'twelve bytes', 'thirteen byte', 'ünïcödé', '日本語のテキストです', 'x'.repeat(100)];

function row(i: number): Value[] {
  const nth = <T>(xs: readonly T[]): T => xs[i % xs.length];
  const isNull = (k: number) => i % (k + 5) === 0;
  return [
    i,
    isNull(0) ? null : nth(EDGES),
    isNull(1) ? null : i * 0.25 - 100,
    isNull(2) ? null : 1_700_000_000_000 + (nth(EDGES) % 1e12),
    isNull(3) ? null : (i % 40_000) - 20_000,
    isNull(4) ? null : i % 3 === 0,
    isNull(5) ? null : i < 6000 ? `k${i}` : nth(TEXTS),
    isNull(6) ? null : nth(['a', 'b', 'c']),
    isNull(7) ? null : { k: nth(TEXTS) },
  ];
}

async function drain(r: SourceReader): Promise<Value[][]> {
  const out: Value[][] = [];
  for await (const ch of r.chunks()) {
    assert.equal(ch.rejected.length, 0);
    for (const col of ch.batch.columns) assert.equal(col.length, ch.batch.length);
    for (let i = 0; i < ch.batch.length; i++) out.push(ch.batch.columns.map((col) => col[i]));
  }
  return out;
}

describe('DuckDB vectors', () => {
  let w: Warehouse;
  before(async () => {
    w = await Warehouse.open(':memory:');
  });
  after(() => w.close());

  test('values of every transport type survive staging and reading back, nulls included', async () => {
    const n = 20_011;
    const rows = Array.from({ length: n }, (_, i) => row(i));
    const sink = await openTableSink(w, {
      table: 'v.t',
      contract: c.schema,
      key: ['id'],
      mode: 'replace',
      input: c.schema,
    });
    // Uneven batches: chunk boundaries fall inside batches and batches end mid-chunk.
    for (let start = 0; start < n; start += 3001) {
      const part = rows.slice(start, start + 3001);
      sink.write({ length: part.length, columns: c.schema.fields.map((_, k) => part.map((r) => r[k])) });
    }
    await sink.commit();
    const back = await drain(await openDuckSource(w, { kind: 'table', table: 'v.t' }, c, 'v.t'));
    back.sort((a, b) => (a[0] as number) - (b[0] as number));
    assert.equal(back.length, n);
    for (let i = 0; i < n; i++) assert.deepEqual(back[i], rows[i], `row ${i}`);
  });

  test('int64 values are stored exactly, as DuckDB sees them', async () => {
    const r = await w.rows('SELECT CAST(big AS VARCHAR) AS v FROM v.t WHERE id < 11 ORDER BY id');
    const expected = Array.from({ length: 11 }, (_, i) => row(i)[1]).map((v) => (v === null ? null : String(v)));
    assert.deepEqual(
      r.map((x) => x.v),
      expected,
    );
  });

  test('a column no stage reads is left empty, but a refused row still shows it in quarantine', async () => {
    await w.run('CREATE TABLE v.bad AS SELECT * FROM v.t WHERE id < 5000');
    await w.run('UPDATE v.bad SET id = NULL WHERE id = 4001');
    const liveMask = c.schema.fields.map((f) => f.name !== 'big' && f.name !== 'code');
    const reader = await openDuckSource(w, { kind: 'table', table: 'v.bad' }, c, 'v.bad', liveMask);
    let rows = 0;
    const rejected: QuarantineEntry[] = [];
    for await (const ch of reader.chunks()) {
      rejected.push(...ch.rejected);
      rows += ch.batch.length;
      for (const [k, col] of ch.batch.columns.entries()) assert.equal(col.length, liveMask[k] ? ch.batch.length : 0);
    }
    assert.equal(rows, 4999);
    assert.equal(rejected.length, 1);
    const raw = JSON.parse(rejected[0].raw) as Record<string, unknown>;
    assert.equal(raw.code, row(4001)[6]);
    assert.equal(raw.big, row(4001)[1]);
  });
});
