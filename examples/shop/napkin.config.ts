import { defineProject } from 'napkin';
import { financeFlow } from './flows/finance.ts';
import { ordersFlow } from './flows/orders.ts';

export default defineProject({
  name: 'shop',
  flows: [ordersFlow, financeFlow],
  warehouse: 'out/warehouse.duckdb',
});
