import { DuckDBInstance } from '@duckdb/node-api';
import { parseSql } from '../connectors/duckdb/parse-sql.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { Project } from '../flow/project.ts';
import { inputsOf, type RelNode } from '../flow/rel.ts';
import type { SqlAnalysis } from '../plan/project-plan.ts';
import { type SqlLineage, sqlLineage } from '../plan/sql/lineage.ts';

/**
 * Parses every SQL model of the project with DuckDB's own parser (an in-memory instance: nothing is read or
 * written) and computes its column lineage against the contracts of the datasets it names.
 */
export async function analyzeSql(project: Project): Promise<SqlAnalysis> {
  const models = project.flows.flatMap((f) => f.outputs.filter((o) => o.kind === 'sql'));
  const out = new Map<string, SqlLineage>();
  if (models.length === 0) return out;
  const datasets = new Map<string, Dataset>();
  for (const d of project.datasets) datasets.set(d.name, d);
  for (const f of project.flows) {
    for (const o of f.outputs) {
      datasets.set(o.dataset.name, o.dataset);
      if (o.kind === 'write') collectReads(o.input, datasets);
    }
  }
  const catalog = {
    columns: (table: string) => datasets.get(table)?.contract?.schema.fields.map((f) => f.name),
  };
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    for (const m of models) {
      if (m.kind !== 'sql') continue;
      try {
        out.set(m.dataset.name, sqlLineage(await parseSql(connection, m.sql), catalog));
      } catch (e) {
        out.set(m.dataset.name, {
          inputs: [],
          outputColumns: [],
          columns: {},
          indirect: [],
          errors: [(e as Error).message],
        });
      }
    }
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
  return out;
}

function collectReads(node: RelNode, into: Map<string, Dataset>): void {
  if (node.op === 'read') into.set(node.dataset.name, node.dataset);
  for (const i of inputsOf(node)) collectReads(i, into);
}
