import type { Value } from '../expr/types.ts';
import { BATCH_ROWS } from '../runtime/batch.ts';
import type { GeneratedChunk, NexmarkGenerator } from './generator.ts';
import { eventIdAt, KIND_NAMES, type KindCode, kindCodeOf } from './layout.ts';

/** Positions per chunk of an export: small columns, and the text of one chunk near 2 MB. */
export const EXPORT_CHUNK = BATCH_ROWS;

/** A visitor of one chunk's events in output order: `kind` is the event's kind, `row` its row in that kind's batch. */
export type EventVisitor = (chunk: GeneratedChunk, kind: KindCode, row: number, index: number) => void;

/**
 * Runs through every chunk of a fresh pass of `gen`, calling `visit` for each event in position order, then `flush`
 * after each chunk (where a writer hands its buffer on).
 */
export async function eachChunk(
  gen: NexmarkGenerator,
  visit: EventVisitor,
  flush: (chunk: GeneratedChunk) => Promise<void>,
): Promise<void> {
  gen.reset();
  const c = gen.config;
  const rows = [0, 0, 0];
  let first = 0;
  for (;;) {
    const chunk = gen.next(EXPORT_CHUNK);
    rows.fill(0);
    for (let i = 0; i < chunk.positions; i++) {
      const kind = kindCodeOf(eventIdAt(first + i, c), c);
      visit(chunk, kind, rows[kind]++, i);
    }
    await flush(chunk);
    first += chunk.positions;
    if (chunk.done) return;
  }
}

/** The batch of a kind in a chunk. */
export function batchOf(chunk: GeneratedChunk, kind: KindCode): readonly (readonly Value[])[] {
  return chunk[KIND_NAMES[kind]].columns;
}
