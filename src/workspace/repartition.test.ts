import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { col, count, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { kafka } from '../flow/kafka-storage.ts';
import { read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { boundedOutOfOrderness } from '../time/watermarks.ts';
import { fixed } from '../time/windows.ts';
import { repartitionTopic, splitForWorkers } from './repartition.ts';

const brokers = 'env:NAPKIN_KAFKA_BROKERS';
const orderFields = { id: t.string(), region: t.string(), amount: t.int64(), at: t.timestamp() };
const orders = dataset('shop.orders', {
  storage: kafka({ topic: 'orders', brokers, key: 'id' }),
  contract: contract({ key: ['id'], eventTime: 'at', fields: orderFields }),
});
const perRegion = dataset('mart.per_region', {
  storage: kafka({ topic: 'per_region', brokers, key: 'region' }),
  contract: contract({
    key: ['region', 'window_start'],
    fields: { region: t.string(), window_start: t.timestamp(), revenue: t.int64().optional(), n: t.int64() },
  }),
});
const copy = dataset('mart.orders_copy', {
  storage: kafka({ topic: 'orders_copy', brokers, key: 'id' }),
  contract: contract({ key: ['id'], eventTime: 'at', fields: orderFields }),
});

const revenue = read(orders, { watermark: boundedOutOfOrderness('5s') })
  .filter(col('amount').gt(0))
  .window(fixed('1m'))
  .groupBy('region')
  .agg({ revenue: sum(col('amount')), n: count() })
  .stage('revenue_per_region')
  .select('region', 'window_start', 'revenue', 'n');

const bound = (outputs: Parameters<typeof flow>[0]['outputs']) =>
  bindFlow(flow({ name: 'regions', owner: 'sales', sla: '30s', outputs }), createRegistry());

describe('splitting a flow for workers at a repartition', () => {
  test('one partition, or keys that include the partition key: one part, the flow itself', () => {
    const b = bound([write(perRegion, revenue)]);
    assert.deepEqual(
      splitForWorkers(b, createRegistry(), 1).map((p) => p.name),
      ['regions'],
    );
  });

  test('a stage keyed otherwise: the stages before it write a repartition topic keyed by its key', () => {
    const b = bound([write(perRegion, revenue), write(copy, read(orders))]);
    const [before, after] = splitForWorkers(b, createRegistry(), 3);
    assert.equal(before.name, 'regions');
    assert.equal(after.name, 'regions/revenue_per_region');
    const topic = repartitionTopic('regions', 'revenue_per_region');
    assert.equal(topic, 'napkin.regions.revenue_per_region.repartition');
    // The first part keeps the output that does not cross the split, and writes the split stage's input.
    const sinks = before.bound.stages.filter((s) => s.kind === 'sink').map((s) => s.dataset?.name);
    assert.deepEqual(sinks.sort(), ['mart.orders_copy', 'napkin.regions.revenue_per_region']);
    assert.deepEqual(before.writes, {
      sinks: [
        before.bound.stages.find((s) => s.kind === 'sink' && s.dataset?.name === 'napkin.regions.revenue_per_region')
          ?.id,
      ],
      partitions: 3,
    });
    // The second reads it, keyed by region, with the event time of the original source; its watermark comes from
    // the upstream tasks' progress records, so its read has no strategy of its own.
    const src = after.plan.sources[0];
    assert.equal(src.storage.topic, topic);
    assert.deepEqual(src.storage.key, ['region']);
    assert.deepEqual(src.key, ['region']);
    assert.equal(src.dataset.contract?.eventTime, 'at');
    assert.deepEqual(
      src.dataset.contract?.schema.fields.map((f) => f.name),
      ['id', 'region', 'amount', 'at'],
    );
    assert.deepEqual(after.upstream, { partitions: 3, idleMs: 60_000 });
    const stages = after.bound.stages.map((s) => `${s.kind}:${s.id}`);
    assert.ok(stages.includes('transform:revenue_per_region'), stages.join(', '));
    assert.deepEqual(
      after.bound.stages.filter((s) => s.kind === 'sink').map((s) => s.dataset?.name),
      ['mart.per_region'],
    );
  });

  test('a join keyed otherwise: both sides repartitioned by their join keys, read co-partitioned', () => {
    const customers = dataset('crm.customers', {
      storage: kafka({ topic: 'customers', brokers, key: 'customer_id' }),
      contract: contract({ key: ['customer_id'], fields: { customer_id: t.string(), segment: t.string() } }),
    });
    const placed = dataset('shop.placed', {
      storage: kafka({ topic: 'placed', brokers, key: 'id' }),
      contract: contract({ key: ['id'], fields: { id: t.string(), customer: t.string(), amount: t.int64() } }),
    });
    const enriched = dataset('mart.enriched', {
      storage: kafka({ topic: 'enriched', brokers, key: 'id' }),
      contract: contract({
        fields: {
          id: t.string(),
          customer: t.string(),
          amount: t.int64(),
          customer_id: t.string(),
          segment: t.string(),
        },
      }),
    });
    const joined = read(placed)
      .join(read(customers), { on: [{ left: 'customer', right: 'customer_id' }] })
      .stage('with_customer');
    const parts = splitForWorkers(bound([write(enriched, joined)]), createRegistry(), 4);
    assert.deepEqual(
      parts.map((p) => p.name),
      ['regions', 'regions/with_customer'],
    );
    assert.equal(parts[0].writes?.sinks.length, 2);
    assert.deepEqual(
      parts[1].plan.sources.map((x) => [x.storage.topic, x.key]),
      [
        ['napkin.regions.with_customer.left.repartition', ['customer']],
        ['napkin.regions.with_customer.right.repartition', ['customer_id']],
      ],
    );
  });

  test('keyed three ways: three parts, each reading the one before', () => {
    const regionsPerMinute = dataset('mart.regions_per_minute', {
      storage: kafka({ topic: 'regions_per_minute', brokers, key: 'window_start' }),
      contract: contract({ fields: { window_start: t.timestamp(), regions: t.int64() } }),
    });
    const counted = revenue.groupBy('window_start').agg({ regions: count() }).stage('regions_per_minute');
    const parts = splitForWorkers(bound([write(regionsPerMinute, counted)]), createRegistry(), 2);
    assert.deepEqual(
      parts.map((p) => [p.name, p.plan.sources.map((x) => x.storage.topic), p.writes?.sinks.length ?? 0]),
      [
        ['regions', ['orders'], 1],
        ['regions/revenue_per_region', ['napkin.regions.revenue_per_region.repartition'], 1],
        ['regions/regions_per_minute', ['napkin.regions.regions_per_minute.repartition'], 0],
      ],
    );
    assert.equal(parts[0].upstream, undefined);
    assert.deepEqual(parts[2].upstream, { partitions: 2, idleMs: 60_000 });
  });

  test('refuses a global aggregate over several partitions, naming the stage', () => {
    const global = read(orders).groupBy().agg({ n: count() }).stage('everything');
    const totals = dataset('mart.totals', {
      storage: kafka({ topic: 'totals', brokers }),
      contract: contract({ fields: { n: t.int64() } }),
    });
    assert.throws(
      () => splitForWorkers(bound([write(totals, global)]), createRegistry(), 2),
      /stage everything keeps state by \(nothing: one global group\)/,
    );
  });
});
