import type { Value } from '../expr/types.ts';
import type { GeneratedChunk, NexmarkGenerator } from './generator.ts';
import { type EventKind, FIELDS } from './schema.ts';

/** One event as the tests and the export see it: its kind and its fields by name. */
export interface NexmarkEvent {
  readonly type: EventKind;
  readonly [field: string]: Value;
}

/**
 * The events of a chunk in position order, `first` being the chunk's first position: the kind at each position says
 * which batch holds its next row.
 */
export function chunkEvents(g: NexmarkGenerator, chunk: GeneratedChunk, first: number): NexmarkEvent[] {
  const next: Record<EventKind, number> = { person: 0, auction: 0, bid: 0 };
  const out: NexmarkEvent[] = [];
  for (let n = first; n < first + chunk.positions; n++) {
    const type = g.kindAt(n);
    const batch = chunk[type];
    if (batch.length === 0) continue;
    const row = next[type]++;
    const e: Record<string, Value> = { type };
    FIELDS[type].forEach((f, c) => {
      e[f] = batch.columns[c][row];
    });
    out.push(e as NexmarkEvent);
  }
  return out;
}

/** Every event of a fresh pass over `g` (reset first), taken `chunk` positions at a time. */
export function allEvents(g: NexmarkGenerator, chunk = 4096): NexmarkEvent[] {
  g.reset();
  const out: NexmarkEvent[] = [];
  let at = 0;
  for (;;) {
    const c = g.next(chunk);
    for (const e of chunkEvents(g, c, at)) out.push(e);
    at += c.positions;
    if (c.done) return out;
  }
}
