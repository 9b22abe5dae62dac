// The reference run's output checked against the generator, with none of napkin's code: E must be right before
// trials are compared with it (a reference that is consistently wrong would pass every trial).
import type { GoodEvent } from './generate.ts';

type Parsed = Record<string, string | number | boolean | null>;
/** Committed rows per sink stage (see Snapshot.sinks), of one or more flows. */
type Sinks = Readonly<Record<string, readonly string[]>>;

const parse = (rows: readonly string[]): Parsed[] => rows.map((r) => JSON.parse(r) as Parsed);
const ms = (v: string | number | boolean | null): number => (typeof v === 'number' ? v : Date.parse(String(v)));

/** Per key and window of `size` ms: count and sum of value. */
function windows(good: readonly GoodEvent[], size: number): Map<string, { n: number; total: number }> {
  const out = new Map<string, { n: number; total: number }>();
  for (const e of good) {
    const k = `${e.key}@${Math.floor(e.at / size) * size}`;
    const w = out.get(k) ?? { n: 0, total: 0 };
    w.n++;
    w.total += e.value;
    out.set(k, w);
  }
  return out;
}

function sameWindows(rows: Parsed[], expected: Map<string, { n: number; total: number }>, what: string): string[] {
  const problems: string[] = [];
  if (rows.length !== expected.size) problems.push(`${what}: ${rows.length} windows, expected ${expected.size}`);
  for (const r of rows) {
    const w = expected.get(`${r.key}@${ms(r.window_start)}`);
    if (w === undefined || w.n !== r.n || w.total !== r.total)
      problems.push(`${what}: ${JSON.stringify(r)}, expected ${JSON.stringify(w)}`);
    if (r.pane_timing !== 'ON_TIME' || r.pane_is_last !== true) problems.push(`${what}: pane ${JSON.stringify(r)}`);
  }
  return problems;
}

/** The bounded flow's E against the generator's good events. */
export function boundedProblems(sinks: Sinks, good: readonly GoodEvent[]): string[] {
  const problems: string[] = [];
  const clean = parse(sinks.write_crash_events_clean ?? []);
  const ids = clean.map((r) => Number(r.id)).sort((a, b) => a - b);
  if (ids.length !== good.length || ids.some((id, i) => id !== i + 1))
    problems.push(`events_clean holds ${ids.length} ids, expected 1…${good.length}`);
  const byId = new Map(good.map((e) => [e.id, e]));
  for (const r of clean) {
    const e = byId.get(Number(r.id));
    if (e === undefined || e.key !== r.key || e.seq !== r.seq || e.value !== r.value || e.at !== ms(r.at))
      problems.push(`events_clean row ${JSON.stringify(r)} differs from the input ${JSON.stringify(e)}`);
  }
  const perKey = new Map<string, { n: number; total: number }>();
  for (const e of good) {
    const k = perKey.get(e.key) ?? { n: 0, total: 0 };
    k.n++;
    k.total += e.value;
    perKey.set(e.key, k);
  }
  const keys = parse(sinks.write_crash_per_key ?? []);
  if (keys.length !== perKey.size) problems.push(`per_key: ${keys.length} rows, expected ${perKey.size}`);
  for (const r of keys) {
    const k = perKey.get(String(r.key));
    if (k === undefined || k.n !== r.n || k.total !== r.total)
      problems.push(`per_key ${JSON.stringify(r)}, expected ${JSON.stringify(k)}`);
  }
  problems.push(...sameWindows(parse(sinks.write_crash_per_minute ?? []), windows(good, 60_000), 'per_minute'));
  const big = good.filter((e) => e.value > 900).map((e) => e.id);
  const csvIds = (sinks.write_crash_big_events ?? []).map((l) => Number(l.split(',')[0])).sort((a, b) => a - b);
  if (JSON.stringify(csvIds) !== JSON.stringify(big.sort((a, b) => a - b)))
    problems.push(`big-events.csv holds ${csvIds.length} ids, expected ${big.length}`);
  return problems.slice(0, 10);
}

/** The live flow's E against the generator: one ON_TIME pane per (key, 10 s window), in both sinks. */
export function liveProblems(sinks: Sinks, good: readonly GoodEvent[], stages: readonly string[]): string[] {
  const expected = windows(good, 10_000);
  return stages.flatMap((s) => sameWindows(parse(sinks[s] ?? []), expected, s)).slice(0, 10);
}
