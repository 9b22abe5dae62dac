import { avg, col, count, countDistinct, flow, model, read, sum, write } from 'napkin';
import { activeCustomers, dailyRevenue, ordersEnriched, revenueBySegment } from '../datasets.ts';

const enriched = read(ordersEnriched);

const daily = enriched
  .filter(col('country').isNotNull())
  .groupBy('country', 'order_date')
  .agg({
    revenue_eur: sum(col('amount_eur')),
    orders: count(),
    customers: countDistinct(col('customer_id')),
    avg_order_eur: avg(col('amount_eur')),
  })
  .stage('daily_totals')
  .withColumns({ revenue_eur: col('revenue_eur').round(2), avg_order_eur: col('avg_order_eur').round(2) })
  .stage('daily_revenue');

const bySegment = enriched
  .withColumns({ segment: col('segment').coalesce('unknown') })
  .groupBy('segment', 'method')
  .agg({ revenue_eur: sum(col('amount_eur')), orders: count() })
  .stage('segment_totals')
  .withColumns({ revenue_eur: col('revenue_eur').round(2) })
  .stage('revenue_by_segment');

export const financeFlow = flow({
  name: 'finance_daily',
  owner: 'finance-analytics',
  sla: '1d',
  description: 'Daily revenue for the finance dashboard and the growth team',
  outputs: [
    write(dailyRevenue, daily, { writeMode: 'merge' }),
    write(revenueBySegment, bySegment),
    // ELT inside the warehouse: the growth team owns this SQL; lineage still reaches the raw files.
    model(
      activeCustomers,
      `WITH last AS (SELECT max(order_date) AS d FROM mart.orders_enriched)
       SELECT country,
              count(DISTINCT customer_id) AS active_customers,
              round(sum(amount_eur), 2) AS revenue_eur
       FROM mart.orders_enriched
       WHERE country IS NOT NULL AND order_date > (SELECT d FROM last) - INTERVAL 7 DAY
       GROUP BY country`,
    ),
  ],
});
