import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Contract } from '../../flow/contract.ts';
import { BATCH_ROWS, type BatchBuilder, emptyBatch, finishBuilder, newColumns } from '../../runtime/batch.ts';
import type { SourceChunk, SourceReader } from '../../runtime/execute.ts';
import { escapePointer } from '../../runtime/json-values.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { compileTextValidator, compileValueValidator, type HeaderDrift } from '../../runtime/validate.ts';
import { CsvParser, type RecordError } from './csv-parser.ts';
import { JsonlParser } from './jsonl-parser.ts';

/**
 * One file read. Reads are issued one ahead of parsing (double buffering), so the parser does not wait for the
 * thread pool between reads; 1 MiB keeps the number of those round trips small.
 */
const READ_BYTES = 1 << 20;
/** What the parser is given at once: 64 KiB measured fastest for the parsers (less text alive between collections). */
const PARSE_BYTES = 64 * 1024;
/** Room for the records of one more parsed piece (64 KiB of lines of 32 bytes or more) past `BATCH_ROWS`. */
const CAPACITY = BATCH_ROWS + 2048;

export interface TextSourceOptions {
  readonly format: 'csv' | 'jsonl';
  /** Absolute paths, read in this order. */
  readonly files: readonly string[];
  /** How a file is named in errors and quarantine entries (relative to the project root). */
  readonly display: (file: string) => string;
  readonly contract: Contract;
  readonly delimiter?: string;
  /** Which contract fields are read downstream; the others are checked but handed on as empty columns. */
  readonly live?: readonly boolean[];
}

/** Where a file reader puts what it validated: the batch being filled and the records refused since the last one. */
interface Pending {
  builder: BatchBuilder;
  rejected: QuarantineEntry[];
}

/**
 * Reads CSV or JSON Lines files as a stream of validated batches: bytes → incremental parser → compiled contract
 * validator, which appends straight into the columns of the batch being filled (no per-chunk batches to merge).
 * Every record ends up in a batch or in `rejected`, with its file, line and field. A file whose header drifted from
 * the contract (a renamed or unknown column) has every record refused as drift.
 */
export function openTextSource(o: TextSourceOptions): SourceReader {
  const total = o.files.reduce((n, f) => n + statSync(f).size, 0);
  const width = o.contract.schema.fields.length;
  return {
    async *chunks(): AsyncIterable<SourceChunk> {
      const pending: Pending = { builder: { length: 0, columns: newColumns(width, CAPACITY, o.live) }, rejected: [] };
      let done = 0;
      const take = (): SourceChunk => {
        const { builder, rejected } = pending;
        // A chunk of refused records only leaves the builder (allocated ahead) to the next batch.
        const batch = builder.length === 0 ? emptyBatch(width) : finishBuilder(builder);
        if (builder.length > 0) pending.builder = { length: 0, columns: newColumns(width, CAPACITY, o.live) };
        pending.rejected = [];
        // The parser's refusals and the validator's arrive apart: put them back in file order, so the record an
        // error budget names as the last is the last one read.
        if (rejected.length > 1) rejected.sort((a, b) => a.record - b.record);
        return { batch, rejected, progress: { done, total } };
      };
      for (const file of o.files) {
        const reader = o.format === 'csv' ? csvFile(o, file, pending) : jsonlFile(o, file, pending);
        for await (const block of fileBlocks(file)) {
          for (let at = 0; at < block.length; at += PARSE_BYTES) {
            const piece = block.subarray(at, Math.min(at + PARSE_BYTES, block.length));
            done += piece.length;
            reader.push(piece);
            // Refused records go out at once, so an error budget stops the run early.
            if (pending.builder.length >= BATCH_ROWS || pending.rejected.length > 0) yield take();
          }
        }
        reader.finish();
        if (pending.builder.length > 0 || pending.rejected.length > 0) yield take();
      }
    },
  };
}

