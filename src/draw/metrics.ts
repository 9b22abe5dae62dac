import type { DrawNode } from './model.ts';

/**
 * Text metrics and line fitting for the SVG. The SVG uses a monospace stack, where every glyph is 0.6 em wide, so
 * box sizes computed from character counts are estimates we can trust.
 */
export const FONT_SIZE = 12;
export const CHAR_WIDTH = FONT_SIZE * 0.6;
export const LINE_HEIGHT = 16;
export const EDGE_FONT_SIZE = 10;
export const TITLE_FONT_SIZE = 16;
const PAD_X = 12;
const PAD_Y = 9;
/** Room for a dataset cylinder's top ellipse above its first line. */
export const CYLINDER_CAP = 8;
/** Longest line a box shows: titles are clipped, other lines wrap at word breaks onto at most two rows. */
export const MAX_CHARS = 32;
const MIN_NODE_WIDTH = 120;

/** The header's title width in the bold title font. */
export function titleWidth(title: string): number {
  return Math.ceil(title.length * TITLE_FONT_SIZE * 0.6);
}

export function nodeSize(n: DrawNode, lines: readonly string[]): { width: number; height: number } {
  const longest = Math.max(0, ...lines.map((l) => l.length));
  const width = Math.max(MIN_NODE_WIDTH, Math.ceil(longest * CHAR_WIDTH) + 2 * PAD_X);
  const cap = n.kind === 'dataset' ? 2 * CYLINDER_CAP : 0;
  return { width, height: lines.length * LINE_HEIGHT + 2 * PAD_Y + cap };
}

/** Width of an edge label's backing box, text plus a little padding. */
export function edgeLabelWidth(text: string): number {
  return Math.ceil(text.length * EDGE_FONT_SIZE * 0.6) + 8;
}

/** Narrow boxes keep an LR layout from growing very wide; the SVG tooltip and the other formats keep the full text. */
export function boxLines(lines: readonly string[]): string[] {
  const [title, ...rest] = lines;
  return [clip(title, MAX_CHARS), ...rest.flatMap((l) => wrap(l, MAX_CHARS, 2))];
}

/** Word-wraps `s` to rows of at most `width` chars; past `rows` rows, the last one ends in an ellipsis. */
export function wrap(s: string, width: number, rows: number): string[] {
  const out: string[] = [];
  let row = '';
  for (const word of s.split(' ')) {
    const next = row === '' ? word : `${row} ${word}`;
    if (next.length <= width || row === '') row = next;
    else {
      out.push(row);
      row = word;
    }
  }
  out.push(row);
  const kept = out.slice(0, rows).map((r) => clip(r, width));
  if (out.length > rows) kept[rows - 1] = clip(`${kept[rows - 1]} …`, width);
  return kept;
}

export function clip(s: string, width: number): string {
  return s.length <= width ? s : `${s.slice(0, Math.max(0, width - 1))}…`;
}
