import type { StageMode } from '../time/duration.ts';
import type { DrawEdge, DrawFlow, DrawGraph, DrawNode, DrawNodeKind } from './model.ts';

/**
 * DrawGraph fixtures for the renderer tests and for eyeballing layouts: a small shop and a synthetic graph of any
 * size. Kept outside the test file so a demo script can render the same graphs the tests check.
 */

/** Two flows, five stages, three datasets; details carry both quote kinds so escaping is exercised. */
export function shopGraph(): DrawGraph {
  const flows: DrawFlow[] = [
    { id: 'shop_ingest', owner: 'data-eng', sla: '1h' },
    { id: 'shop_revenue', owner: 'finance', sla: '1d', description: 'Daily revenue per country' },
  ];
  const nodes: DrawNode[] = [
    dataset('shop.orders_raw', 'v1 · key order_id · 6 fields', 'csv data/orders.csv'),
    stage('shop_ingest', 'read_orders', 'source', 'read csv', '1h', 'micro-batch', 'data-eng'),
    stage('shop_ingest', 'paid_orders', 'transform', "filter status = 'paid'", '1h', 'micro-batch', 'data-eng'),
    { ...dataset('shop.orders', 'v2 · key order_id · 7 fields', 'duckdb shop.orders'), owner: 'data-eng', sla: '1h' },
    stage('shop_revenue', 'daily_revenue', 'sql', 'select "country", sum(amount) group by 1', '1d', 'batch', 'finance'),
    stage('shop_revenue', 'fx_rates', 'source', 'http <rates> & fees', '1d', 'batch', 'finance'),
    stage('shop_revenue', 'write_revenue', 'sink', 'upsert by country, day', '1d', 'batch', 'finance'),
    dataset('shop.daily_revenue', 'v1 · key country, day · 3 fields', 'duckdb mart.daily_revenue'),
  ];
  const edges: DrawEdge[] = [
    { from: 'dataset:shop.orders_raw', to: 'stage:shop_ingest/read_orders' },
    { from: 'stage:shop_ingest/read_orders', to: 'stage:shop_ingest/paid_orders' },
    { from: 'stage:shop_ingest/paid_orders', to: 'dataset:shop.orders' },
    { from: 'dataset:shop.orders', to: 'stage:shop_revenue/daily_revenue' },
    { from: 'stage:shop_revenue/fx_rates', to: 'stage:shop_revenue/daily_revenue', label: 'join "ccy"' },
    { from: 'stage:shop_revenue/daily_revenue', to: 'stage:shop_revenue/write_revenue' },
    { from: 'stage:shop_revenue/write_revenue', to: 'dataset:shop.daily_revenue' },
  ];
  return { title: 'shop', flows, nodes, edges };
}

interface FlowSpec {
  readonly id: string;
  readonly sla: string;
  readonly mode: StageMode;
  /** Indices of earlier flows whose output this flow reads; none means it reads its own raw feed. */
  readonly reads: readonly number[];
}

/** Shaped like a real project: two ingest flows side by side, then flows that join their outputs. */
const SYNTHETIC_FLOWS: readonly FlowSpec[] = [
  { id: 'clickstream', sla: '10s', mode: 'streaming', reads: [] },
  { id: 'billing', sla: '1h', mode: 'micro-batch', reads: [] },
  { id: 'sessions', sla: '5m', mode: 'micro-batch', reads: [0] },
  { id: 'finance_mart', sla: '1d', mode: 'batch', reads: [2, 1] },
  { id: 'ml_features', sla: '30s', mode: 'streaming', reads: [0, 2] },
  { id: 'audit', sla: '1w', mode: 'batch', reads: [3] },
];

const DETAILS: readonly string[] = [
  "filter kind = 'click'",
  'map url → path, referrer',
  'groupBy user_id, window 5m',
  'join on user_id',
  'dedupe by event_id within 1h',
  'derive revenue = qty * price',
  'select "country", count(*) from events group by 1',
];

/**
 * `stages` stages spread over `flowCount` flows (at most 6). Each flow runs a chain with side branches that join
 * back; its source reads its first input dataset, its second stage joins any further input, its sink writes
 * `<flow>.out`.
 */
export function syntheticGraph(stages = 25, flowCount = 4): DrawGraph {
  const specs = SYNTHETIC_FLOWS.slice(0, flowCount);
  const flows: DrawFlow[] = specs.map((f, i) => ({ id: f.id, owner: `team-${i + 1}`, sla: f.sla }));
  const nodes: DrawNode[] = [];
  const edges: DrawEdge[] = [];
  specs.forEach((spec, fi) => {
    const count = Math.floor(stages / specs.length) + (fi < stages % specs.length ? 1 : 0);
    const inputs = spec.reads.map((r) => `dataset:${specs[r].id}.out`);
    if (inputs.length === 0) {
      nodes.push(dataset(`${spec.id}.raw`, 'v1 · key event_id · 12 fields', `kafka topic ${spec.id}.raw`));
      inputs.push(`dataset:${spec.id}.raw`);
    }
    addFlow(spec, fi, count, inputs, nodes, edges);
  });
  return { title: `synthetic ${stages} stages`, flows, nodes, edges };
}

function addFlow(spec: FlowSpec, fi: number, count: number, inputs: string[], nodes: DrawNode[], edges: DrawEdge[]) {
  const owner = `team-${fi + 1}`;
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind: DrawNodeKind = i === 0 ? 'source' : i === count - 1 ? 'sink' : i % 3 === 2 ? 'sql' : 'transform';
    const name = i === 0 ? `read_${spec.id}` : i === count - 1 ? `write_${spec.id}` : `${spec.id}_step_${i}`;
    const detail = DETAILS[(fi * 7 + i) % DETAILS.length];
    nodes.push(stage(spec.id, name, kind, detail, spec.sla, spec.mode, owner));
    ids.push(`stage:${spec.id}/${name}`);
  }
  inputs.forEach((input, i) => {
    edges.push({ from: input, to: ids[Math.min(i, count - 1)] });
  });
  for (let i = 1; i < count; i++) {
    // Every third stage branches off two back and the next one joins both lanes, so chains fork and merge.
    const branch = i % 3 === 0;
    edges.push({ from: branch ? ids[i - 2] : ids[i - 1], to: ids[i] });
    if (i % 3 === 1 && i >= 4) edges.push({ from: ids[i - 2], to: ids[i] });
    if (branch && i === count - 1) edges.push({ from: ids[i - 1], to: ids[i] });
  }
  const out = `${spec.id}.out`;
  nodes.push(dataset(out, `v${fi + 1} · key id · ${4 + fi} fields`, `duckdb mart.${spec.id}`));
  edges.push({ from: ids[count - 1], to: `dataset:${out}` });
}

function dataset(name: string, contract: string, storage: string): DrawNode {
  return { id: `dataset:${name}`, kind: 'dataset', label: name, contract, storage };
}

function stage(
  flow: string,
  label: string,
  kind: DrawNodeKind,
  detail: string,
  sla: string,
  mode: StageMode,
  owner: string,
): DrawNode {
  return { id: `stage:${flow}/${label}`, kind, label, flow, detail, sla, mode, owner };
}
