import type { StageMode } from '../time/duration.ts';

/**
 * What `napkin draw` renders: a project's datasets and stages, grouped by flow. Built from the plan by
 * `buildDrawGraph`; every renderer (text, mermaid, dot, svg) reads only this model.
 */
export interface DrawGraph {
  readonly title: string;
  readonly flows: readonly DrawFlow[];
  readonly nodes: readonly DrawNode[];
  readonly edges: readonly DrawEdge[];
}

export interface DrawFlow {
  readonly id: string;
  readonly owner: string;
  readonly sla: string;
  readonly description?: string;
}

export type DrawNodeKind = 'dataset' | 'source' | 'transform' | 'sql' | 'sink';

export interface DrawNode {
  /** Unique in the graph, e.g. `dataset:shop.orders` or `stage:shop_revenue/paid_orders`. */
  readonly id: string;
  readonly kind: DrawNodeKind;
  /** The stage id or dataset name. */
  readonly label: string;
  /** The flow a stage belongs to; absent for datasets, which sit between flows. */
  readonly flow?: string;
  /** What the stage does in one line, e.g. `filter status = 'paid'`, `groupBy country, day`. */
  readonly detail?: string;
  readonly sla?: string;
  readonly mode?: StageMode;
  readonly owner?: string;
  /** Contract summary of a dataset: `v1 · key order_id · 6 fields`. */
  readonly contract?: string;
  /** Where a dataset is stored: `csv data/orders.csv`, `duckdb mart.daily_revenue`. */
  readonly storage?: string;
}

export interface DrawEdge {
  readonly from: string;
  readonly to: string;
  readonly label?: string;
}
