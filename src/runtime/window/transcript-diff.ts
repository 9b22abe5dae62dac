import type { Value } from '../../expr/types.ts';
import type { TranscriptPane } from './transcript-parse.ts';

export interface PaneComparison {
  readonly equal: boolean;
  /** Expected panes no emitted pane matched. */
  readonly missing: readonly TranscriptPane[];
  /** Emitted panes that matched no expected pane. */
  readonly unexpected: readonly TranscriptPane[];
  /** A readable diff, one finding per line group; empty when equal. */
  readonly text: string;
}

/**
 * Compares emitted panes with expected ones (§10): as a multiset unless `ordered`, and comparing only the fields an
 * expected pane has. Unordered matching is a maximum bipartite matching, so a loosely written expected pane cannot
 * take the one emitted pane a stricter one needs.
 */
export function comparePanes(
  expected: readonly TranscriptPane[],
  actual: readonly TranscriptPane[],
  ordered: boolean,
): PaneComparison {
  return ordered ? compareOrdered(expected, actual) : compareUnordered(expected, actual);
}

function compareUnordered(expected: readonly TranscriptPane[], actual: readonly TranscriptPane[]): PaneComparison {
  const matchOfActual = maximumMatching(expected, actual);
  const matchedExpected = new Set(matchOfActual.filter((i) => i >= 0));
  const missing = expected.filter((_, i) => !matchedExpected.has(i));
  const unexpected = actual.filter((_, j) => matchOfActual[j] < 0);
  const lines: string[] = [];
  if (missing.length > 0) {
    lines.push(`${missing.length} expected pane(s) not emitted:`);
    for (const e of missing) {
      lines.push(`  - ${show(e)}`);
      const near = closest(e, unexpected);
      if (near !== undefined) lines.push(`    closest emitted: ${show(near)}`, `    ${describeDifferences(e, near)}`);
    }
  }
  if (unexpected.length > 0) {
    lines.push(`${unexpected.length} emitted pane(s) not expected:`);
    for (const a of unexpected) lines.push(`  + ${show(a)}`);
  }
  return { equal: lines.length === 0, missing, unexpected, text: lines.join('\n') };
}

function compareOrdered(expected: readonly TranscriptPane[], actual: readonly TranscriptPane[]): PaneComparison {
  const lines: string[] = [];
  const missing: TranscriptPane[] = [];
  const unexpected: TranscriptPane[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected.at(i);
    const a = actual.at(i);
    if (e !== undefined && a !== undefined && matches(e, a)) continue;
    if (e !== undefined) missing.push(e);
    if (a !== undefined) unexpected.push(a);
    if (e !== undefined && a !== undefined) {
      lines.push(`pane #${i}:`, `  - ${show(e)}`, `  + ${show(a)}`, `    ${describeDifferences(e, a)}`);
    } else if (e !== undefined) {
      lines.push(`pane #${i}: expected but not emitted:`, `  - ${show(e)}`);
    } else if (a !== undefined) {
      lines.push(`pane #${i}: emitted but not expected:`, `  + ${show(a)}`);
    }
  }
  return { equal: lines.length === 0, missing, unexpected, text: lines.join('\n') };
}

/** Whether every field of the expected pane equals the emitted pane's. */
export function matches(expected: TranscriptPane, actual: TranscriptPane): boolean {
  return differingFields(expected, actual).length === 0;
}

function differingFields(expected: TranscriptPane, actual: TranscriptPane): (keyof TranscriptPane)[] {
  const fields = Object.keys(expected) as (keyof TranscriptPane)[];
  return fields.filter((f) => !jsonEqual(expected[f], actual[f]));
}

function describeDifferences(expected: TranscriptPane, actual: TranscriptPane): string {
  const parts = differingFields(expected, actual).map(
    (f) => `${f}: expected ${show(expected[f])}, got ${show(actual[f])}`,
  );
  return `differs in ${parts.join('; ')}`;
}

/** The unmatched emitted pane differing from `e` in the fewest fields, preferring the same key and window. */
function closest(e: TranscriptPane, candidates: readonly TranscriptPane[]): TranscriptPane | undefined {
  let best: TranscriptPane | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const a of candidates) {
    const sameWindow = jsonEqual(e.key, a.key) && jsonEqual(e.window, a.window);
    const score = differingFields(e, a).length + (sameWindow ? 0 : 100);
    if (score < bestScore) {
      best = a;
      bestScore = score;
    }
  }
  return best;
}

/** Kuhn's augmenting paths; returns, for each emitted pane, the index of the expected pane it matches or −1. */
function maximumMatching(expected: readonly TranscriptPane[], actual: readonly TranscriptPane[]): number[] {
  const edges = expected.map((e) => actual.flatMap((a, j) => (matches(e, a) ? [j] : [])));
  const matchOfActual = actual.map(() => -1);
  const augment = (i: number, seen: boolean[]): boolean => {
    for (const j of edges[i]) {
      if (seen[j]) continue;
      seen[j] = true;
      if (matchOfActual[j] < 0 || augment(matchOfActual[j], seen)) {
        matchOfActual[j] = i;
        return true;
      }
    }
    return false;
  };
  for (let i = 0; i < expected.length; i++) augment(i, []);
  return matchOfActual;
}

type Json = Value | readonly [number, number] | undefined;

function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x: Json, i: number) => jsonEqual(x, b[i]));
  }
  const ra = a as { readonly [k: string]: Value };
  const rb = b as { readonly [k: string]: Value };
  const ka = Object.keys(ra);
  return ka.length === Object.keys(rb).length && ka.every((k) => k in rb && jsonEqual(ra[k], rb[k]));
}

function show(v: Json | TranscriptPane): string {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}
