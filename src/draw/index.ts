import { renderDot } from './dot.ts';
import { validEdges } from './graph.ts';
import { renderMermaid } from './mermaid.ts';
import type { DrawGraph } from './model.ts';
import { renderSvg } from './svg.ts';
import { renderText } from './text.ts';

export { renderDot } from './dot.ts';
export { type DrawLayout, layoutGraph } from './layout.ts';
export { renderMermaid } from './mermaid.ts';
export type { DrawEdge, DrawFlow, DrawGraph, DrawNode, DrawNodeKind } from './model.ts';
export { renderSvg } from './svg.ts';
export { renderText } from './text.ts';

export type DrawFormat = 'text' | 'mermaid' | 'dot' | 'svg';

export const DRAW_FORMATS: readonly DrawFormat[] = ['text', 'mermaid', 'dot', 'svg'];

export function renderDraw(g: DrawGraph, format: DrawFormat): string {
  switch (format) {
    case 'text':
      return renderText(g);
    case 'mermaid':
      return renderMermaid(g);
    case 'dot':
      return renderDot(g);
    case 'svg':
      return renderSvg(g);
    default:
      return unknownFormat(format);
  }
}

/** Reached only if a caller bypasses the type (e.g. an unchecked CLI string); `never` keeps the switch exhaustive. */
function unknownFormat(format: never): never {
  throw new Error(`unknown draw format '${String(format)}': use one of ${DRAW_FORMATS.join(', ')}`);
}

/**
 * One flow's napkin: its stages, the datasets they read or write, and the edges among those. Stages of other flows
 * are dropped even when they touch the same datasets, so the drawing stays about the one flow asked for.
 */
export function filterFlow(g: DrawGraph, flowId: string): DrawGraph {
  const flow = g.flows.find((f) => f.id === flowId);
  if (flow === undefined) {
    const known = g.flows.map((f) => f.id).join(', ');
    throw new Error(`unknown flow '${flowId}': known flows are ${known === '' ? '(none)' : known}`);
  }
  const stages = new Set(g.nodes.filter((n) => n.kind !== 'dataset' && n.flow === flowId).map((n) => n.id));
  const touched = new Set(stages);
  for (const e of validEdges(g)) {
    if (stages.has(e.from)) touched.add(e.to);
    if (stages.has(e.to)) touched.add(e.from);
  }
  const nodes = g.nodes.filter((n) => stages.has(n.id) || (n.kind === 'dataset' && touched.has(n.id)));
  const kept = new Set(nodes.map((n) => n.id));
  const edges = validEdges(g).filter((e) => kept.has(e.from) && kept.has(e.to));
  return { title: `${g.title} · ${flowId}`, flows: [flow], nodes, edges };
}
