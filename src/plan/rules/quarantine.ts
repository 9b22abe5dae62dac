import { type Finding, finding } from '../findings.ts';
import type { ProjectPlan } from '../project-plan.ts';

/** Bad-input handling must be explicit: a quarantine has a budget, a merge has a key. */
export function quarantineRules(plan: ProjectPlan): Finding[] {
  const out: Finding[] = [];
  for (const b of plan.flows) {
    for (const s of b.stages) {
      const at = { flow: s.flow, stage: s.id, ...(s.dataset ? { dataset: s.dataset.name } : {}) };
      if (s.node?.op === 'read' && s.node.onInvalid === 'quarantine' && s.node.errorBudget === undefined) {
        out.push(
          finding(
            'noErrorBudget',
            at,
            `read of ${s.node.dataset.name} quarantines bad records without an error budget`,
            "add errorBudget: 100 (a count) or errorBudget: 'unlimited' to read(...)",
          ),
        );
      }
      if (s.writeMode === 'merge' && (s.dataset?.contract?.key.length ?? 0) === 0) {
        out.push(
          finding(
            'mergeWithoutKey',
            at,
            `merge write to ${s.dataset?.name} but its contract declares no key`,
            "declare key: ['id'] in the contract, or write with writeMode: 'replace'",
          ),
        );
      }
    }
  }
  return out;
}
