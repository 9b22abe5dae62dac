import { storageToString } from '../flow/storage.ts';
import type { ProjectPlan } from '../plan/project-plan.ts';
import type { DrawEdge, DrawGraph, DrawNode } from './model.ts';

/** Builds the napkin from the bound plan: datasets between flows, every stage inside its flow. */
export function drawGraphOf(plan: ProjectPlan): DrawGraph {
  const nodes: DrawNode[] = [];
  const edges: DrawEdge[] = [];
  const stageId = (flow: string, id: string) => `stage:${flow}/${id}`;
  const datasetId = (name: string) => `dataset:${name}`;
  for (const [name, d] of plan.datasets) {
    const c = d.dataset.contract;
    nodes.push({
      id: datasetId(name),
      kind: 'dataset',
      label: name,
      ...(d.dataset.owner === undefined ? {} : { owner: d.dataset.owner }),
      ...(d.dataset.freshness === undefined ? {} : { sla: d.dataset.freshness }),
      ...(c === undefined
        ? { contract: 'no contract' }
        : {
            contract: `v${c.version}${c.key.length ? ` · key ${c.key.join(', ')}` : ''} · ${c.schema.fields.length} fields`,
          }),
      ...(d.dataset.storage === undefined ? {} : { storage: storageToString(d.dataset.storage) }),
    });
  }
  for (const b of plan.flows) {
    for (const s of b.stages) {
      nodes.push({
        id: stageId(s.flow, s.id),
        kind: s.kind === 'sql' ? 'sql' : s.kind,
        label: s.id,
        flow: s.flow,
        detail: s.detail,
        sla: s.sla,
        mode: s.mode,
        owner: s.owner,
      });
      for (const i of s.inputs) edges.push({ from: stageId(s.flow, i), to: stageId(s.flow, s.id) });
      if (s.dataset === undefined) continue;
      if (s.kind === 'source') edges.push({ from: datasetId(s.dataset.name), to: stageId(s.flow, s.id) });
      else edges.push({ from: stageId(s.flow, s.id), to: datasetId(s.dataset.name) });
      if (s.kind === 'sql') {
        for (const input of plan.sql.get(s.dataset.name)?.inputs ?? []) {
          if (plan.datasets.has(input)) edges.push({ from: datasetId(input), to: stageId(s.flow, s.id) });
        }
      }
    }
  }
  return {
    title: plan.project.name,
    flows: plan.flows.map((b) => ({
      id: b.flow.name,
      owner: b.flow.owner,
      sla: b.flow.sla,
      ...(b.flow.description === undefined ? {} : { description: b.flow.description }),
    })),
    nodes,
    edges,
  };
}
