import { parseDuration } from '../time/duration.ts';
import type { Contract } from './contract.ts';
import { checkKafkaStorage } from './kafka-storage.ts';
import type { Storage } from './storage.ts';

/** Options of {@link dataset}. */
export interface DatasetOptions {
  /** The team or person answerable for the dataset. Required for published datasets (`napkin check` NAP010). */
  readonly owner?: string;
  readonly description?: string;
  /** The schema every record must satisfy. Required for published datasets (NAP011). */
  readonly contract?: Contract;
  /** How fresh consumers need the data, e.g. '1h', '1d' (the dataset's SLA). */
  readonly freshness?: string;
  /** Where the dataset is stored. A dataset without storage can only be read by stages of the same run. */
  readonly storage?: Storage;
}

/** A named, owned, contracted set of records: the nodes between flows. */
export interface Dataset {
  readonly kind: 'dataset';
  /** Dotted name, e.g. `shop.orders`; unique in a project. */
  readonly name: string;
  readonly owner?: string;
  readonly description?: string;
  readonly contract?: Contract;
  readonly freshness?: string;
  readonly freshnessMs?: number;
  readonly storage?: Storage;
}

const NAME = /^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$/;

/**
 * Declares a dataset.
 * @example
 * export const orders = dataset('shop.orders', { owner: 'sales-eng', contract: ordersContract,
 *   storage: csv('data/orders.csv'), freshness: '1d' });
 */
export function dataset(name: string, options: DatasetOptions = {}): Dataset {
  if (!NAME.test(name)) {
    throw new Error(`dataset('${name}'): use lower-case dotted names of letters, digits and _, e.g. 'shop.orders'`);
  }
  if (options.storage?.kind === 'kafka') checkKafkaStorage(name, options.storage, options.contract);
  return {
    kind: 'dataset',
    name,
    ...options,
    ...(options.freshness === undefined ? {} : { freshnessMs: parseDuration(options.freshness) }),
  };
}
