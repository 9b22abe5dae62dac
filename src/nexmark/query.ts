import type { Rel } from '../flow/rel.ts';
import type { EventKind } from './schema.ts';

/** The queries napkin runs (spec nexmark.md §5.2). */
export type QueryName = 'q0' | 'q1' | 'q2' | 'q3' | 'q4' | 'q5' | 'q7' | 'q8' | 'q11';

export const QUERY_NAMES: readonly QueryName[] = ['q0', 'q1', 'q2', 'q3', 'q4', 'q5', 'q7', 'q8', 'q11'];

/** What a query may depend on besides its input: the event rate sets how long auctions last (§3.5). */
export interface QueryParams {
  readonly rate: number;
}

/**
 * One Nexmark query as an ordinary napkin relation over the three event datasets. `build` gets `read(...)` of each
 * kind (with the run's watermark choice) and returns the final relation, whose columns are exactly `columns`.
 */
export interface NexmarkQuery {
  readonly name: QueryName;
  readonly description: string;
  readonly columns: readonly string[];
  readonly reads: readonly EventKind[];
  build(sources: { readonly person: Rel; readonly auction: Rel; readonly bid: Rel }, params: QueryParams): Rel;
}
