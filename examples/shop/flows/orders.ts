import { col, flow, read, write } from 'napkin';
import { customers, fxRates, orders, ordersEnriched, payments } from '../datasets.ts';

// Bad order rows (a malformed amount, an unknown status) are set aside, never silently dropped; more than 10 in one
// run means something upstream broke, and the run fails instead.
const placed = read(orders, { onInvalid: 'quarantine', errorBudget: 10 });

const paidOrders = placed.filter(col('status').isIn(['paid', 'shipped'])).stage('paid_orders');

// A failed attempt followed by a captured one is common: keep one captured payment per order.
const captured = read(payments)
  .filter(col('status').eq('captured'))
  .select('order_id', 'method')
  .dedupe('order_id')
  .stage('captured_payments');

// Joins keep state (the build side's rows), and state is keyed by stage id: each gets an id of its own, so that
// editing the flow never hands one stage's state to another (`napkin check` warns about unnamed stateful stages).
const enriched = paidOrders
  .join(captured, { on: 'order_id' })
  .stage('with_payment')
  .join(read(customers).select('customer_id', 'country', 'segment'), { on: 'customer_id', how: 'left' })
  .stage('with_customer')
  .join(read(fxRates), { on: 'currency' })
  .stage('with_fx_rate')
  .withColumns({
    amount_eur: col('amount').mul(col('rate_to_eur')).round(2),
    order_date: col('placed_at').toDate(),
    has_coupon: col('coupon').isNotNull(),
  })
  .select(
    'order_id',
    'customer_id',
    'country',
    'segment',
    'method',
    'amount_eur',
    'placed_at',
    'order_date',
    'has_coupon',
  )
  .stage('enrich_orders');

export const ordersFlow = flow({
  name: 'shop_orders',
  owner: 'commerce-data',
  sla: '1h',
  description: 'Joins paid orders with payments, customers and FX rates',
  outputs: [write(ordersEnriched, enriched)],
});
