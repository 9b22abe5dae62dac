// The README's worked example: an orders table in PostgreSQL, captured (CDC) into a Kafka topic, summed per region
// and minute of event time by napkin workers, into a PostgreSQL table, within a 30-second SLA.
//
//   napkin run orders_to_kafka                    one process: the replication slot is one stream
//   napkin worker --flow revenue_per_minute       start it N times: the topic's partitions are split among them
//
// NAPKIN_PG_URL and NAPKIN_KAFKA_BROKERS name the servers (see the README, "A worked example").
import {
  boundedOutOfOrderness,
  cdcFields,
  col,
  contract,
  count,
  dataset,
  defineProject,
  fixed,
  flow,
  kafka,
  postgres,
  postgresCdc,
  read,
  sum,
  t,
  write,
} from 'napkin';

const order = { id: t.int64(), region: t.string(), amount: t.decimal(12, 2), placed_at: t.timestamp() };

/** Every committed change of public.orders, from a consistent snapshot on. */
const orderChanges = dataset('shop.order_changes', {
  owner: 'sales',
  description: 'Changes of the orders table (logical replication)',
  storage: postgresCdc({ table: 'public.orders', connection: 'env:NAPKIN_PG_URL' }),
  contract: contract({ key: ['id'], fields: { ...cdcFields(), ...order } }),
});

/** Orders as placed, keyed (and so partitioned) by region. */
const orders = dataset('shop.orders', {
  owner: 'sales',
  description: 'Placed orders, one record per order',
  storage: kafka({ topic: 'shop.orders', brokers: 'env:NAPKIN_KAFKA_BROKERS', key: 'region' }),
  contract: contract({ key: ['id'], eventTime: 'placed_at', fields: order }),
});

const revenuePerMinute = dataset('mart.revenue_per_minute', {
  owner: 'finance',
  description: 'Revenue and orders per region and minute they were placed in',
  storage: postgres({ table: 'mart.revenue_per_minute', connection: 'env:NAPKIN_PG_URL' }),
  contract: contract({
    key: ['region', 'window_start'],
    fields: {
      region: t.string(),
      window_start: t.timestamp(),
      window_end: t.timestamp(),
      revenue: t.decimal(38, 2).optional(),
      orders: t.int64(),
    },
  }),
});

/** An order enters the topic once, when placed (the snapshot of orders placed before napkin started counts too). */
const placed = read(orderChanges)
  .filter(col('_op').eq('insert').or(col('_op').eq('snapshot')))
  .select('id', 'region', 'amount', 'placed_at')
  .stage('placed_orders');

const perMinute = read(orders, { watermark: boundedOutOfOrderness('5s') })
  .window(fixed('1m'))
  .groupBy('region')
  .agg({ revenue: sum(col('amount')), orders: count() })
  .stage('revenue_per_minute')
  .select('region', 'window_start', 'window_end', 'revenue', 'orders');

export default defineProject({
  name: 'orders_cdc',
  flows: [
    flow({ name: 'orders_to_kafka', owner: 'sales', sla: '30s', outputs: [write(orders, placed)] }),
    flow({
      name: 'revenue_per_minute',
      owner: 'finance',
      sla: '30s',
      outputs: [write(revenuePerMinute, perMinute, { writeMode: 'merge' })],
    }),
  ],
});
