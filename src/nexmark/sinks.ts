import { createWriteStream, type WriteStream } from 'node:fs';
import type { Value } from '../expr/types.ts';
import type { Batch } from '../runtime/batch.ts';
import type { SinkWriter } from '../runtime/execute.ts';

/** Where a query's result goes: kept in memory, written as JSON Lines, or counted and discarded (the benchmark). */
export type ResultSink =
  | { readonly kind: 'collect' }
  | { readonly kind: 'jsonl'; readonly path: string }
  | { readonly kind: 'discard' };

/** What the sink saw: every row is counted and folded into a checksum, so no work can be optimised away (§6). */
export interface SinkTally {
  rows: number;
  checksum: number;
  readonly collected: Record<string, Value>[];
}

export function newTally(): SinkTally {
  return { rows: 0, checksum: 0, collected: [] };
}

/** A sink writer for `columns` (the result's column names, in order). */
export function openResultSink(sink: ResultSink, columns: readonly string[], tally: SinkTally): SinkWriter {
  switch (sink.kind) {
    case 'discard':
      return plain((b) => fold(b, tally));
    case 'collect':
      return plain((b) => {
        fold(b, tally);
        for (let i = 0; i < b.length; i++) tally.collected.push(rowAt(b, i, columns));
      });
    case 'jsonl':
      return jsonlSink(sink.path, columns, tally);
    default:
      return sink satisfies never;
  }
}

function plain(write: (b: Batch) => void): SinkWriter {
  return { write, commit: async () => 'memory', abort: async () => {} };
}

/** Row count plus a cheap sum over every value: numbers as they are, strings by length, booleans as 0/1. */
function fold(b: Batch, tally: SinkTally): void {
  tally.rows += b.length;
  let sum = tally.checksum;
  for (const col of b.columns) {
    for (let i = 0; i < b.length; i++) {
      const v = col[i];
      if (typeof v === 'number') sum = (sum + v) % 1e15;
      else if (typeof v === 'string') sum += v.length;
      else if (v === true) sum += 1;
    }
  }
  tally.checksum = sum;
}

function rowAt(b: Batch, i: number, columns: readonly string[]): Record<string, Value> {
  const row: Record<string, Value> = {};
  for (let c = 0; c < columns.length; c++) row[columns[c]] = b.columns[c][i];
  return row;
}

/** One JSON object per line with exactly the result's columns; times are already integer milliseconds. */
function jsonlSink(path: string, columns: readonly string[], tally: SinkTally): SinkWriter {
  const out: WriteStream = createWriteStream(path);
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => undefined);
  return {
    write(b) {
      fold(b, tally);
      let text = '';
      for (let i = 0; i < b.length; i++) text += `${JSON.stringify(rowAt(b, i, columns))}\n`;
      out.write(text);
    },
    async commit() {
      await Promise.race([new Promise<void>((done) => out.end(done)), failed]);
      return `jsonl ${path} (${tally.rows} rows)`;
    },
    async abort() {
      out.destroy();
    },
  };
}
