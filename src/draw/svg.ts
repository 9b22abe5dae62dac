import {
  type Box,
  type DrawLayout,
  type LaidCluster,
  type LaidEdge,
  type LaidNode,
  type LegendItem,
  layoutGraph,
} from './layout.ts';
import {
  CYLINDER_CAP,
  clip,
  EDGE_FONT_SIZE,
  edgeLabelWidth,
  FONT_SIZE,
  LINE_HEIGHT,
  TITLE_FONT_SIZE,
} from './metrics.ts';
import type { DrawGraph } from './model.ts';
import { DATASET_PALETTE, MODE_PALETTE, type Palette, paletteOf } from './style.ts';
import { edgePath, fmt, xmlEscape } from './svgutil.ts';

/**
 * A standalone SVG of the napkin: dagre's layout drawn as flow clusters, stage boxes coloured by execution mode,
 * dataset cylinders, curved edges with arrowheads and a legend. No stylesheet or scripts, so it renders the same in
 * browsers, editors and image viewers; `class` and `data-*` attributes only name the parts (node, shape, cluster,
 * edge) for tests and tools that read the drawing.
 */
export function renderSvg(g: DrawGraph): string {
  return svgOf(g.title, layoutGraph(g));
}

const FONT = "ui-monospace, 'SF Mono', Menlo, Consolas, 'DejaVu Sans Mono', 'Liberation Mono', monospace";
const EDGE_COLOR = '#64748b';

export function svgOf(title: string, l: DrawLayout): string {
  const w = fmt(l.width);
  const h = fmt(l.height);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT}" font-size="${FONT_SIZE}">`,
    `<title>${xmlEscape(`napkin · ${title}`)}</title>`,
    '<defs>',
    `<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${EDGE_COLOR}"/></marker>`,
    '</defs>',
    `<rect class="background" x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>`,
    header(title, l),
    ...l.clusters.map(cluster),
    ...l.edges.map(edge),
    ...l.nodes.map(node),
    ...l.edges.map(edgeLabel),
    '</svg>\n',
  ]
    .filter((s) => s !== '')
    .join('\n');
}

function header(title: string, l: DrawLayout): string {
  const heading = `<text class="title" x="${fmt(l.header.x)}" y="${fmt(l.header.y + 26)}" font-size="${TITLE_FONT_SIZE}" font-weight="bold" fill="#0f172a">${xmlEscape(title)}</text>`;
  return [`<g class="header">${heading}`, ...l.legend.map(legendItem), '</g>'].join('\n');
}

function legendItem(item: LegendItem): string {
  const p = item.key === 'dataset' ? DATASET_PALETTE : MODE_PALETTE[item.key];
  const s = item.swatch;
  const shape = item.key === 'dataset' ? cylinder(s, p, 4) : roundedRect(s, p, 4);
  const text = `<text x="${fmt(item.textX)}" y="${fmt(s.y + s.height - 3)}" fill="#334155">${xmlEscape(item.key)}</text>`;
  return `<g class="legend" data-key="${item.key}">${shape}${text}</g>`;
}

function cluster(c: LaidCluster): string {
  const b = c.box;
  const room = (fontSize: number) => Math.max(1, Math.floor((b.width - 24) / (fontSize * 0.6)));
  const rect = `<rect class="cluster-box" x="${fmt(b.x)}" y="${fmt(b.y)}" width="${fmt(b.width)}" height="${fmt(b.height)}" rx="10" fill="#f8fafc" stroke="#94a3b8" stroke-width="1.2" stroke-dasharray="6 4"/>`;
  const title = `<text x="${fmt(b.x + 12)}" y="${fmt(b.y + 19)}" font-size="13" font-weight="bold" fill="#0f172a">${xmlEscape(clip(c.title, room(13)))}</text>`;
  const sub = `<text x="${fmt(b.x + 12)}" y="${fmt(b.y + 34)}" font-size="11" fill="#475569">${xmlEscape(clip(c.subtitle, room(11)))}</text>`;
  return `<g class="cluster" data-cluster="${xmlEscape(c.flow.id)}">${rect}${title}${sub}</g>`;
}

