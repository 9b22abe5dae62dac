import type { Storage } from '../../flow/storage.ts';
import type { Stage } from '../../plan/stage.ts';
import { type Finding, finding } from '../findings.ts';
import type { ProjectPlan } from '../project-plan.ts';

/**
 * Stages that answer only once an input has ended (M5): a hash join builds its right side whole first, and an
 * aggregate without a window fires its one global pane at the end. Over a source that never ends (a Kafka topic, a
 * followed file, a change-data-capture table, unless told to stop after idling) they keep state forever and never
 * emit: the run looks healthy and writes nothing. The event-time forms answer as the watermark moves.
 */
export function unboundedRules(plan: ProjectPlan): Finding[] {
  const out: Finding[] = [];
  for (const b of plan.flows) {
    const byId = new Map(b.stages.map((s) => [s.id, s]));
    const endless = (id: string, seen = new Set<string>()): Stage | undefined => {
      if (seen.has(id)) return undefined;
      seen.add(id);
      const s = byId.get(id);
      if (s === undefined) return undefined;
      if (s.kind === 'source') return neverEnds(s.dataset?.storage) ? s : undefined;
      for (const input of s.inputs) {
        const found = endless(input, seen);
        if (found !== undefined) return found;
      }
      return undefined;
    };
    for (const s of b.stages) {
      const node = s.node;
      if (node?.op === 'join') {
        const src = endless(s.inputs[1]);
        if (src === undefined) continue;
        out.push(
          finding(
            'waitsForEnd',
            { flow: s.flow, stage: s.id },
            `join builds its right side whole before it answers, and the right side reads ${describe(src)}, which never ends: the join would hold every row and emit nothing`,
            "join a changing table as of each row's event time with .temporalJoin(table, { on }), rows of the same window with .window(fixed(…)).join(…), or rows close in time with .intervalJoin(…); or end the source with stopAfterIdle",
          ),
        );
      } else if (node?.op === 'aggregate' && node.windowing === undefined) {
        const src = endless(s.inputs[0]);
        if (src === undefined) continue;
        out.push(
          finding(
            'waitsForEnd',
            { flow: s.flow, stage: s.id },
            `aggregate without a window answers once its input ends, and it reads ${describe(src)}, which never ends: it would count forever and emit nothing`,
            "window it in event time, e.g. .window(fixed('1m')).groupBy(…).agg({…}), or for a running total a global window with a trigger: .window(global(), { trigger: repeatedly(afterCount(1)) }); or end the source with stopAfterIdle",
          ),
        );
      }
    }
  }
  return out;
}

/** A source that runs until the process is stopped: Kafka, a followed file, CDC, none told to stop after idling. */
function neverEnds(st: Storage | undefined): boolean {
  if (st === undefined) return false;
  if (st.kind === 'kafka' || st.kind === 'postgresCdc') return st.stopAfterIdleMs === undefined;
  if (st.kind === 'jsonl') return st.follow !== undefined && st.follow.stopAfterIdleMs === undefined;
  return false;
}

function describe(s: Stage): string {
  const st = s.dataset?.storage;
  const what =
    st?.kind === 'kafka'
      ? `Kafka topic ${st.topic}`
      : st?.kind === 'postgresCdc'
        ? `the changes of ${st.table}`
        : 'a followed file';
  return `${s.dataset?.name ?? s.id} (${what})`;
}
