import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Schema, Value } from '../../expr/types.ts';
import { contract, t } from '../../flow/contract.ts';
import type { Batch } from '../../runtime/batch.ts';
import type { EpochCommit, SourceReader } from '../../runtime/execute.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { manifestPathFor } from '../files/sink-manifest.ts';
import { openTextSink } from '../files/text-sink.ts';
import { openTextSource } from '../files/text-source.ts';
import { openParquetSink } from './parquet-sink.ts';
import { openTableSink } from './table-sink.ts';
import { openDuckSource } from './table-source.ts';
import { Warehouse } from './warehouse.ts';

const c = contract({
  key: ['id'],
  fields: {
    id: t.int64(),
    name: t.string(),
    amount: t.decimal(10, 2),
    at: t.timestamp(),
    day: t.date(),
    ok: t.bool(),
    tags: t.list(t.string()).optional(),
  },
});
const schema: Schema = c.schema;
const AT = Date.UTC(2024, 4, 1, 12, 30, 0, 123);
const rows: Value[][] = [
  [1, 'a', 10.5, AT, 19844, true, ['x', 'y']],
  [2, 'b, "quoted"', 0.1, AT - 86_400_000, 19843, false, null],
  [3, 'c\nline', -3.25, -1, -1, true, []],
];
const batch = (rs: Value[][]): Batch => ({
  length: rs.length,
  columns: schema.fields.map((_, i) => rs.map((r) => r[i])),
});

/** The commit key of epoch `epoch` of one sink; epoch 1 starts the output unless told. */
const key = (epoch: number, fresh = epoch === 1, sink = 'out'): EpochCommit => ({
  flow: 'f',
  sink,
  partition: '0',
  epoch,
  fingerprint: 'fp',
  fresh,
});
/** Distinct rows per epoch: ids epoch*10.., so a lost or doubled epoch shows. */
const epochRows = (epoch: number): Value[][] =>
  [0, 1].map((i) => [epoch * 10 + i, `e${epoch}r${i}`, epoch + i / 100, AT + epoch, 19844, i === 0, null]);

async function drain(r: SourceReader): Promise<{ rows: Value[][]; rejected: QuarantineEntry[] }> {
  const out: Value[][] = [];
  const rejected: QuarantineEntry[] = [];
  for await (const ch of r.chunks()) {
    rejected.push(...ch.rejected);
    for (let i = 0; i < ch.batch.length; i++) out.push(ch.batch.columns.map((col) => col[i]));
  }
  return { rows: out, rejected };
}

