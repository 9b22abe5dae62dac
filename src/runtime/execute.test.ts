import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { avg, col, count, countDistinct, max, min, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import type { Value } from '../expr/types.ts';
import { contract, t } from '../flow/contract.ts';
import { type Dataset, dataset } from '../flow/dataset.ts';
import { flow, type Output, write } from '../flow/flow.ts';
import { type Rel, read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import type { Stage } from '../plan/stage.ts';
import type { Batch } from './batch.ts';
import { type FlowIO, RunError, runFlow } from './execute.ts';
import type { StageMetrics } from './operator.ts';
import type { QuarantineEntry } from './quarantine.ts';

// An in-memory harness: sources are arrays of rows cut into batches of a chosen size, sinks collect rows. It drives
// the real executor and operators; only the connectors are replaced.
type Row = Record<string, Value>;

const people = dataset('t.people', {
  contract: contract({
    key: ['id'],
    fields: { id: t.int64(), name: t.string(), country: t.string().optional(), age: t.int64().optional() },
  }),
});
const countries = dataset('t.countries', {
  contract: contract({ key: ['country'], fields: { country: t.string(), region: t.string() } }),
});

function out(name: string, fields: Parameters<typeof contract>[0]['fields']): Dataset {
  return dataset(name, { owner: 'o', contract: contract({ fields }) });
}

async function run(
  outputs: Output[],
  data: Map<string, Row[]>,
  batchSize = 2,
  rejected: Map<string, QuarantineEntry[]> = new Map(),
): Promise<{
  rows: Map<string, Row[]>;
  stages: Map<string, StageMetrics>;
  quarantined: QuarantineEntry[];
}> {
  const registry = createRegistry();
  const bound = bindFlow(flow({ name: 'f', owner: 'o', sla: '1d', outputs }), registry);
  assert.deepEqual(bound.findings, []);
  const rows = new Map<string, Row[]>();
  const quarantined: QuarantineEntry[] = [];
  const io: FlowIO = {
    async openSource(s: Stage) {
      const fields = s.dataset?.contract?.schema.fields ?? [];
      const all = data.get(s.dataset?.name ?? '') ?? [];
      return {
        async *chunks() {
          for (let i = 0; i < all.length || i === 0; i += batchSize) {
            const part = all.slice(i, i + batchSize);
            const batch: Batch = {
              length: part.length,
              columns: fields.map((f) => part.map((r) => r[f.name] ?? null)),
            };
            yield { batch, rejected: i === 0 ? (rejected.get(s.dataset?.name ?? '') ?? []) : [] };
          }
        },
      };
    },
    async openSink(s: Stage) {
      const input = bound.stages.find((x) => x.id === s.inputs[0])?.schema?.fields ?? [];
      const got: Row[] = [];
      return {
        write(b: Batch) {
          for (let i = 0; i < b.length; i++)
            got.push(Object.fromEntries(input.map((f, c) => [f.name, b.columns[c][i]])));
        },
        async commit() {
          rows.set(s.dataset?.name ?? '', got);
          return 'memory';
        },
        async abort() {},
      };
    },
    async runSql() {
      return { rows: 0, location: '' };
    },
    sqlInputs: () => [],
    quarantine: (_s, entries) => quarantined.push(...entries),
  };
  const result = await runFlow(bound, registry, io);
  return { rows, stages: new Map(result.stages.map((s) => [s.stage.id, s.metrics])), quarantined };
}

const PEOPLE: Row[] = [
  { id: 1, name: 'Ana', country: 'PT', age: 30 },
  { id: 2, name: 'Ben', country: 'GB', age: null },
  { id: 3, name: 'Cai', country: null, age: 41 },
  { id: 4, name: 'Dee', country: 'PT', age: 25 },
  { id: 5, name: 'Eve', country: 'US', age: 52 },
];
const COUNTRIES: Row[] = [
  { country: 'PT', region: 'EU' },
  { country: 'GB', region: 'EU' },
  { country: 'FR', region: 'EU' },
];
const data = new Map([
  ['t.people', PEOPLE],
  ['t.countries', COUNTRIES],
]);
const sortBy = (k: string) => (a: Row, b: Row) => String(a[k]).localeCompare(String(b[k]));

describe('operators through the executor', () => {
  test('filter counts what it drops; null predicates drop the row', async () => {
    const o = out('t.o', { id: t.int64() });
    const r = await run([write(o, read(people).filter(col('age').gt(28)).stage('adults').select('id'))], data);
    assert.deepEqual(r.rows.get('t.o'), [{ id: 1 }, { id: 3 }, { id: 5 }]);
    assert.deepEqual(r.stages.get('adults'), {
      in: 5,
      out: 3,
      filtered: 2,
      lateDropped: 0,
      quarantined: 0,
      ms: r.stages.get('adults')?.ms,
    });
  });

  test('group by with every aggregate, null keys form their own group', async () => {
    const o = out('t.o', {
      country: t.string().optional(),
      n: t.int64(),
      ages: t.int64(),
      total: t.int64().optional(),
      lo: t.int64().optional(),
      hi: t.int64().optional(),
      mean: t.float64().optional(),
      names: t.int64(),
    });
    const rel = read(people)
      .groupBy('country')
      .agg({
        n: count(),
        ages: count(col('age')),
        total: sum(col('age')),
        lo: min(col('age')),
        hi: max(col('age')),
        mean: avg(col('age')),
        names: countDistinct(col('name')),
      });
    const r = await run([write(o, rel)], data);
    assert.deepEqual(r.rows.get('t.o')?.sort(sortBy('country')), [
      { country: 'GB', n: 1, ages: 0, total: null, lo: null, hi: null, mean: null, names: 1 },
      { country: null, n: 1, ages: 1, total: 41, lo: 41, hi: 41, mean: 41, names: 1 },
      { country: 'PT', n: 2, ages: 2, total: 55, lo: 25, hi: 30, mean: 27.5, names: 2 },
      { country: 'US', n: 1, ages: 1, total: 52, lo: 52, hi: 52, mean: 52, names: 1 },
    ]);
  });

  test('a global aggregate over no rows gives one row: count 0, sum null', async () => {
    const o = out('t.o', { n: t.int64(), total: t.int64().optional() });
    const rel = read(people)
      .filter(col('id').gt(100))
      .groupBy()
      .agg({ n: count(), total: sum(col('age')) });
    const r = await run([write(o, rel)], data);
    assert.deepEqual(r.rows.get('t.o'), [{ n: 0, total: null }]);
  });

  test('inner join drops unmatched and null keys; left join keeps them with nulls', async () => {
    const o = out('t.o', { id: t.int64(), country: t.string().optional(), region: t.string().optional() });
    const people_ = read(people).select('id', 'country');
    const inner = await run([write(o, people_.join(read(countries), { on: 'country' }))], data);
    assert.deepEqual(inner.rows.get('t.o')?.sort(sortBy('id')), [
      { id: 1, country: 'PT', region: 'EU' },
      { id: 2, country: 'GB', region: 'EU' },
      { id: 4, country: 'PT', region: 'EU' },
    ]);
    const left = await run([write(o, people_.join(read(countries), { on: 'country', how: 'left' }))], data, 1);
    assert.deepEqual(left.rows.get('t.o')?.sort(sortBy('id')), [
      { id: 1, country: 'PT', region: 'EU' },
      { id: 2, country: 'GB', region: 'EU' },
      { id: 3, country: null, region: null },
      { id: 4, country: 'PT', region: 'EU' },
      { id: 5, country: 'US', region: null },
    ]);
  });

  test('union reorders columns by name; dedupe keeps the first row per key', async () => {
    const o = out('t.o', { id: t.int64(), name: t.string() });
    const a = read(people).select('id', 'name');
    const b = read(people).select('name', 'id');
    const r = await run([write(o, a.union(b).dedupe('id'))], data);
    assert.deepEqual(
      r.rows.get('t.o')?.map((x) => x.id),
      [1, 2, 3, 4, 5],
    );
  });

  test('map runs the user function on declared columns and checks what it returns', async () => {
    const o = out('t.o', { id: t.int64(), initial: t.string() });
    const rel: Rel = read(people)
      .map((row) => ({ initial: String(row.name).slice(0, 1) }), { reads: ['name'], writes: { initial: t.string() } })
      .select('id', 'initial');
    const r = await run([write(o, rel)], data);
    assert.deepEqual(
      r.rows.get('t.o')?.map((x) => x.initial),
      ['A', 'B', 'C', 'D', 'E'],
    );
    const bad = read(people)
      .map(() => ({ initial: 7 }), { reads: ['name'], writes: { initial: t.string() } })
      .select('id', 'initial');
    await assert.rejects(
      run([write(o, bad)], data),
      /map returned 7 where string is declared for column 'initial' in row 1/,
    );
  });

  test('a stage read by two outputs runs once and feeds both', async () => {
    const a = out('t.a', { id: t.int64() });
    const b = out('t.b', { n: t.int64() });
    const shared = read(people).filter(col('country').eq('PT')).stage('pt');
    const r = await run([write(a, shared.select('id')), write(b, shared.groupBy().agg({ n: count() }))], data);
    assert.deepEqual(r.rows.get('t.a'), [{ id: 1 }, { id: 4 }]);
    assert.deepEqual(r.rows.get('t.b'), [{ n: 2 }]);
    assert.equal(r.stages.get('pt')?.in, 5);
  });

  test('results do not depend on batch boundaries', async () => {
    const o = out('t.o', { country: t.string().optional(), n: t.int64() });
    const rel = read(people)
      .join(read(countries), { on: 'country', how: 'left' })
      .groupBy('country')
      .agg({ n: count() });
    const results = await Promise.all([1, 2, 3, 100].map((size) => run([write(o, rel)], data, size)));
    for (const r of results)
      assert.deepEqual(r.rows.get('t.o')?.sort(sortBy('country')), results[0].rows.get('t.o')?.sort(sortBy('country')));
  });
});

describe('bad records', () => {
  const entry: QuarantineEntry = {
    source: 'people.csv',
    line: 7,
    record: 6,
    field: '/age',
    errorClass: 'type',
    expected: 'int64',
    found: 'old',
    raw: '6,Fay,PT,old',
    rawEncoding: 'utf8',
  };
  const o = out('t.o', { id: t.int64() });

  test('fail mode stops at the first refused record with its file, line and field', async () => {
    await assert.rejects(
      run([write(o, read(people).select('id'))], data, 2, new Map([['t.people', [entry]]])),
      (e: unknown) =>
        e instanceof RunError &&
        /people\.csv:7 field \/age: type error, expected int64, found old/.test(e.message) &&
        /onInvalid: 'quarantine'/.test(e.message),
    );
  });

  test('quarantine mode counts the record: in = out + quarantined', async () => {
    const rel = read(people, { onInvalid: 'quarantine', errorBudget: 5 }).stage('src').select('id');
    const r = await run([write(o, rel)], data, 2, new Map([['t.people', [entry]]]));
    assert.deepEqual(r.quarantined, [entry]);
    const s = r.stages.get('src');
    assert.equal(s?.in, 6);
    assert.equal((s?.out ?? 0) + (s?.quarantined ?? 0), 6);
  });

  test('an exceeded error budget fails the run and names the budget', async () => {
    const rel = read(people, { onInvalid: 'quarantine', errorBudget: 1 }).select('id');
    await assert.rejects(
      run([write(o, rel)], data, 2, new Map([['t.people', [entry, { ...entry, line: 8, record: 7 }]]])),
      /2 records quarantined, over the error budget of 1/,
    );
  });
});
