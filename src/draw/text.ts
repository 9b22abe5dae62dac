import { flowOf, inputsOf, looseStages, outputsOf, stagesOf, topoFlows, topoNodes } from './graph.ts';
import type { DrawEdge, DrawFlow, DrawGraph, DrawNode } from './model.ts';
import { flowSubtitle, oneLine, slaMode } from './style.ts';

/**
 * The terminal napkin: one block per flow in dependency order, one aligned row per stage with its wiring on the line
 * below, then the datasets. Rows instead of boxes so 20+ stages still fit a terminal and diff cleanly.
 */
export function renderText(g: DrawGraph): string {
  const stages = g.nodes.filter((n) => n.kind !== 'dataset');
  const datasets = topoNodes(g).filter((n) => n.kind === 'dataset');
  const widths = columnWidths(stages);
  const lines = [
    `${g.title} — ${count(g.flows.length, 'flow')} · ${count(stages.length, 'stage')} · ${count(datasets.length, 'dataset')}`,
  ];
  for (const f of topoFlows(g))
    lines.push('', flowHeading(f), ...stagesOf(g, f.id).flatMap((s) => stageRows(g, s, widths)));
  const loose = looseStages(g);
  if (loose.length > 0) lines.push('', 'stages outside any flow', ...loose.flatMap((s) => stageRows(g, s, widths)));
  if (datasets.length > 0) lines.push('', 'datasets', ...datasetRows(datasets));
  return `${lines.map((l) => l.trimEnd()).join('\n')}\n`;
}

type Widths = readonly number[];

function stageCells(s: DrawNode): string[] {
  return [s.label, s.kind, slaMode(s), s.owner === undefined ? '' : `owner ${s.owner}`, s.detail ?? ''].map(oneLine);
}

function columnWidths(stages: readonly DrawNode[]): Widths {
  const rows = stages.map(stageCells);
  return [0, 1, 2, 3].map((c) => Math.max(0, ...rows.map((r) => r[c].length)));
}

function flowHeading(f: DrawFlow): string {
  const description = f.description === undefined ? '' : ` — ${oneLine(f.description)}`;
  return `flow ${f.id} · ${flowSubtitle(f)}${description}`;
}

function stageRows(g: DrawGraph, s: DrawNode, widths: Widths): string[] {
  const row = `  ${pad(stageCells(s), widths)}`;
  const ins = inputsOf(g, s.id).map((e) => endName(g, s, e, e.from));
  const outs = outputsOf(g, s.id).map((e) => endName(g, s, e, e.to));
  const wiring = [ins.length > 0 ? `← ${ins.join(', ')}` : '', outs.length > 0 ? `→ ${outs.join(', ')}` : ''];
  const wire = wiring.filter((w) => w !== '').join('   ');
  return wire === '' ? [row] : [row, `      ${wire}`];
}

/** How a neighbour is named from a stage: datasets in brackets, stages of another flow qualified by that flow. */
function endName(g: DrawGraph, from: DrawNode, e: DrawEdge, id: string): string {
  const n = g.nodes.find((m) => m.id === id)!;
  const other = flowOf(g, n);
  const name =
    n.kind === 'dataset'
      ? `[${n.label}]`
      : other !== undefined && other.id !== from.flow
        ? `${other.id}/${n.label}`
        : n.label;
  return e.label === undefined ? oneLine(name) : `${oneLine(name)} (${oneLine(e.label)})`;
}

function datasetRows(datasets: readonly DrawNode[]): string[] {
  const rows = datasets.map((d) => [`[${d.label}]`, d.contract ?? '', d.storage ?? '', datasetCare(d)].map(oneLine));
  const widths = [0, 1, 2].map((c) => Math.max(0, ...rows.map((r) => r[c].length)));
  return rows.map((r) => `  ${pad(r, widths)}`);
}

/** Who answers for a dataset and how fresh it must be, when the project says. */
function datasetCare(d: DrawNode): string {
  const owner = d.owner === undefined ? undefined : `owner ${d.owner}`;
  return [owner, d.sla === undefined ? undefined : `sla ${d.sla}`].filter((s) => s !== undefined).join(' · ');
}

/** Pads every cell but the last to its column width, two spaces apart. */
function pad(cells: readonly string[], widths: Widths): string {
  return cells.map((c, i) => (i < widths.length ? c.padEnd(widths[i]) : c)).join('  ');
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
