import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { NexmarkQuery, QueryName } from './query.ts';
import { QUERY_NAMES } from './query.ts';

/** The queries are ordinary flows in examples/nexmark/, read as users would write them. */
const QUERIES = join(import.meta.dirname, '..', '..', 'examples', 'nexmark', 'queries.ts');

export async function loadQueries(): Promise<Readonly<Record<QueryName, NexmarkQuery>>> {
  const mod = (await import(pathToFileURL(QUERIES).href)) as { queries?: Record<QueryName, NexmarkQuery> };
  if (mod.queries === undefined) throw new Error(`${QUERIES} exports no \`queries\`; expected one per Nexmark query`);
  return mod.queries;
}

export async function loadQuery(name: string): Promise<NexmarkQuery> {
  if (!QUERY_NAMES.includes(name as QueryName))
    throw new Error(`unknown query ${name}; napkin runs ${QUERY_NAMES.join(', ')}`);
  return (await loadQueries())[name as QueryName];
}
