import type { Point } from './layout.ts';

/** Escapes text for XML content and double- or single-quoted attributes. */
export function xmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ENTITIES[c]);
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};

/** A coordinate with at most one decimal: keeps the SVG small and byte-stable across runs. */
export function fmt(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/**
 * A smooth path along dagre's points: each inner point is a quadratic control point and the curves join at segment
 * midpoints, so bends are rounded; the last curve ends tangent to the last segment, so the arrowhead points along it.
 */
export function edgePath(points: readonly Point[]): string {
  const [first, ...rest] = points;
  const parts = [`M${fmt(first.x)},${fmt(first.y)}`];
  for (let i = 0; i < rest.length - 1; i++) {
    const p = rest[i];
    const next = rest[i + 1];
    const end = i === rest.length - 2 ? next : { x: (p.x + next.x) / 2, y: (p.y + next.y) / 2 };
    parts.push(`Q${fmt(p.x)},${fmt(p.y)} ${fmt(end.x)},${fmt(end.y)}`);
  }
  if (rest.length === 1) parts.push(`L${fmt(rest[0].x)},${fmt(rest[0].y)}`);
  return parts.join(' ');
}
