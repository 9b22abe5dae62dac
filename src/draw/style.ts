import type { StageMode } from '../time/duration.ts';
import type { DrawNode } from './model.ts';

/** Colours and wording shared by the graphical formats, so mermaid, DOT and SVG read the same at a glance. */

export interface Palette {
  readonly stroke: string;
  readonly fill: string;
}

export const MODES: readonly StageMode[] = ['batch', 'micro-batch', 'streaming'];

export const MODE_PALETTE: Readonly<Record<StageMode, Palette>> = {
  batch: { stroke: '#2563eb', fill: '#eff6ff' },
  'micro-batch': { stroke: '#d97706', fill: '#fffbeb' },
  streaming: { stroke: '#059669', fill: '#ecfdf5' },
};

export const DATASET_PALETTE: Palette = { stroke: '#475569', fill: '#f1f5f9' };

/** Stages without a mode still need a colour; neutral grey says "unknown" without implying batch. */
export const UNKNOWN_PALETTE: Palette = { stroke: '#6b7280', fill: '#ffffff' };

export function paletteOf(n: DrawNode): Palette {
  if (n.kind === 'dataset') return DATASET_PALETTE;
  return n.mode === undefined ? UNKNOWN_PALETTE : MODE_PALETTE[n.mode];
}

/** `sla 1d · batch`, or whichever half is known; empty when neither is. */
export function slaMode(n: DrawNode): string {
  return [n.sla === undefined ? undefined : `sla ${n.sla}`, n.mode].filter((s) => s !== undefined).join(' · ');
}

/** The lines a node's box shows, title first: stages say what they do and how fresh, datasets what and where. */
export function nodeLines(n: DrawNode): string[] {
  const lines =
    n.kind === 'dataset'
      ? [n.label, n.contract, n.storage]
      : [n.label, n.detail, [n.kind, slaMode(n)].filter((s) => s !== '').join(' · ')];
  return lines.filter((l): l is string => l !== undefined && l !== '').map(oneLine);
}

/** `owner data-eng · sla 1h`: the second line of a flow's heading. */
export function flowSubtitle(f: { readonly owner: string; readonly sla: string }): string {
  return `owner ${f.owner} · sla ${f.sla}`;
}

/** Labels are single-line in every format; a stray newline in a detail would break the row layouts. */
export function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ');
}
