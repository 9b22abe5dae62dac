import { type Finding, finding } from '../findings.ts';
import type { ProjectPlan } from '../project-plan.ts';

/** Ownership, contracts, writers and orphans: the essay's "data swamp" guards. */
export function datasetRules(plan: ProjectPlan): Finding[] {
  const out: Finding[] = [];
  for (const [name, d] of plan.datasets) {
    const at = { dataset: name };
    if (d.producers.length > 1) {
      const who = d.producers.map((p) => `${p.flow}/${p.stage}`).join(' and ');
      out.push(
        finding(
          'twoWriters',
          at,
          `dataset '${name}' is written by ${who}`,
          'give the dataset one producing output; union the relations first if needed',
        ),
      );
    }
    if (d.producers.length === 0 && d.consumers.length === 0) {
      out.push(
        finding(
          'orphan',
          at,
          `dataset '${name}' is declared but no flow reads or writes it`,
          'remove it, or add the flow that uses it',
        ),
      );
    }
    if (d.published && (d.dataset.owner === undefined || d.dataset.owner.trim() === '')) {
      out.push(
        finding(
          'missingOwner',
          at,
          `published dataset '${name}' has no owner`,
          "set owner: 'team-name' on the dataset",
        ),
      );
    }
    if (d.published && d.dataset.contract === undefined) {
      out.push(
        finding(
          'missingContract',
          at,
          `published dataset '${name}' has no contract`,
          'declare contract({ fields: {...} }) so consumers know what they get',
        ),
      );
    }
    if (d.producers.length === 0 && d.consumers.length > 0 && d.dataset.storage === undefined) {
      out.push(
        finding(
          'unreadable',
          at,
          `dataset '${name}' is read but has no storage and no flow writes it`,
          'give it storage (csv(...), parquet(...), duckdb(...)) or a producing flow',
        ),
      );
    }
  }
  return out;
}