function edge(e: LaidEdge): string {
  if (e.points.length < 2) return '';
  return `<path class="edge" d="${edgePath(e.points)}" fill="none" stroke="${EDGE_COLOR}" stroke-width="1.4" marker-end="url(#arrow)"/>`;
}

function edgeLabel(e: LaidEdge): string {
  if (e.label === undefined) return '';
  const { text, at } = e.label;
  const width = edgeLabelWidth(text);
  const { x, y } = at;
  const bg = `<rect class="label-box" x="${fmt(x - width / 2)}" y="${fmt(y - 8)}" width="${fmt(width)}" height="16" rx="3" fill="#ffffff" fill-opacity="0.9"/>`;
  const label = `<text x="${fmt(x)}" y="${fmt(y + 3.5)}" font-size="${EDGE_FONT_SIZE}" text-anchor="middle" fill="#334155">${xmlEscape(text)}</text>`;
  return `<g class="edge-label">${bg}${label}</g>`;
}

function node(n: LaidNode): string {
  const p = paletteOf(n.node);
  const b = n.box;
  const dataset = n.node.kind === 'dataset';
  const shape = dataset ? cylinder(b, p, CYLINDER_CAP) : roundedRect(b, p, 8);
  const top = b.y + (b.height - n.lines.length * LINE_HEIGHT) / 2 + (dataset ? CYLINDER_CAP / 2 : 0);
  const lines = n.lines.map((line, i) => {
    const weight = i === 0 ? ' font-weight="bold"' : '';
    const fill = i === 0 ? '#0f172a' : '#334155';
    return `<text x="${fmt(b.x + b.width / 2)}" y="${fmt(top + i * LINE_HEIGHT + 12)}" text-anchor="middle"${weight} fill="${fill}">${xmlEscape(line)}</text>`;
  });
  const tip = `<title>${xmlEscape(tooltip(n))}</title>`;
  const flow = n.node.flow === undefined ? '' : ` data-cluster="${xmlEscape(n.node.flow)}"`;
  const attrs = `class="node" data-node-id="${xmlEscape(n.node.id)}" data-kind="${n.node.kind}"${flow}`;
  return `<g ${attrs}>${tip}${shape}${lines.join('')}</g>`;
}

/** The full, untruncated description, shown on hover where boxes had to shorten a line. */
function tooltip(n: LaidNode): string {
  const d = n.node;
  const parts = [
    d.id,
    d.detail,
    d.sla === undefined ? undefined : `sla ${d.sla}`,
    d.mode,
    d.owner,
    d.contract,
    d.storage,
  ];
  return parts.filter((s) => s !== undefined).join('\n');
}

function roundedRect(b: Box, p: Palette, r: number): string {
  return `<rect class="shape" x="${fmt(b.x)}" y="${fmt(b.y)}" width="${fmt(b.width)}" height="${fmt(b.height)}" rx="${r}" fill="${p.fill}" stroke="${p.stroke}" stroke-width="1.8"/>`;
}

/** A cylinder: the body with rounded bottom, then the top ellipse's front arc so the lid reads as open. */
function cylinder(b: Box, p: Palette, cap: number): string {
  const rx = fmt(b.width / 2);
  const [left, right, top, bottom] = [fmt(b.x), fmt(b.x + b.width), fmt(b.y + cap), fmt(b.y + b.height - cap)];
  const body = `M${left},${top} A${rx},${cap} 0 0 1 ${right},${top} L${right},${bottom} A${rx},${cap} 0 0 1 ${left},${bottom} Z`;
  const lid = `M${left},${top} A${rx},${cap} 0 0 0 ${right},${top}`;
  return `<path class="shape" d="${body}" fill="${p.fill}" stroke="${p.stroke}" stroke-width="1.8"/><path class="lid" d="${lid}" fill="none" stroke="${p.stroke}" stroke-width="1.8"/>`;
}
