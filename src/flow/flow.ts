import { parseDuration } from '../time/duration.ts';
import type { Dataset } from './dataset.ts';
import type { Rel, RelNode, StageOptions } from './rel.ts';

/** How a sink publishes: `replace` swaps the whole dataset; `merge` upserts on the contract's key. */
export type WriteMode = 'replace' | 'merge';

/** An output of a flow: a relation written to a dataset, or a warehouse SQL model. */
export type Output =
  | {
      readonly kind: 'write';
      readonly id?: string;
      readonly dataset: Dataset;
      readonly input: RelNode;
      readonly mode: WriteMode;
      readonly options?: StageOptions;
    }
  | {
      readonly kind: 'sql';
      readonly id?: string;
      readonly dataset: Dataset;
      /** One SELECT over datasets by name (`shop.orders`), run inside the warehouse. */
      readonly sql: string;
      readonly options?: StageOptions;
    };

/** Writes a relation to a dataset's storage, atomically at the end of the run. */
export function write(
  ds: Dataset,
  rel: Rel,
  options: StageOptions & { readonly writeMode?: WriteMode; readonly id?: string } = {},
): Output {
  const { writeMode, id, ...stage } = options;
  return {
    kind: 'write',
    dataset: ds,
    input: rel.node,
    mode: writeMode ?? 'replace',
    ...(id === undefined ? {} : { id }),
    options: stage,
  };
}

/**
 * A warehouse SQL model (ELT, as in dbt): a SELECT run inside DuckDB over upstream datasets, named as tables.
 * Lineage is read from DuckDB's own parse of the SQL.
 * @example model(activeCustomers, `select country, count(distinct customer_id) as active from shop.orders group by 1`)
 */
export function model(ds: Dataset, sql: string, options: StageOptions & { readonly id?: string } = {}): Output {
  if (sql.trim() === '') throw new Error(`model('${ds.name}'): give the SELECT statement`);
  const { id, ...stage } = options;
  return { kind: 'sql', dataset: ds, sql, ...(id === undefined ? {} : { id }), options: stage };
}

/** Options of {@link flow}. */
export interface FlowOptions {
  /** Unique in the project; lower-case letters, digits and _. */
  readonly name: string;
  readonly owner: string;
  /** Default latency SLA of every stage, e.g. '1d'. */
  readonly sla: string;
  readonly description?: string;
  readonly outputs: readonly Output[];
}

/** A path from sources to destinations: the unit `napkin run`, `draw` and `check` work on. */
export interface Flow {
  readonly kind: 'flow';
  readonly name: string;
  readonly owner: string;
  readonly sla: string;
  readonly slaMs: number;
  readonly description?: string;
  readonly outputs: readonly Output[];
}

/**
 * Declares a flow.
 * @example
 * export default flow({ name: 'shop_revenue', owner: 'finance-data', sla: '1d',
 *   outputs: [write(dailyRevenue, revenueRel), model(activeCustomers, 'select ...')] });
 */
export function flow(options: FlowOptions): Flow {
  if (!/^[a-z_][a-z0-9_]*$/.test(options.name)) {
    throw new Error(`flow('${options.name}'): names are lower-case letters, digits and _`);
  }
  if (options.outputs.length === 0) throw new Error(`flow '${options.name}': declare at least one output`);
  return { kind: 'flow', ...options, slaMs: parseDuration(options.sla) };
}
