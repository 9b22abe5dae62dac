import type { DrawEdge, DrawFlow, DrawGraph, DrawNode } from './model.ts';

/** Graph queries every renderer shares, so all formats agree on order and on what counts as a valid edge. */

/** Edges whose ends are both declared nodes; a dangling edge would otherwise make layouts invent nodes. */
export function validEdges(g: DrawGraph): DrawEdge[] {
  const ids = new Set(g.nodes.map((n) => n.id));
  return g.edges.filter((e) => ids.has(e.from) && ids.has(e.to));
}

/** The flow a node is drawn inside: its own flow when that flow is declared, otherwise none. */
export function flowOf(g: DrawGraph, n: DrawNode): DrawFlow | undefined {
  if (n.kind === 'dataset' || n.flow === undefined) return undefined;
  return g.flows.find((f) => f.id === n.flow);
}

/** Nodes in topological order; ties (and any cycle) keep declaration order so output is deterministic. */
export function topoNodes(g: DrawGraph): DrawNode[] {
  const index = new Map(g.nodes.map((n, i) => [n.id, i]));
  const succ = g.nodes.map((): number[] => []);
  const indegree = g.nodes.map(() => 0);
  for (const e of validEdges(g)) {
    succ[index.get(e.from)!].push(index.get(e.to)!);
    indegree[index.get(e.to)!]++;
  }
  return kahn(indegree, succ).map((i) => g.nodes[i]);
}

/** Flows in dependency order: a flow comes after every flow whose stages feed it, directly or through a dataset. */
export function topoFlows(g: DrawGraph): DrawFlow[] {
  const index = new Map(g.flows.map((f, i) => [f.id, i]));
  const flowIndex = (n: DrawNode): number | undefined => (n.flow === undefined ? undefined : index.get(n.flow));
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const links = new Set<string>();
  for (const e of validEdges(g)) {
    const from = byId.get(e.from)!;
    const to = byId.get(e.to)!;
    const producers = from.kind === 'dataset' ? writersOf(g, from.id) : [from];
    for (const p of producers) {
      const a = flowIndex(p);
      const b = flowIndex(to);
      if (a !== undefined && b !== undefined && a !== b && to.kind !== 'dataset') links.add(`${a}>${b}`);
    }
  }
  const succ = g.flows.map((): number[] => []);
  const indegree = g.flows.map(() => 0);
  for (const link of [...links].sort()) {
    const [a, b] = link.split('>').map(Number);
    succ[a].push(b);
    indegree[b]++;
  }
  return kahn(indegree, succ).map((i) => g.flows[i]);
}

/** Stages of one flow in topological order. */
export function stagesOf(g: DrawGraph, flowId: string): DrawNode[] {
  return topoNodes(g).filter((n) => n.kind !== 'dataset' && n.flow === flowId);
}

/** Stages with no declared flow: shown in their own group so they never silently disappear. */
export function looseStages(g: DrawGraph): DrawNode[] {
  return topoNodes(g).filter((n) => n.kind !== 'dataset' && flowOf(g, n) === undefined);
}

export function inputsOf(g: DrawGraph, id: string): DrawEdge[] {
  return validEdges(g).filter((e) => e.to === id);
}

export function outputsOf(g: DrawGraph, id: string): DrawEdge[] {
  return validEdges(g).filter((e) => e.from === id);
}

function writersOf(g: DrawGraph, datasetId: string): DrawNode[] {
  const writers = new Set(inputsOf(g, datasetId).map((e) => e.from));
  return g.nodes.filter((n) => writers.has(n.id));
}

/** Kahn's algorithm always taking the lowest ready index; leftover (cyclic) indices follow in index order. */
function kahn(indegree: number[], succ: number[][]): number[] {
  const remaining = [...indegree];
  const done = new Array<boolean>(remaining.length).fill(false);
  const order: number[] = [];
  for (;;) {
    const next = remaining.findIndex((d, i) => d === 0 && !done[i]);
    if (next < 0) break;
    done[next] = true;
    order.push(next);
    for (const s of succ[next]) remaining[s]--;
  }
  for (let i = 0; i < done.length; i++) if (!done[i]) order.push(i);
  return order;
}
