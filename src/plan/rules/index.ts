import type { Finding } from '../findings.ts';
import type { ProjectPlan } from '../project-plan.ts';
import { cdcRules } from './cdc.ts';
import { datasetRules } from './datasets.ts';
import { quarantineRules } from './quarantine.ts';
import { slaRules } from './sla.ts';
import { stateRules } from './state.ts';
import { unboundedRules } from './unbounded.ts';

/** A project-level check: reads the bound plan, returns findings. One concern per file. */
export type Rule = (plan: ProjectPlan) => readonly Finding[];

const ALL: readonly Rule[] = [datasetRules, slaRules, quarantineRules, stateRules, cdcRules, unboundedRules];

export function checkRules(plan: ProjectPlan): Finding[] {
  return ALL.flatMap((r) => r(plan));
}
