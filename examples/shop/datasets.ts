import { contract, csv, dataset, duckdb, jsonl, parquet, t } from 'napkin';

/** Raw inputs: files dropped by the shop's systems once a day. */
export const customers = dataset('shop.customers', {
  owner: 'crm-team',
  description: 'Registered customers, exported hourly from the CRM',
  freshness: '1h',
  storage: csv('data/customers.csv'),
  contract: contract({
    key: ['customer_id'],
    fields: {
      customer_id: t.string(),
      name: t.string(),
      email: t.string(),
      country: t.string().describe('ISO 3166 alpha-2'),
      segment: t.enum('Segment', ['consumer', 'business']),
      signup_date: t.date(),
    },
  }),
});

export const orders = dataset('shop.orders', {
  owner: 'checkout-team',
  description: 'Orders as placed at checkout',
  freshness: '1h',
  storage: csv('data/orders.csv'),
  contract: contract({
    key: ['order_id'],
    eventTime: 'placed_at',
    fields: {
      order_id: t.string(),
      customer_id: t.string(),
      status: t.enum('OrderStatus', ['placed', 'paid', 'shipped', 'cancelled', 'refunded']),
      amount: t.decimal(12, 2).describe('order total in the order currency'),
      currency: t.enum('Currency', ['EUR', 'GBP', 'USD']),
      placed_at: t.timestamp(),
      coupon: t.string().optional(),
    },
  }),
});

export const payments = dataset('shop.payments', {
  owner: 'payments-team',
  description: 'Payment attempts from the payment provider webhook log',
  freshness: '1h',
  storage: jsonl('data/payments.jsonl'),
  contract: contract({
    key: ['payment_id'],
    eventTime: 'paid_at',
    fields: {
      payment_id: t.string(),
      order_id: t.string(),
      method: t.enum('PaymentMethod', ['card', 'paypal', 'bank_transfer']),
      amount: t.decimal(12, 2),
      status: t.enum('PaymentStatus', ['captured', 'failed']),
      paid_at: t.timestamp(),
    },
  }),
});

export const fxRates = dataset('ref.fx_rates', {
  owner: 'finance-analytics',
  description: 'Monthly reference exchange rates to EUR',
  storage: csv('data/fx_rates.csv'),
  contract: contract({ key: ['currency'], fields: { currency: t.string(), rate_to_eur: t.float64() } }),
});

/** Published datasets. */
export const ordersEnriched = dataset('mart.orders_enriched', {
  owner: 'commerce-data',
  description: 'Paid orders with their captured payment, customer and amount in EUR',
  freshness: '1h',
  storage: parquet('out/orders_enriched.parquet'),
  contract: contract({
    key: ['order_id'],
    eventTime: 'placed_at',
    fields: {
      order_id: t.string(),
      customer_id: t.string(),
      country: t.string().optional(),
      segment: t.enum('Segment', ['consumer', 'business']).optional(),
      method: t.enum('PaymentMethod', ['card', 'paypal', 'bank_transfer']),
      amount_eur: t.float64(),
      placed_at: t.timestamp(),
      order_date: t.date(),
      has_coupon: t.bool(),
    },
  }),
});

export const dailyRevenue = dataset('mart.daily_revenue', {
  owner: 'finance-analytics',
  description: 'Revenue in EUR per country and day, from paid orders',
  freshness: '1d',
  storage: duckdb('mart.daily_revenue'),
  contract: contract({
    key: ['country', 'order_date'],
    fields: {
      country: t.string(),
      order_date: t.date(),
      revenue_eur: t.float64(),
      orders: t.int64(),
      customers: t.int64(),
      avg_order_eur: t.float64(),
    },
  }),
});

export const activeCustomers = dataset('mart.active_customers', {
  owner: 'growth-team',
  description: 'Customers with a paid order in the 7 days up to the last order date, per country',
  freshness: '1d',
  contract: contract({
    key: ['country'],
    fields: { country: t.string(), active_customers: t.int64(), revenue_eur: t.float64() },
  }),
});

export const revenueBySegment = dataset('mart.revenue_by_segment', {
  owner: 'finance-analytics',
  description: 'Revenue per customer segment and payment method, for the monthly report',
  freshness: '1d',
  storage: csv('out/revenue_by_segment.csv'),
  contract: contract({
    fields: {
      segment: t.string(),
      method: t.enum('PaymentMethod', ['card', 'paypal', 'bank_transfer']),
      revenue_eur: t.float64(),
      orders: t.int64(),
    },
  }),
});
