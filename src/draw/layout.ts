import { type EdgeLabel, Graph, type GraphLabel, layout, type NodeLabel } from '@dagrejs/dagre';
import type { StageMode } from '../time/duration.ts';
import { flowOf, topoFlows, validEdges } from './graph.ts';
import {
  boxLines,
  CHAR_WIDTH,
  clip,
  EDGE_FONT_SIZE,
  edgeLabelWidth,
  MAX_CHARS,
  nodeSize,
  titleWidth,
} from './metrics.ts';
import type { DrawEdge, DrawFlow, DrawGraph, DrawNode } from './model.ts';
import { flowSubtitle, MODES, nodeLines, oneLine } from './style.ts';

/**
 * Where everything goes in the SVG, computed by dagre as a compound graph (one cluster per flow). Separate from
 * drawing so tests can check geometry (no overlaps, nodes inside their cluster) without parsing SVG.
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

/** An axis-aligned box by its top-left corner. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface LaidNode {
  readonly node: DrawNode;
  readonly box: Box;
  /** The text lines drawn in the box, already shortened to fit. */
  readonly lines: readonly string[];
}

export interface LaidCluster {
  readonly flow: DrawFlow;
  readonly box: Box;
  readonly title: string;
  readonly subtitle: string;
}

export interface LaidEdge {
  readonly edge: DrawEdge;
  readonly points: readonly Point[];
  /** The edge's label as drawn (clipped to fit) and its centre, when it has one. */
  readonly label?: { readonly text: string; readonly at: Point };
}

export interface DrawLayout {
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly LaidNode[];
  readonly clusters: readonly LaidCluster[];
  readonly edges: readonly LaidEdge[];
  /** The band above the graph holding the title and the mode legend. */
  readonly header: Box;
  readonly legend: readonly LegendItem[];
}

/** One legend entry: a swatch box followed by its label text, which starts at `textX`. */
export interface LegendItem {
  readonly key: StageMode | 'dataset';
  readonly swatch: Box;
  readonly textX: number;
  readonly box: Box;
}

/** Height reserved at the top of each cluster for the flow's name and owner/SLA line. */
export const CLUSTER_TITLE_BAND = 38;
const MARGIN = 24;
export const HEADER_HEIGHT = 64;
/**
 * dagre pads a cluster by (nodesep + edgesep) / 2 across ranks (measured; a large edgesep pads unevenly), so nodesep
 * carries the title band: the gap above a cluster's top node fits the title plus a small margin.
 */
const EDGESEP = 16;
const NODESEP = 2 * (CLUSTER_TITLE_BAND + 10) - EDGESEP;
const RANKSEP = 44;

type LayoutGraph = Graph<GraphLabel, NodeLabel, EdgeLabel>;

export function layoutGraph(g: DrawGraph): DrawLayout {
  const dg: LayoutGraph = new Graph({ compound: true, multigraph: true });
  dg.setDefaultEdgeLabel(() => ({}));
  dg.setGraph({
    rankdir: 'LR',
    nodesep: NODESEP,
    edgesep: EDGESEP,
    ranksep: RANKSEP,
    marginx: MARGIN,
    marginy: MARGIN,
  });
  const flows = topoFlows(g);
  for (let i = 0; i < flows.length; i++) dg.setNode(`c${i}`, { width: 0, height: 0 });
  const laid = g.nodes.map((n, i) => {
    const lines = boxLines(nodeLines(n));
    const size = nodeSize(n, lines);
    dg.setNode(`n${i}`, size);
    const flow = flowOf(g, n);
    if (flow !== undefined) dg.setParent(`n${i}`, `c${flows.indexOf(flow)}`);
    return { node: n, lines };
  });
  const index = new Map(g.nodes.map((n, i) => [n.id, i]));
  const edges = validEdges(g);
  edges.forEach((e, i) => {
    dg.setEdge(`n${index.get(e.from)}`, `n${index.get(e.to)}`, edgeSize(e), `e${i}`);
  });
  layout(dg);
  return assemble(g.title, dg, flows, laid, edges, index);
}

function assemble(
  title: string,
  dg: LayoutGraph,
  flows: readonly DrawFlow[],
  laid: readonly { node: DrawNode; lines: string[] }[],
  edges: readonly DrawEdge[],
  index: ReadonlyMap<string, number>,
): DrawLayout {
  const shift = (p: Point): Point => ({ x: p.x, y: p.y + HEADER_HEIGHT });
  const boxOf = (name: string): Box => centred(dg.node(name), HEADER_HEIGHT);
  const nodes = laid.map((l, i) => ({ ...l, box: boxOf(`n${i}`) }));
  const clusters = flows
    .map((flow, i) => ({ flow, name: `c${i}` }))
    .filter(({ name }) => dg.children(name).length > 0)
    .map(({ flow, name }) => ({ flow, box: boxOf(name), title: flow.id, subtitle: flowSubtitle(flow) }));
  const laidEdges = edges.map((edge, i) => {
    const label = dg.edge({ v: `n${index.get(edge.from)}`, w: `n${index.get(edge.to)}`, name: `e${i}` });
    const points = (label.points ?? []).map(shift);
    if (edge.label === undefined || label.x === undefined || label.y === undefined) return { edge, points };
    return { edge, points, label: { text: edgeText(edge.label), at: shift({ x: label.x, y: label.y }) } };
  });
  const size = dg.graph();
  const legend = legendItems();
  const headerWidth = Math.max(titleWidth(title), ...legend.map((l) => l.box.x + l.box.width - MARGIN));
  const width = Math.max(size.width ?? 0, headerWidth + 2 * MARGIN);
  const header = { x: MARGIN, y: 0, width: width - 2 * MARGIN, height: HEADER_HEIGHT };
  return { width, height: (size.height ?? 0) + HEADER_HEIGHT, nodes, clusters, edges: laidEdges, header, legend };
}

/** Legend row under the title: one swatch per mode, then the dataset shape. */
function legendItems(): LegendItem[] {
  const items: LegendItem[] = [];
  let x = MARGIN;
  const y = HEADER_HEIGHT - 26;
  for (const key of [...MODES, 'dataset' as const]) {
    const swatch = { x, y, width: 22, height: 14 };
    const textX = x + 28;
    const box = { x, y, width: 28 + Math.ceil(key.length * CHAR_WIDTH), height: 14 };
    items.push({ key, swatch, textX, box });
    x += box.width + 20;
  }
  return items;
}

function centred(l: NodeLabel, dy: number): Box {
  return { x: (l.x ?? 0) - l.width / 2, y: (l.y ?? 0) - l.height / 2 + dy, width: l.width, height: l.height };
}

function edgeSize(e: DrawEdge): EdgeLabel {
  if (e.label === undefined) return {};
  return { width: edgeLabelWidth(edgeText(e.label)), height: EDGE_FONT_SIZE + 6, labelpos: 'c' };
}

function edgeText(label: string): string {
  return clip(oneLine(label), MAX_CHARS);
}
