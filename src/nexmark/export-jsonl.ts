import { open, rm } from 'node:fs/promises';
import { publishFile, tempPathFor } from '../connectors/files/atomic.ts';
import type { Value } from '../expr/types.ts';
import { batchOf, eachChunk } from './export-chunks.ts';
import type { NexmarkGenerator } from './generator.ts';
import { KIND_NAMES } from './layout.ts';
import { FIELDS } from './schema.ts';

/**
 * One JSON object per event and line (spec nexmark.md §4): `"type"` first, then the kind's fields in FIELDS order,
 * integers as plain JSON integers. The text depends on the events alone, so the file is byte-identical across runs.
 */
const HEADS: readonly string[] = KIND_NAMES.map((k) => `{"type":${JSON.stringify(k)}`);
const KEYS: readonly (readonly string[])[] = KIND_NAMES.map((k) => FIELDS[k].map((f) => `,${JSON.stringify(f)}:`));

/** The JSON text of row `row` of a kind's columns, with its newline. */
export function eventLine(kind: number, columns: readonly (readonly Value[])[], row: number): string {
  const keys = KEYS[kind];
  let line = HEADS[kind];
  for (let f = 0; f < keys.length; f++) {
    const v = columns[f][row];
    // Generated strings use letters, digits, spaces and `@._-/:?=&` only, none of which JSON escapes (the export
    // test parses every line back): quoting them directly measured twice as fast as JSON.stringify.
    line += typeof v === 'string' ? `${keys[f]}"${v}"` : keys[f] + integer(v);
  }
  return `${line}}\n`;
}

function integer(v: Value): string {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new Error(`nexmark export: ${JSON.stringify(v)} is not a safe integer; this is a generator bug`);
  }
  return String(v);
}

/** Writes every event of `gen` to `path` as JSON Lines through a temporary file, a chunk's text per write. */
export async function writeJsonl(gen: NexmarkGenerator, path: string): Promise<void> {
  const tmp = tempPathFor(path);
  const fh = await open(tmp, 'w');
  try {
    let text = '';
    await eachChunk(
      gen,
      (chunk, kind, row) => {
        text += eventLine(kind, batchOf(chunk, kind), row);
      },
      async () => {
        // The text is ASCII: latin1 copies bytes where utf8 would scan for multi-byte characters.
        await fh.write(Buffer.from(text, 'latin1'));
        text = '';
      },
    );
    await fh.close();
  } catch (e) {
    await fh.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
  await publishFile(tmp, path);
}
