import { cdcContractProblems } from '../../flow/cdc.ts';
import { type Finding, finding } from '../findings.ts';
import type { ProjectPlan } from '../project-plan.ts';

/**
 * A change-data-capture dataset (`postgresCdc`) is a changelog: its contract declares the table's columns plus the
 * changelog columns (`cdcFields()`) and the table's primary key, and no flow writes it.
 */
export function cdcRules(plan: ProjectPlan): Finding[] {
  const out: Finding[] = [];
  for (const [name, d] of plan.datasets) {
    const st = d.dataset.storage;
    if (st?.kind !== 'postgresCdc') continue;
    const at = { dataset: name };
    const contract = d.dataset.contract;
    if (contract === undefined) {
      out.push(
        finding(
          'cdcContract',
          at,
          `change-data-capture dataset '${name}' (postgres ${st.table}) has no contract`,
          "declare contract({ key: [...primary key], fields: { ...cdcFields(), ...the table's columns } })",
        ),
      );
      continue;
    }
    const problems = cdcContractProblems(contract);
    if (problems.length > 0) {
      out.push(
        finding(
          'cdcContract',
          at,
          `the contract of change-data-capture dataset '${name}' (postgres ${st.table}): ${problems.join('; ')}`,
          "spread cdcFields() into its fields beside the table's columns, and set key to the table's primary key",
        ),
      );
    }
    if (d.producers.length > 0) {
      const who = d.producers.map((p) => `${p.flow}/${p.stage}`).join(' and ');
      out.push(
        finding(
          'cdcContract',
          at,
          `change-data-capture dataset '${name}' is a source, but ${who} writes it`,
          'write to another dataset; postgresCdc storage is read only',
        ),
      );
    }
  }
  return out;
}