/**
 * The bytes of a file in blocks, the next read already running while the caller works on the current block. A
 * block is valid until the caller asks for the next one after it (the two buffers take turns); the parsers copy
 * what they keep.
 */
async function* fileBlocks(file: string): AsyncGenerator<Buffer> {
  const fh = await open(file, 'r');
  const buffers = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  let k = 0;
  let next = fh.read(buffers[0], 0, READ_BYTES, null);
  try {
    for (;;) {
      const { bytesRead } = await next;
      if (bytesRead === 0) return;
      const block = buffers[k];
      k ^= 1;
      next = fh.read(buffers[k], 0, READ_BYTES, null);
      yield block.subarray(0, bytesRead);
    }
  } finally {
    // The read in flight must land before the handle closes (also when the consumer stopped early).
    await next.catch(() => undefined);
    await fh.close();
  }
}

interface FileReader {
  push(b: Buffer): void;
  finish(): void;
}

function addErrors(to: QuarantineEntry[], errors: readonly RecordError[]): void {
  for (const e of errors) to.push(e);
}

function csvFile(o: TextSourceOptions, file: string, out: Pending): FileReader {
  const source = o.display(file);
  const parser = new CsvParser({
    source,
    cells: 'offsets',
    ...(o.delimiter === undefined ? {} : { delimiter: o.delimiter }),
  });
  let validator: ReturnType<typeof compileTextValidator> | null = null;
  let explain: ((e: QuarantineEntry) => QuarantineEntry) | null = null;
  const run = (rows: ReturnType<CsvParser['push']>): void => {
    if (validator === null && parser.header !== null) {
      validator = compileTextValidator(o.contract, parser.header, source, o.live);
      explain = explainDrift(validator.drift);
    }
    addErrors(out.rejected, rows.errors);
    if (validator === null || rows.count === 0) return;
    const from = out.rejected.length;
    validator.validateInto(rows, 0, out.builder, out.rejected);
    if (explain !== null) for (let i = from; i < out.rejected.length; i++) out.rejected[i] = explain(out.rejected[i]);
  };
  return {
    push: (b) => run(parser.push(b)),
    finish: () => {
      const rows = parser.finish();
      if (parser.header === null) throw new Error(`${source}: the file is empty; a CSV file starts with a header line`);
      run(rows);
    },
  };
}

/**
 * A header that lacks required columns refuses every record as drift, each entry naming the missing column. The
 * header's own undeclared columns (often the missing one, renamed) are said there too, so the one line a failed run
 * prints names both sides: `expected column customer_id, found no such column; the header has undeclared cust_id`.
 */
function explainDrift(drift: HeaderDrift | null): ((e: QuarantineEntry) => QuarantineEntry) | null {
  if (drift === null || drift.missing.length === 0 || drift.unknown.length === 0) return null;
  const missing = new Set(drift.missing.map((name) => `/${escapePointer(name)}`));
  const note = `no such column; the header has undeclared ${drift.unknown.join(', ')}`;
  return (e) => {
    if (e.errorClass !== 'drift' || e.field === undefined || !missing.has(e.field)) return e;
    // Keep the validator's count of the record's other bad fields, within the 80 characters `found` may take.
    const others = /\(\+\d+ more bad fields?\)$/.exec(e.found)?.[0];
    const room = 80 - (others === undefined ? 0 : others.length + 1);
    const text = note.length <= room ? note : `${note.slice(0, room - 1)}…`;
    return { ...e, found: others === undefined ? text : `${text} ${others}` };
  };
}

function jsonlFile(o: TextSourceOptions, file: string, out: Pending): FileReader {
  const source = o.display(file);
  const parser = new JsonlParser({ source });
  const validator = compileValueValidator(o.contract, source, o.live);
  const run = (rows: ReturnType<JsonlParser['push']>): void => {
    addErrors(out.rejected, rows.errors);
    if (rows.count > 0) validator.validateInto(rows, 0, out.builder, out.rejected);
  };
  return { push: (b) => run(parser.push(b)), finish: () => run(parser.finish()) };
}
