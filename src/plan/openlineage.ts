import { typeToString } from '../expr/types.ts';
import type { ColumnEdge, DatasetLineage } from './lineage.ts';
import type { ProjectPlan } from './project-plan.ts';

/**
 * napkin's lineage in OpenLineage's own shapes (spec 2-0-2): the `ColumnLineageDatasetFacet` of each written dataset,
 * and one static `JobEvent` per flow (its inputs, its outputs with schema and column lineage, its owner). Tests
 * validate both against the vendored JSON Schemas.
 */
export const PRODUCER = 'https://github.com/napkin-data/napkin/tree/v0.1.0';
const SPEC = 'https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/JobEvent';
const FACET = {
  columnLineage:
    'https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json#/$defs/ColumnLineageDatasetFacet',
  schema: 'https://openlineage.io/spec/facets/1-2-0/SchemaDatasetFacet.json#/$defs/SchemaDatasetFacet',
  ownership: 'https://openlineage.io/spec/facets/1-0-1/OwnershipJobFacet.json#/$defs/OwnershipJobFacet',
  jobType: 'https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet',
  documentation: 'https://openlineage.io/spec/facets/1-1-0/DocumentationJobFacet.json#/$defs/DocumentationJobFacet',
} as const;

interface InputField {
  readonly namespace: string;
  readonly name: string;
  readonly field: string;
  readonly transformations: { readonly type: string; readonly subtype: string }[];
}

/** An OpenLineage `ColumnLineageDatasetFacet`. */
export interface ColumnLineageFacet {
  readonly _producer: string;
  readonly _schemaURL: string;
  readonly fields: Record<string, { readonly inputFields: InputField[] }>;
  readonly dataset: InputField[];
}

/** The column-lineage facet of one dataset; datasets are named in the `napkin:<project>` namespace. */
export function columnLineageFacet(l: DatasetLineage, namespace: string): ColumnLineageFacet {
  const fields: Record<string, { inputFields: InputField[] }> = {};
  for (const [col, edges] of l.fields) fields[col] = { inputFields: group(edges, namespace) };
  return { _producer: PRODUCER, _schemaURL: FACET.columnLineage, fields, dataset: group(l.indirect, namespace) };
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

/** One static OpenLineage `JobEvent` per flow: what it reads, what it writes, and how each output column is made. */
export function jobEvents(
  plan: ProjectPlan,
  lineage: ReadonlyMap<string, DatasetLineage>,
  namespace: string,
  eventTime: Date = new Date(),
): Record<string, unknown>[] {
  return plan.flows.map((b) => {
    const reads = new Set<string>();
    const writes = new Set<string>();
    for (const s of b.stages) {
      if (s.dataset === undefined) continue;
      if (s.kind === 'source') reads.add(s.dataset.name);
      else writes.add(s.dataset.name);
      if (s.kind === 'sql') for (const i of plan.sql.get(s.dataset.name)?.inputs ?? []) reads.add(i);
    }
    const mode = b.stages.some((s) => s.mode === 'streaming') ? 'STREAMING' : 'BATCH';
    return {
      eventTime: eventTime.toISOString(),
      producer: PRODUCER,
      schemaURL: SPEC,
      job: {
        namespace,
        name: b.flow.name,
        facets: {
          jobType: {
            _producer: PRODUCER,
            _schemaURL: FACET.jobType,
            processingType: mode,
            integration: 'NAPKIN',
            jobType: 'FLOW',
          },
          ownership: {
            _producer: PRODUCER,
            _schemaURL: FACET.ownership,
            owners: [{ name: `team:${b.flow.owner}`, type: 'MAINTAINER' }],
          },
          ...(b.flow.description === undefined
            ? {}
            : {
                documentation: {
                  _producer: PRODUCER,
                  _schemaURL: FACET.documentation,
                  description: b.flow.description,
                },
              }),
        },
      },
      inputs: [...reads].sort().map((name) => ({ namespace, name, facets: schemaFacet(plan, name) })),
      outputs: [...writes].sort().map((name) => {
        const l = lineage.get(name);
        return {
          namespace,
          name,
          facets: {
            ...schemaFacet(plan, name),
            ...(l === undefined ? {} : { columnLineage: columnLineageFacet(l, namespace) }),
          },
        };
      }),
    };
  });
}

function schemaFacet(plan: ProjectPlan, name: string): Record<string, unknown> {
  const fields = plan.datasets.get(name)?.dataset.contract?.schema.fields;
  if (fields === undefined) return {};
  return {
    schema: {
      _producer: PRODUCER,
      _schemaURL: FACET.schema,
      fields: fields.map((f, i) => ({
        name: f.name,
        type: typeToString(f.type),
        ordinal_position: i + 1,
        ...(f.description === undefined ? {} : { description: f.description }),
      })),
    },
  };
}
