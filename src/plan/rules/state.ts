import type { RelNode } from '../../flow/rel.ts';
import { type Finding, finding } from '../findings.ts';
import type { ProjectPlan } from '../project-plan.ts';

/** The operators that keep state between records, as named to people, and the call that ends each in the DSL. */
const STATEFUL: Partial<Record<RelNode['op'], { readonly what: string; readonly call: string }>> = {
  aggregate: { what: 'aggregate', call: '.agg({…})' },
  join: { what: 'join', call: '.join(…)' },
  windowJoin: { what: 'window join', call: '.join(…)' },
  intervalJoin: { what: 'interval join', call: '.intervalJoin(…)' },
  temporalJoin: { what: 'temporal join', call: '.temporalJoin(…)' },
  dedupe: { what: 'dedupe', call: '.dedupe(…)' },
};

/**
 * State is keyed by stage id (spec reliability §2.8): a stateful stage needs an id its author gave, because the ids
 * napkin makes up (`aggregate_1`, `join_2`) number stages in definition order and shift when a stage is added or
 * removed before it, which would leave its state with no stage or with the wrong one.
 */
export function stateRules(plan: ProjectPlan): Finding[] {
  const out: Finding[] = [];
  for (const b of plan.flows) {
    for (const s of b.stages) {
      const node = s.node;
      const kind = node === undefined ? undefined : STATEFUL[node.op];
      if (node === undefined || kind === undefined || node.id !== undefined) continue;
      const what = node.op === 'aggregate' && node.windowing !== undefined ? 'windowed aggregate' : kind.what;
      out.push(
        finding(
          'unnamedState',
          { flow: s.flow, stage: s.id },
          `${what} (${clip(s.detail)}) keeps state but has no explicit id: its state is keyed by the made-up id '${s.id}', which shifts when a stage is added or removed before it`,
          `name it where it is defined: ${kind.call}.stage('${suggestId(node)}'); the id must stay the same across edits of the flow`,
        ),
      );
    }
  }
  return out;
}

/** An id to suggest, from what the stage keys on. */
function suggestId(node: RelNode): string {
  const keys =
    node.op === 'aggregate' || node.op === 'dedupe' ? node.keys : 'on' in node ? node.on.map((k) => k.left) : [];
  const base = node.op === 'aggregate' ? 'totals' : node.op === 'dedupe' ? 'unique' : 'joined';
  const by = keys
    .map((k) => k.toLowerCase().replace(/[^a-z0-9_]/g, '_'))
    .join('_')
    .replace(/^_+/, '');
  return by === '' ? base : `${base}_by_${by}`;
}

function clip(text: string): string {
  return text.length <= 60 ? text : `${text.slice(0, 59)}…`;
}