describe('DuckDB and file connectors', () => {
  let dir: string;
  let w: Warehouse;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'napkin-conn-'));
    w = await Warehouse.open(join(dir, 'w.duckdb'));
  });
  after(() => w.close());

  test('a table written by the sink reads back value for value through the source', async () => {
    const sink = await openTableSink(w, {
      table: 'mart.t',
      contract: schema,
      key: ['id'],
      mode: 'replace',
      input: schema,
    });
    sink.write(batch(rows));
    assert.match(await sink.commit(), /duckdb mart\.t \(3 rows, replace\)/);
    const back = await drain(await openDuckSource(w, { kind: 'table', table: 'mart.t' }, c, 'mart.t'));
    assert.deepEqual(back.rejected, []);
    assert.deepEqual(
      back.rows.sort((a, b) => Number(a[0]) - Number(b[0])),
      rows,
    );
    const types = await w.rows(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 't' ORDER BY ordinal_position`,
    );
    assert.deepEqual(
      types.map((r) => r.data_type),
      ['BIGINT', 'VARCHAR', 'DECIMAL(10,2)', 'TIMESTAMP', 'DATE', 'BOOLEAN', 'VARCHAR[]'],
    );
  });

  test('merge applies retractions: a key whose last row retracts is deleted, a re-assertion is kept', async () => {
    const panes = contract({
      key: ['user', 'window_start'],
      fields: { user: t.string(), window_start: t.timestamp(), n: t.int64() },
    }).schema;
    const input: Schema = {
      fields: [...panes.fields, { name: 'retraction', type: { kind: 'bool' }, nullable: false }],
    };
    const rowsOf = (rs: Value[][]): Batch => ({
      length: rs.length,
      columns: input.fields.map((_, i) => rs.map((r) => r[i])),
    });
    const open = () =>
      openTableSink(w, { table: 'mart.panes', contract: panes, key: ['user', 'window_start'], mode: 'merge', input });
    const first = await open();
    first.write(
      rowsOf([
        ['a', 0, 1, false],
        ['b', 0, 5, false],
      ]),
    );
    await first.commit();
    const second = await open();
    // a's session [0, …) was merged away (retracted for good); b's pane was replaced (retract, then re-assert).
    second.write(
      rowsOf([
        ['a', 0, 1, true],
        ['b', 0, 5, true],
        ['b', 0, 7, false],
        ['a', 30, 2, false],
      ]),
    );
    await second.commit();
    const got = await w.rows('SELECT user, epoch_ms(window_start) AS window_start, n FROM mart.panes ORDER BY user, 2');
    assert.deepEqual(
      got.map((r) => [r.user, Number(r.window_start), Number(r.n)]),
      [
        ['a', 30, 2],
        ['b', 0, 7],
      ],
    );
    const cols = await w.rows("SELECT column_name FROM information_schema.columns WHERE table_name = 'panes'");
    assert.ok(!cols.some((r) => r.column_name === 'retraction'), 'the flag is not published');
  });

  test('merge replaces the keys it brings, keeps the others, and the last row per key wins', async () => {
    const sink = await openTableSink(w, {
      table: 'mart.m',
      contract: schema,
      key: ['id'],
      mode: 'merge',
      input: schema,
    });
    sink.write(batch(rows));
    await sink.commit();
    const again = await openTableSink(w, {
      table: 'mart.m',
      contract: schema,
      key: ['id'],
      mode: 'merge',
      input: schema,
    });
    again.write(batch([[2, 'first', 1, AT, 1, true, null]]));
    again.write(
      batch([
        [2, 'second', 2, AT, 1, true, null],
        [9, 'new', 3, AT, 1, true, null],
      ]),
    );
    await again.commit();
    const names = await w.rows('SELECT id, name FROM mart.m ORDER BY id');
    assert.deepEqual(
      names.map((r) => [Number(r.id), r.name]),
      [
        [1, 'a'],
        [2, 'second'],
        [3, 'c\nline'],
        [9, 'new'],
      ],
    );
  });

  test('a replace with a duplicate key publishes nothing and names the key', async () => {
    const sink = await openTableSink(w, {
      table: 'mart.t',
      contract: schema,
      key: ['id'],
      mode: 'replace',
      input: schema,
    });
    sink.write(batch([rows[0], rows[0]]));
    await assert.rejects(sink.commit(), /key \(id\) is not unique: id=1 appears 2 times/);
    await sink.abort();
    const n = await w.rows('SELECT count(*) AS n FROM mart.t');
    assert.equal(Number(n[0].n), 3, 'the previous table is untouched');
  });

  test('an aborted sink leaves no trace: the old table stays and no staging table remains', async () => {
    const sink = await openTableSink(w, {
      table: 'mart.t',
      contract: schema,
      key: ['id'],
      mode: 'replace',
      input: schema,
    });
    sink.write(batch([[7, 'x', 1, AT, 1, true, null]]));
    await sink.abort();
    assert.equal(Number((await w.rows('SELECT count(*) AS n FROM mart.t'))[0].n), 3);
    assert.equal(
      Number(
        (await w.rows(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'napkin_staging'`))[0]
          .n,
      ),
      0,
    );
  });

  test('Parquet written by the sink reads back; a null in a required column is quarantined with file and row', async () => {
    const path = join(dir, 'p.parquet');
    const sink = await openParquetSink(w, { path, display: 'p.parquet', contract: schema, input: schema });
    sink.write(batch(rows));
    await sink.commit();
    const back = await drain(await openDuckSource(w, { kind: 'parquet', files: [path] }, c, 'p.parquet'));
    assert.deepEqual(back.rows, rows);
    const loose = contract({ fields: { id: t.int64(), name: t.string().optional() } });
    const holes = join(dir, 'holes.parquet');
    await w.run(
      `COPY (SELECT * FROM (VALUES (1, 'a'), (2, NULL), (3, 'c')) v(id, name)) TO '${holes}' (FORMAT parquet)`,
    );
    const strict = contract({ fields: { id: t.int64(), name: t.string() } });
    const r = await drain(await openDuckSource(w, { kind: 'parquet', files: [holes] }, strict, 'holes.parquet'));
    assert.deepEqual(r.rows, [
      [1, 'a'],
      [3, 'c'],
    ]);
    assert.equal(r.rejected.length, 1);
    assert.equal(r.rejected[0].record, 2);
    assert.equal(r.rejected[0].field, '/name');
    assert.equal(r.rejected[0].errorClass, 'missing');
    assert.match(r.rejected[0].source, /holes\.parquet$/);
    assert.deepEqual(
      (await drain(await openDuckSource(w, { kind: 'parquet', files: [holes] }, loose, 'h'))).rows.length,
      3,
    );
  });

  test('a renamed Parquet column is drift: the error names both columns; a declared rename is read', async () => {
    const f = join(dir, 'renamed.parquet');
    await w.run(`COPY (SELECT 1 AS id, 'a' AS full_name) TO '${f}' (FORMAT parquet)`);
    const want = contract({ fields: { id: t.int64(), name: t.string() } });
    await assert.rejects(
      openDuckSource(w, { kind: 'parquet', files: [f] }, want, 'renamed.parquet'),
      /renamed\.parquet: schema drift: required column 'name' is missing; column\(s\) full_name are not in the contract/,
    );
    const renamed = contract({ fields: { id: t.int64(), name: t.string().renamedFrom('full_name') } });
    assert.deepEqual((await drain(await openDuckSource(w, { kind: 'parquet', files: [f] }, renamed, 'r'))).rows, [
      [1, 'a'],
    ]);
  });

  for (const format of ['csv', 'jsonl'] as const) {
    test(`${format} written by the text sink reads back under the same contract`, async () => {
      const path = join(dir, `out.${format}`);
      const sink = openTextSink({ format, path, display: `out.${format}`, contract: schema, input: schema });
      sink.write(batch(rows));
      assert.match(await sink.commit(), new RegExp(`${format} out\\.${format} \\(3 rows\\)`));
      if (format === 'csv')
        assert.match(
          readFileSync(path, 'utf8'),
          /^id,name,amount,at,day,ok,tags\n1,a,10\.50,2024-05-01T12:30:00\.123Z,2024-05-01,true,/,
        );
      const back = await drain(openTextSource({ format, files: [path], display: () => `out.${format}`, contract: c }));
      assert.deepEqual(back.rejected, []);
      assert.deepEqual(
        back.rows,
        format === 'csv' ? rows.map((r, i) => (i === 1 ? [...r.slice(0, 6), null] : r)) : rows,
      );
    });
  }
  describe('epochs', () => {
    const open = (table: string, mode: 'replace' | 'merge') =>
      openTableSink(w, { table, contract: schema, key: ['id'], mode, input: schema });
    const ids = async (table: string) => (await w.rows(`SELECT id FROM ${table} ORDER BY id`)).map((r) => Number(r.id));
    const stagingTables = async () =>
      Number(
        (await w.rows(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'napkin_staging'`))[0]
          .n,
      );

    test('replace: one writer publishes a fresh epoch, appends the next, and a later fresh epoch replaces all', async () => {
      const s = await open('ep.r', 'replace');
      for (const e of [1, 2, 3]) {
        s.write(batch(epochRows(e)));
        assert.equal(await s.commit(key(e)), 'duckdb ep.r (2 rows, replace)');
        assert.equal(await stagingTables(), 0, 'no staging table is left between epochs');
      }
      assert.deepEqual(await ids('ep.r'), [10, 11, 20, 21, 30, 31]);
      s.write(batch(epochRows(4)));
      await s.commit(key(4, true));
      assert.deepEqual(await ids('ep.r'), [40, 41]);
      const keys = await w.rows(
        `SELECT epoch, fingerprint, target, rows FROM napkin_meta.sink_commits WHERE flow = 'f' AND sink = 'out' AND target = 'ep.r' ORDER BY epoch`,
      );
      assert.deepEqual(
        keys.map((r) => [Number(r.epoch), r.fingerprint, r.target, Number(r.rows)]),
        [1, 2, 3, 4].map((e) => [e, 'fp', 'ep.r', 2]),
      );
    });

    test('replace: an appended epoch whose key repeats a published row publishes nothing', async () => {
      const s = await open('ep.dup', 'replace');
      s.write(batch(epochRows(1)));
      await s.commit(key(1, true, 'dup'));
      s.write(batch([epochRows(1)[1], epochRows(2)[0]]));
      await assert.rejects(s.commit(key(2, false, 'dup')), /key \(id\) is not unique: id=11 appears 2 times/);
      await s.abort();
      assert.deepEqual(await ids('ep.dup'), [10, 11]);
      assert.equal(await stagingTables(), 0);
      s.write(batch(epochRows(2)));
      await s.commit(key(2, false, 'dup'));
      assert.deepEqual(await ids('ep.dup'), [10, 11, 20, 21], 'the writer goes on after an abort');
    });

    test('merge: each epoch upserts into what the earlier ones published', async () => {
      const s = await open('ep.m', 'merge');
      s.write(batch(epochRows(1)));
      await s.commit(key(1, true, 'merge'));
      s.write(batch([[11, 'changed', 1, AT, 1, true, null], ...epochRows(2)]));
      await s.commit(key(2, false, 'merge'));
      s.write(batch([[20, 'again', 1, AT, 1, true, null]]));
      await s.commit(key(3, true, 'merge'));
      const got = await w.rows('SELECT id, name FROM ep.m ORDER BY id');
      assert.deepEqual(
        got.map((r) => [Number(r.id), r.name]),
        [
          [10, 'e1r0'],
          [11, 'changed'],
          [20, 'again'],
          [21, 'e2r1'],
        ],
      );
    });

    test('an epoch committed again by a new writer (after a restart) is dropped', async () => {
      for (const mode of ['replace', 'merge'] as const) {
        const table = `ep.again_${mode}`;
        const sink = `again_${mode}`;
        const first = await open(table, mode);
        for (const e of [1, 2]) {
          first.write(batch(epochRows(e)));
          await first.commit(key(e, e === 1, sink));
        }
        const restarted = await open(table, mode);
        restarted.write(batch(epochRows(2)));
        assert.equal(await restarted.commit(key(2, false, sink)), `duckdb ${table} (epoch 2 already committed)`);
        restarted.write(batch(epochRows(1)));
        assert.equal(await restarted.commit(key(1, true, sink)), `duckdb ${table} (epoch 1 already committed)`);
        restarted.write(batch(epochRows(3)));
        await restarted.commit(key(3, false, sink));
        assert.deepEqual(await ids(table), [10, 11, 20, 21, 30, 31], mode);
        assert.equal(await stagingTables(), 0);
      }
    });

    test('Parquet: a fresh epoch, then appends; a crash between the renames converges; a repeated epoch is dropped', async () => {
      const path = join(dir, 'ep.parquet');
      const commit = async (e: number, fresh = e === 1) => {
        const s = await openParquetSink(w, { path, display: 'ep.parquet', contract: schema, input: schema });
        s.write(batch(epochRows(e)));
        return s.commit(key(e, fresh, 'pq'));
      };
      const read = async () =>
        (await drain(await openDuckSource(w, { kind: 'parquet', files: [path] }, c, 'ep.parquet'))).rows;
      assert.equal(await commit(1), 'parquet ep.parquet (2 rows)');
      const manifest = readFileSync(manifestPathFor(path));
      await commit(2);
      // The state a crash after the data rename leaves: epoch 2's rows in the file, the manifest still at epoch 1.
      writeFileSync(manifestPathFor(path), manifest);
      assert.equal((await read()).length, 4);
      assert.equal(await commit(2), 'parquet ep.parquet (2 rows)');
      assert.equal(await commit(2), 'parquet ep.parquet (epoch 2 already committed)');
      await commit(3);
      assert.deepEqual(await read(), [...epochRows(1), ...epochRows(2), ...epochRows(3)]);
      await commit(4, true);
      assert.deepEqual(await read(), epochRows(4));
      assert.equal(await stagingTables(), 0);
    });
  });
});
