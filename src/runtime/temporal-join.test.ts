import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { col } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { type Dataset, dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { defineProject } from '../flow/project.ts';
import { type Rel, read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { projectLineage } from '../plan/lineage.ts';
import { planProject } from '../plan/project-plan.ts';
import { boundedOutOfOrderness } from '../time/watermarks.ts';
import { liveColumns } from './liveness.ts';
import { runTest, type TestRow, testStream } from './testing.ts';

const H = 3_600_000;

const orders = dataset('shop.orders', {
  contract: contract({
    eventTime: 'placed_at',
    fields: {
      order_id: t.string(),
      currency: t.string().optional(),
      amount: t.decimal(12, 2),
      placed_at: t.timestamp(),
    },
  }),
});
const fx = dataset('ref.fx_rates', {
  contract: contract({
    eventTime: 'valid_from',
    fields: {
      currency: t.string(),
      rate_to_eur: t.decimal(12, 6),
      valid_from: t.timestamp(),
      retired: t.bool(),
    },
  }),
});
const noTime = dataset('ref.plain_rates', {
  contract: contract({ fields: { currency: t.string(), rate_to_eur: t.decimal(12, 6) } }),
});
const out = dataset('mart.orders_eur', {
  owner: 'o',
  contract: contract({
    content: 'open',
    fields: { order_id: t.string(), rate_to_eur: t.decimal(12, 6).optional() },
  }),
});

const flowOf = (rel: Rel, into: Dataset = out) =>
  flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(into, rel)] });

const asOf = (how: 'inner' | 'left' = 'left', rates: Rel = read(fx)) =>
  read(orders).temporalJoin(rates, { on: 'currency', how, deletedWhen: 'retired' }).stage('fx_as_of');

const findings = (rel: Rel) => bindFlow(flowOf(rel), createRegistry()).findings;

describe('temporalJoin: bind', () => {
  test('schema: left columns, then the table columns without the shared key and the tombstone flag', () => {
    const bound = bindFlow(flowOf(asOf()), createRegistry());
    assert.deepEqual(bound.findings, []);
    const stage = bound.stages.find((s) => s.id === 'fx_as_of');
    assert.equal(stage?.op, 'temporalJoin');
    assert.equal(stage?.detail, 'left temporal join as of event time on currency, tombstones where retired');
    assert.deepEqual(
      stage?.schema?.fields.map((f) => `${f.name}:${f.type.kind}${f.nullable ? '?' : ''}`),
      [
        'order_id:string',
        'currency:string?',
        'amount:decimal',
        'placed_at:timestamp',
        'rate_to_eur:decimal?',
        'valid_from:timestamp?',
      ],
    );
    const inner = bindFlow(flowOf(asOf('inner')), createRegistry()).stages.find((s) => s.id === 'fx_as_of');
    assert.equal(inner?.schema?.fields.find((f) => f.name === 'rate_to_eur')?.nullable, false);
  });

  test('NAP003: key type mismatch, unknown key, deletedWhen not a boolean column', () => {
    const intKey = read(fx).select({ currency: col('rate_to_eur') }, 'valid_from', 'retired');
    const mismatch = findings(asOf('left', intKey));
    assert.deepEqual(
      mismatch.map((f) => f.code),
      ['NAP003'],
    );
    assert.match(
      mismatch[0].message,
      /key currency is string\? on the left and currency is decimal\(12,6\) on the right/,
    );
    assert.match(findings(read(orders).temporalJoin(read(fx), { on: 'ccy' }))[0].message, /'ccy' is not a left column/);
    const notBool = findings(read(orders).temporalJoin(read(fx), { on: 'currency', deletedWhen: 'rate_to_eur' }));
    assert.equal(notBool[0].code, 'NAP003');
    assert.match(notBool[0].message, /deletedWhen 'rate_to_eur' is decimal\(12,6\), not a boolean column/);
    const unknown = findings(read(orders).temporalJoin(read(fx), { on: 'currency', deletedWhen: 'gone' }));
    assert.match(unknown[0].message, /deletedWhen 'gone' is not a column of the table/);
  });

  test('NAP023: the table has no event time', () => {
    const f = findings(read(orders).temporalJoin(read(noTime), { on: 'currency' }));
    assert.deepEqual(
      f.map((x) => x.code),
      ['NAP023'],
    );
    assert.match(f[0].message, /the table \(right side, stage read_2\) has no event-time column/);
    assert.match(f[0].hint, /rightEventTime/);
  });

  test('a column on both sides is an error naming both sides; rightEventTime names a renamed time column', () => {
    const clash = findings(
      read(orders).temporalJoin(read(fx).withColumns({ amount: col('rate_to_eur') }), {
        on: 'currency',
      }),
    );
    assert.equal(clash[0].code, 'NAP003');
    assert.match(
      clash[0].message,
      /amount are on both the left \(stage read_1\) and the right \(stage withColumns_1\)/,
    );
    const renamed = read(fx).select('currency', 'rate_to_eur', { fx_time: col('valid_from') });
    assert.equal(findings(read(orders).temporalJoin(renamed, { on: 'currency' }))[0]?.code, 'NAP023');
    assert.deepEqual(findings(read(orders).temporalJoin(renamed, { on: 'currency', rightEventTime: 'fx_time' })), []);
  });

  test('liveness: the join reads every column of both sides (event times and the tombstone flag included)', () => {
    const bound = bindFlow(flowOf(asOf().select('order_id')), createRegistry());
    const live = liveColumns(bound.stages);
    assert.deepEqual(live.get('read_2'), [true, true, true, true]);
  });

  test('lineage: columns DIRECT from their side; keys, event times and the tombstone flag INDIRECT', () => {
    const plan = planProject(defineProject({ name: 'p', flows: [flowOf(asOf())] }), createRegistry());
    const l = projectLineage(plan).get('mart.orders_eur');
    const edges = (c: string) => l?.fields.get(c)?.map((e) => `${e.dataset}.${e.column}:${e.subtype}`);
    assert.deepEqual(edges('rate_to_eur'), ['ref.fx_rates.rate_to_eur:IDENTITY']);
    assert.deepEqual(edges('order_id'), ['shop.orders.order_id:IDENTITY']);
    assert.deepEqual((l?.indirect ?? []).map((e) => `${e.dataset}.${e.column}:${e.type}:${e.subtype}`).sort(), [
      'ref.fx_rates.currency:INDIRECT:JOIN',
      'ref.fx_rates.retired:INDIRECT:JOIN',
      'ref.fx_rates.valid_from:INDIRECT:JOIN',
      'shop.orders.currency:INDIRECT:JOIN',
      'shop.orders.placed_at:INDIRECT:JOIN',
    ]);
  });
});

