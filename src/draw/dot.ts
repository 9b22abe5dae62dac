import { looseStages, stagesOf, topoFlows, topoNodes, validEdges } from './graph.ts';
import type { DrawGraph, DrawNode, DrawNodeKind } from './model.ts';
import { flowSubtitle, nodeLines, oneLine, paletteOf } from './style.ts';

/**
 * Graphviz DOT: a `cluster_` subgraph per flow, datasets as cylinders outside them, left to right. Every id and
 * label is a quoted string, so names with dots, slashes or quotes need no sanitizing, only escaping.
 */
export function renderDot(g: DrawGraph): string {
  const out = [
    'digraph napkin {',
    `  graph [rankdir=LR, label=${dotString(g.title)}, labelloc=t, fontname="Helvetica", fontsize=16, nodesep=0.4, ranksep=0.6];`,
    '  node [fontname="Helvetica", fontsize=11, penwidth=1.5, margin="0.2,0.08"];',
    '  edge [color="#64748b", fontname="Helvetica", fontsize=10];',
  ];
  for (const f of topoFlows(g)) {
    out.push(`  subgraph ${dotString(`cluster_${f.id}`)} {`);
    out.push(`    label=${dotString(`${f.id}\n${flowSubtitle(f)}`)};`);
    out.push('    style="rounded,dashed"; color="#94a3b8"; fontsize=12;');
    for (const s of stagesOf(g, f.id)) out.push(`    ${nodeStatement(s)}`);
    out.push('  }');
  }
  const outside = [...topoNodes(g).filter((n) => n.kind === 'dataset'), ...looseStages(g)];
  for (const n of outside) out.push(`  ${nodeStatement(n)}`);
  for (const e of validEdges(g)) {
    const label = e.label === undefined ? '' : ` [label=${dotString(oneLine(e.label))}]`;
    out.push(`  ${dotString(e.from)} -> ${dotString(e.to)}${label};`);
  }
  out.push('}');
  return `${out.join('\n')}\n`;
}

const SHAPES: Readonly<Record<DrawNodeKind, string>> = {
  dataset: 'shape=cylinder',
  source: 'shape=cds',
  transform: 'shape=box, style="rounded,filled"',
  sql: 'shape=component',
  sink: 'shape=box3d',
};

function nodeStatement(n: DrawNode): string {
  const p = paletteOf(n);
  const filled = SHAPES[n.kind].includes('style=') ? '' : ', style=filled';
  const attrs = `label=${dotString(nodeLines(n).join('\n'))}, ${SHAPES[n.kind]}${filled}, color="${p.stroke}", fillcolor="${p.fill}"`;
  return `${dotString(n.id)} [${attrs}];`;
}

/**
 * A DOT quoted string. Backslashes are doubled first so user text can't form escapes like `\l` or `\N`; then quotes
 * are escaped and real newlines become DOT's centred line break `\n`.
 */
export function dotString(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
}
