import { readFileSync } from 'node:fs';
import { dataset, flow, MAX_TIMESTAMP, read, runTest, type TestStream, testStream, type Value, write } from 'napkin';
import { DATASETS, type EventKind } from '../../src/nexmark/schema.ts';
import type { NexmarkQuery, QueryParams } from './queries.ts';

/** Test support: runs a query over an export through the one engine, with scripted sources, and compares results. */

export type Row = Readonly<Record<string, Value>>;

/** One event of an export (§4), in file order. */
export interface ExportEvent {
  readonly kind: EventKind;
  readonly row: Row;
}

/** Reads a §4 JSONL export: each line's `type` picks the kind, its other fields are the row. */
export function readExport(path: string): ExportEvent[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const events: ExportEvent[] = [];
  for (const [i, line] of lines.entries()) {
    if (line === '') continue;
    const { type, ...fields } = JSON.parse(line) as Record<string, Value>;
    if (type !== 'person' && type !== 'auction' && type !== 'bid') {
      throw new Error(`${path}:${i + 1}: type is ${JSON.stringify(type)}; expected person, auction or bid`);
    }
    events.push({ kind: type, row: fields });
  }
  return events;
}

export interface HarnessOptions {
  readonly mode: 'batch' | 'stream';
  readonly params: QueryParams;
  /** Events per bundle, in file order: each bundle is split by kind, one batch per source. */
  readonly chunk: number;
  /**
   * Stream mode: ms by which each watermark runs ahead of the earliest event still to come. Only for checking that
   * the harness can fail: above 0 it makes events late.
   */
  readonly watermarkLead?: number;
}

/** What a run wrote, and how many rows its stages dropped as late (0 when the watermarks were right). */
export interface HarnessResult {
  readonly rows: Row[];
  readonly lateDropped: number;
}

/**
 * Runs `query` over `events` with one test stream per kind. Batch: the rows only, so every watermark stays at −∞
 * until its input ends. Stream: the bundles of the three sources interleave in file order (one processing-time step
 * per bundle), and after each bundle a source's watermark rises to the earliest event time it still has to send, the
 * tightest watermark that never makes an event late (§5.1).
 */
export async function runOnEvents(
  query: NexmarkQuery,
  events: readonly ExportEvent[],
  options: HarnessOptions,
): Promise<HarnessResult> {
  const out = dataset('nexmark.result');
  const rel = query.build(
    { person: read(DATASETS.person), auction: read(DATASETS.auction), bid: read(DATASETS.bid) },
    options.params,
  );
  const f = flow({ name: `nexmark_${query.name}`, owner: 'nexmark', sla: '1d', outputs: [write(out, rel)] });
  const result = await runTest(f, scripts(events, options));
  const rows = result.rows.get(out.name);
  if (rows === undefined) throw new Error(`nexmark ${query.name}: the run wrote no result; check the flow's output`);
  let lateDropped = 0;
  for (const m of result.metrics.values()) lateDropped += m.lateDropped;
  return { rows: [...rows], lateDropped };
}

function scripts(events: readonly ExportEvent[], options: HarnessOptions): TestStream[] {
  const kinds: EventKind[] = ['person', 'auction', 'bid'];
  return kinds.map((kind) => {
    const own = events.map((e, i) => ({ e, i })).filter((x) => x.e.kind === kind);
    // Earliest event time from each of this kind's positions on: a watermark there never passes a row to come.
    const suffixMin: number[] = new Array(own.length + 1).fill(MAX_TIMESTAMP);
    for (let j = own.length - 1; j >= 0; j--)
      suffixMin[j] = Math.min(suffixMin[j + 1], own[j].e.row.dateTime as number);
    let s = testStream(DATASETS[kind]);
    let j = 0;
    const lead = options.watermarkLead ?? 0;
    let wm = Number.NEGATIVE_INFINITY;
    for (let start = 0; start < events.length; start += options.chunk) {
      const end = start + options.chunk;
      const rows: Row[] = [];
      while (j < own.length && own[j].i < end) rows.push(own[j++].e.row);
      if (options.mode === 'stream') s = s.advanceProcessingTime(1);
      if (rows.length > 0) s = s.addElements(...rows);
      if (options.mode === 'stream' && j < own.length && suffixMin[j] + lead > wm) {
        wm = suffixMin[j] + lead;
        s = s.advanceWatermark(wm);
      }
    }
    return s;
  });
}

/**
 * Compares two results as multisets: rows sorted by their non-double columns (canonical JSON in `columns` order),
 * then by the doubles; doubles match within 1e-9 relative, everything else exactly. Returns the first difference, or
 * undefined.
 */
export function diffResults(
  actual: readonly Row[],
  expected: readonly Row[],
  columns: readonly string[],
  doubles: readonly string[],
): string | undefined {
  const exact = columns.filter((c) => !doubles.includes(c));
  const a = keyed(actual, exact, doubles);
  const e = keyed(expected, exact, doubles);
  if (a.length !== e.length) return `${a.length} rows but the reference has ${e.length}${firstMissing(a, e)}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = e[i];
    const same =
      x.key === y.key &&
      Object.keys(x.row).length === columns.length &&
      Object.keys(y.row).length === columns.length &&
      doubles.every((d) => closeEnough(x.row[d], y.row[d]));
    if (!same) return `row ${i}: got ${JSON.stringify(x.row)}, reference ${JSON.stringify(y.row)}`;
  }
  return undefined;
}

interface Keyed {
  readonly row: Row;
  /** The exact columns' values as JSON, in column order. */
  readonly key: string;
}

function keyed(rows: readonly Row[], exact: readonly string[], doubles: readonly string[]): Keyed[] {
  const out = rows.map((row) => ({ row, key: JSON.stringify(exact.map((c) => row[c] ?? null)) }));
  out.sort((x, y) => {
    if (x.key !== y.key) return x.key < y.key ? -1 : 1;
    for (const d of doubles) {
      const c = (x.row[d] as number) - (y.row[d] as number);
      if (c !== 0) return c;
    }
    return 0;
  });
  return out;
}

/** A row (by its exact columns) that one side has more often than the other. */
function firstMissing(actual: readonly Keyed[], expected: readonly Keyed[]): string {
  const count = (rows: readonly Keyed[]) => {
    const m = new Map<string, number>();
    for (const r of rows) m.set(r.key, (m.get(r.key) ?? 0) + 1);
    return m;
  };
  const got = count(actual);
  const want = count(expected);
  for (const [k, n] of want) if ((got.get(k) ?? 0) < n) return `; missing ${k}`;
  for (const [k, n] of got) if ((want.get(k) ?? 0) < n) return `; unexpected ${k}`;
  return '';
}

function closeEnough(a: Value | undefined, e: Value | undefined): boolean {
  if (typeof a !== 'number' || typeof e !== 'number') return a === e;
  return Math.abs(a - e) <= 1e-9 * Math.max(Math.abs(a), Math.abs(e));
}