const order = (order_id: string, currency: string | null, amount: number, placed_at: number) => ({
  order_id,
  currency,
  amount,
  placed_at,
});
const rate = (currency: string, rate_to_eur: number, valid_from: number, retired = false) => ({
  currency,
  rate_to_eur,
  valid_from,
  retired,
});

const ORDERS = [
  order('o1', 'USD', 100, 9 * H),
  order('o2', 'USD', 100, 11 * H),
  order('o3', 'GBP', 50, 12 * H),
  order('o4', 'CHF', 10, 12 * H),
  order('o5', null, 10, 12 * H),
  order('o6', 'USD', 100, 8 * H),
];
const RATES = [
  rate('USD', 0.9, 8 * H),
  rate('USD', 0.95, 10 * H),
  rate('GBP', 1.2, 0),
  rate('GBP', 0, 11 * H, true),
  rate('CHF', 1.05, 13 * H),
];
const EXPECTED = [
  ['o1', 0.9],
  ['o2', 0.95],
  ['o3', null],
  ['o4', null],
  ['o5', null],
  ['o6', 0.9],
];

const rates = (rows: readonly TestRow[] = []) =>
  rows.map((r) => [r.order_id, r.rate_to_eur ?? null]).sort((a, b) => String(a[0]).localeCompare(String(b[0])));

describe('temporalJoin: run', () => {
  test('orders meet the FX rate as of their time: a batch run', async () => {
    const r = await runTest(flowOf(asOf()), [
      testStream(orders).addElements(...ORDERS),
      testStream(fx).addElements(...RATES),
    ]);
    assert.deepEqual(rates(r.rows.get('mart.orders_eur')), EXPECTED);
    const inner = await runTest(flowOf(asOf('inner')), [
      testStream(orders).addElements(...ORDERS),
      testStream(fx).addElements(...RATES),
    ]);
    assert.deepEqual(
      rates(inner.rows.get('mart.orders_eur')),
      EXPECTED.filter((e) => e[1] !== null),
    );
  });

  test('streamed with watermarks, out of order, the answer is the batch one; late rates are counted', async () => {
    const orderStream = testStream(orders)
      .addElements(ORDERS[5], ORDERS[0])
      .advanceWatermark(8 * H)
      .addElements(ORDERS[1], ORDERS[2])
      .advanceWatermark(11 * H)
      .addElements(ORDERS[3], ORDERS[4]);
    const rateStream = testStream(fx)
      .addElements(RATES[2], RATES[0])
      .advanceWatermark(9 * H)
      .addElements(RATES[1], RATES[3], rate('USD', 7, 8 * H))
      .advanceWatermark(12 * H)
      .addElements(RATES[4]);
    const r = await runTest(flowOf(asOf()), [orderStream, rateStream]);
    assert.deepEqual(rates(r.rows.get('mart.orders_eur')), EXPECTED);
    assert.equal(r.metrics.get('fx_as_of')?.lateDropped, 1, 'the USD rate at 08:00 came behind the watermark 09:00');
  });

  test('sources with a bounded-out-of-orderness watermark give the batch answer', async () => {
    const rel = read(orders, { watermark: boundedOutOfOrderness('1h') })
      .temporalJoin(read(fx, { watermark: boundedOutOfOrderness('2h') }), {
        on: 'currency',
        how: 'left',
        deletedWhen: 'retired',
      })
      .stage('fx_as_of');
    const r = await runTest(flowOf(rel), [
      testStream(orders)
        .addElements(ORDERS[0], ORDERS[5])
        .addElements(...ORDERS.slice(1, 5)),
      testStream(fx).addElements(RATES[2], RATES[0]).addElements(RATES[1], RATES[3], RATES[4]),
    ]);
    assert.deepEqual(rates(r.rows.get('mart.orders_eur')), EXPECTED);
    assert.equal(r.metrics.get('fx_as_of')?.lateDropped, 0);
  });
});
