import type { StageMode } from '../time/duration.ts';
import { looseStages, stagesOf, topoFlows, topoNodes, validEdges } from './graph.ts';
import type { DrawGraph, DrawNode, DrawNodeKind } from './model.ts';
import { DATASET_PALETTE, flowSubtitle, MODE_PALETTE, MODES, nodeLines, oneLine } from './style.ts';

/**
 * A mermaid `flowchart LR`: one subgraph per flow, datasets between them, shapes by kind and a class per mode.
 * Every label is a quoted string with mermaid's `#…;` entity escapes, so no user text can end a label early.
 */
export function renderMermaid(g: DrawGraph): string {
  const ids = mermaidIds(g);
  const out = ['flowchart LR'];
  for (const f of topoFlows(g)) {
    const label = `<b>${mermaidText(f.id)}</b><br/>${mermaidText(flowSubtitle(f))}`;
    out.push(`  subgraph ${ids.flow.get(f.id)}["${label}"]`, '    direction LR');
    for (const s of stagesOf(g, f.id)) out.push(`    ${nodeDecl(ids, s)}`);
    out.push('  end');
  }
  const outside = [...topoNodes(g).filter((n) => n.kind === 'dataset'), ...looseStages(g)];
  for (const n of outside) out.push(`  ${nodeDecl(ids, n)}`);
  for (const e of validEdges(g)) {
    const label = e.label === undefined ? '' : `|"${mermaidText(oneLine(e.label))}"|`;
    out.push(`  ${ids.node.get(e.from)} -->${label} ${ids.node.get(e.to)}`);
  }
  out.push(...classLines(g, ids));
  return `${out.join('\n')}\n`;
}

const SHAPES: Readonly<Record<DrawNodeKind, readonly [string, string]>> = {
  dataset: ['[(', ')]'],
  source: ['[/', '/]'],
  transform: ['(', ')'],
  sql: ['[[', ']]'],
  sink: ['[\\', '\\]'],
};

function nodeDecl(ids: MermaidIds, n: DrawNode): string {
  const [open, close] = SHAPES[n.kind];
  const [title, ...rest] = nodeLines(n).map(mermaidText);
  const label = [`<b>${title}</b>`, ...rest].join('<br/>');
  return `${ids.node.get(n.id)}${open}"${label}"${close}`;
}

/** Escapes text for a quoted mermaid label: `"` would end it, `#`/`&`/`<`/`>` would be read as entities or HTML. */
export function mermaidText(s: string): string {
  return s.replace(/[#"&<>`|]/g, (c) => (c === '"' ? '#quot;' : `#${c.charCodeAt(0)};`));
}

const CLASS_OF_MODE: Readonly<Record<StageMode, string>> = {
  batch: 'batch',
  'micro-batch': 'microBatch',
  streaming: 'streaming',
};

function classLines(g: DrawGraph, ids: MermaidIds): string[] {
  const lines = MODES.map((m) => `  classDef ${CLASS_OF_MODE[m]} ${classStyle(MODE_PALETTE[m])}`);
  lines.push(`  classDef dataset ${classStyle(DATASET_PALETTE)}`);
  const groups: [string, DrawNode[]][] = [
    ...MODES.map((m): [string, DrawNode[]] => [
      CLASS_OF_MODE[m],
      g.nodes.filter((n) => n.kind !== 'dataset' && n.mode === m),
    ]),
    ['dataset', g.nodes.filter((n) => n.kind === 'dataset')],
  ];
  for (const [cls, members] of groups) {
    if (members.length > 0) lines.push(`  class ${members.map((n) => ids.node.get(n.id)).join(',')} ${cls}`);
  }
  return lines;
}

function classStyle(p: { readonly stroke: string; readonly fill: string }): string {
  return `fill:${p.fill},stroke:${p.stroke},stroke-width:2px,color:#111827`;
}

/** Words mermaid's grammar reserves; a node named after one would be parsed as syntax. */
const RESERVED = new Set([
  'end',
  'graph',
  'flowchart',
  'subgraph',
  'style',
  'class',
  'classdef',
  'click',
  'direction',
  'default',
  'linkstyle',
  'call',
  'href',
  'interpolate',
]);

export interface MermaidIds {
  readonly node: ReadonlyMap<string, string>;
  readonly flow: ReadonlyMap<string, string>;
}

/**
 * Mermaid ids for every node and flow: only `[A-Za-z0-9_]`, starting with a letter, not a keyword, and unique even
 * when two names sanitize alike (flows and nodes share mermaid's one id space).
 */
export function mermaidIds(g: DrawGraph): MermaidIds {
  const used = new Set<string>();
  const claim = (raw: string): string => {
    let base = raw.replace(/[^A-Za-z0-9_]+/g, '_');
    if (!/^[A-Za-z]/.test(base) || RESERVED.has(base.toLowerCase())) base = `n_${base}`;
    let id = base;
    for (let i = 2; used.has(id); i++) id = `${base}_${i}`;
    used.add(id);
    return id;
  };
  const flow = new Map(g.flows.map((f) => [f.id, claim(`flow_${f.id}`)]));
  const node = new Map(g.nodes.map((n) => [n.id, claim(n.id)]));
  return { node, flow };
}
