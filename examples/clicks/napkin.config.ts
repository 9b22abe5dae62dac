import { defineProject } from 'napkin';
import { clicksFlow, liveClicksFlow } from './flows/clicks.ts';

export default defineProject({
  name: 'clicks',
  flows: [clicksFlow, liveClicksFlow],
  warehouse: 'out/warehouse.duckdb',
});
