import { formatDuration, modeForSla } from '../../time/duration.ts';
import { type Finding, finding } from '../findings.ts';
import type { ProjectPlan } from '../project-plan.ts';
import type { Stage } from '../stage.ts';

/**
 * The essay's rule: the SLA picks the mode. Forcing streaming on a daily SLA buys complexity nobody asked for;
 * forcing batch on a minute SLA reinvents streaming badly. And no stage can be fresher than what feeds it.
 */
export function slaRules(plan: ProjectPlan): Finding[] {
  const out: Finding[] = [];
  for (const b of plan.flows) {
    const byId = new Map(b.stages.map((s) => [s.id, s]));
    for (const s of b.stages) {
      out.push(...modeRules(s));
      for (const i of s.inputs) {
        const up = byId.get(i);
        if (up !== undefined && up.slaMs > s.slaMs) {
          out.push(
            finding(
              'slaUnmeetable',
              { flow: s.flow, stage: s.id },
              `SLA ${s.sla} cannot be met: its input ${up.id} has SLA ${up.sla}`,
              `relax this stage's SLA to ${up.sla} or tighten ${up.id}'s`,
            ),
          );
        }
      }
      if (s.kind === 'source' && s.dataset?.freshnessMs !== undefined && s.dataset.freshnessMs > s.slaMs) {
        out.push(
          finding(
            'slaUnmeetable',
            { flow: s.flow, stage: s.id, dataset: s.dataset.name },
            `SLA ${s.sla} cannot be met: dataset ${s.dataset.name} is only refreshed every ${s.dataset.freshness}`,
            `relax the SLA to ${s.dataset.freshness}, or make ${s.dataset.name} fresher upstream`,
          ),
        );
      }
      if (s.kind !== 'source' && s.dataset?.freshnessMs !== undefined && s.slaMs > s.dataset.freshnessMs) {
        out.push(
          finding(
            'slaUnmeetable',
            { flow: s.flow, stage: s.id, dataset: s.dataset.name },
            `dataset ${s.dataset.name} promises freshness ${s.dataset.freshness} but the stage writing it has SLA ${s.sla}`,
            `tighten the stage SLA to ${s.dataset.freshness} or relax the dataset's freshness`,
          ),
        );
      }
    }
  }
  return out;
}

function modeRules(s: Stage): Finding[] {
  if (!s.modeForced) return [];
  const natural = modeForSla(s.slaMs);
  const at = { flow: s.flow, stage: s.id };
  const hint = `drop the mode override (the SLA picks ${natural}) or change the SLA`;
  if (s.mode === 'streaming' && s.slaMs >= 3_600_000) {
    return [
      finding(
        'streamingForDailySla',
        at,
        `forced to streaming while its SLA is ${formatDuration(s.slaMs)}: batch meets it with a fraction of the complexity`,
        hint,
      ),
    ];
  }
  if (s.mode === 'batch' && s.slaMs < 3_600_000) {
    return [
      finding(
        'batchForTightSla',
        at,
        `forced to batch while its SLA is ${formatDuration(s.slaMs)}: windows that short reinvent streaming badly`,
        hint,
      ),
    ];
  }
  if (s.mode === 'micro-batch' && s.slaMs > 3_600_000) {
    return [
      finding('microBatchForDailySla', at, `forced to micro-batch while its SLA is ${formatDuration(s.slaMs)}`, hint),
    ];
  }
  return [];
}
