import { extname } from 'node:path';
import { writeJsonl } from './export-jsonl.ts';
import { writeParquet } from './export-parquet.ts';
import { type GeneratorOptions, NexmarkGenerator } from './generator.ts';

/**
 * `napkin nexmark generate` (spec nexmark.md §4): the events of a generator written to JSON Lines or Parquet, in
 * output order, a chunk at a time so memory stays bounded however many events there are.
 */

export type ExportFormat = 'jsonl' | 'parquet';

export interface ExportResult {
  readonly path: string;
  readonly format: ExportFormat;
  readonly events: number;
}

/** The format a path asks for by its extension, or undefined for one napkin does not write. */
export function exportFormatOf(path: string): ExportFormat | undefined {
  const ext = extname(path).toLowerCase();
  return ext === '.jsonl' ? 'jsonl' : ext === '.parquet' ? 'parquet' : undefined;
}

/**
 * Writes the N events of `options` to `path` (`.jsonl` or `.parquet`), published atomically. Throws
 * GeneratorOptionError for bad options before any file is touched.
 */
export async function exportEvents(options: GeneratorOptions, path: string): Promise<ExportResult> {
  const format = exportFormatOf(path);
  if (format === undefined) {
    throw new Error(`nexmark export: cannot write ${path}; give a path ending in .jsonl or .parquet`);
  }
  const gen = new NexmarkGenerator(options);
  if (format === 'jsonl') await writeJsonl(gen, path);
  else await writeParquet(gen, path);
  return { path, format, events: gen.config.events };
}
