import type { ColumnEdge, DatasetLineage } from './lineage.ts';

/** An OpenLineage `ColumnLineageDatasetFacet` (facets/ColumnLineageDatasetFacet.json, 1-2-0). */
export interface ColumnLineageFacet {
  readonly _producer: string;
  readonly _schemaURL: string;
  readonly fields: Record<string, { readonly inputFields: InputField[] }>;
  readonly dataset: InputField[];
}

interface InputField {
  readonly namespace: string;
  readonly name: string;
  readonly field: string;
  readonly transformations: { readonly type: string; readonly subtype: string }[];
}

export const PRODUCER = 'https://github.com/napkin-data/napkin';
const SCHEMA_URL =
  'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet';

/** The column-lineage facet of one dataset; datasets are named in the `napkin:<project>` namespace. */
export function columnLineageFacet(l: DatasetLineage, namespace: string): ColumnLineageFacet {
  const fields: Record<string, { inputFields: InputField[] }> = {};
  for (const [col, edges] of l.fields) fields[col] = { inputFields: group(edges, namespace) };
  return { _producer: PRODUCER, _schemaURL: SCHEMA_URL, fields, dataset: group(l.indirect, namespace) };
}

/** One input field per source column, with every transformation that links it. */
function group(edges: readonly ColumnEdge[], namespace: string): InputField[] {
  const out = new Map<string, InputField>();
  for (const e of edges) {
    const key = `${e.dataset}\u0000${e.column}`;
    const f = out.get(key) ?? { namespace, name: e.dataset, field: e.column, transformations: [] };
    f.transformations.push({ type: e.type, subtype: e.subtype });
    out.set(key, f);
  }
  return [...out.values()];
}
