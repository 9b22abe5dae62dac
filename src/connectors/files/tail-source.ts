import { open, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Contract } from '../../flow/contract.ts';
import type { Follow } from '../../flow/storage.ts';
import { BATCH_ROWS, type BatchBuilder, emptyBatch, finishBuilder, newColumns } from '../../runtime/batch.ts';
import type { SourceChunk, SourceReader } from '../../runtime/execute.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { compileValueValidator } from '../../runtime/validate.ts';
import { JsonlParser } from './jsonl-parser.ts';

const PARSE_BYTES = 64 * 1024;
const READ_BYTES = 1 << 20;
const LF = 10;
const CAPACITY = BATCH_ROWS + 2048;

export interface TailSourceOptions {
  readonly file: string;
  readonly display: string;
  readonly contract: Contract;
  readonly follow: Follow;
  readonly live?: readonly boolean[];
  /** Aborted when the run is asked to stop (SIGINT, SIGTERM): what was read so far is handed on, then the input ends. */
  readonly signal?: AbortSignal;
  /** The processing-time clock idleness is measured on. */
  readonly now: () => number;
  /** Where to resume: a position an earlier chunk reported. */
  readonly from?: TailPosition;
}

/** A place in a followed file: bytes read (the end of a line) and the line and record numbers there. */
export type TailPosition = {
  readonly bytes: number;
  readonly line: number;
  readonly record: number;
};

/**
 * Tails a JSON Lines file: what is there, then every appended line, polled every `pollMs`. Each poll yields a chunk
 * (empty when nothing arrived), so the executor can move processing time on while the input is quiet. Ends when the
 * signal aborts or after `stopAfterIdleMs` without a new record, having read the file once more when it decides to
 * end: every whole line in the file at that moment is handed on, even when the consumer held the previous chunk past
 * the idle timeout. The watermark then goes to +∞ as for any source that ends (the run's sinks commit what was
 * emitted).
 */
export function openTailSource(o: TailSourceOptions): SourceReader {
  const width = o.contract.schema.fields.length;
  return {
    unbounded: true,
    async *chunks(): AsyncIterable<SourceChunk> {
      const parser = new JsonlParser({
        source: o.display,
        ...(o.from === undefined ? {} : { start: { line: o.from.line, record: o.from.record } }),
      });
      const validator = compileValueValidator(o.contract, o.display, o.live);
      let builder: BatchBuilder = { length: 0, columns: newColumns(width, CAPACITY, o.live) };
      let rejected: QuarantineEntry[] = [];
      // Bytes parsed: always the end of a line, so a reader resuming here starts at a record.
      let offset = o.from?.bytes ?? 0;
      let lastData = o.now();
      const take = (): SourceChunk => {
        const batch = builder.length === 0 ? emptyBatch(width) : finishBuilder(builder);
        if (builder.length > 0) builder = { length: 0, columns: newColumns(width, CAPACITY, o.live) };
        const r = rejected;
        rejected = [];
        const position: TailPosition = { bytes: offset, ...parser.position };
        return { batch, rejected: r, progress: { done: offset, total: offset }, position };
      };
      const run = (rows: ReturnType<JsonlParser['push']>): void => {
        for (const e of rows.errors) rejected.push(e);
        if (rows.count > 0) validator.validateInto(rows, 0, builder, rejected);
      };
      const fh = await open(o.file, 'r');
      const buffer = Buffer.allocUnsafe(READ_BYTES);
      /** Reads every whole line the file holds past `offset`, yielding full chunks; true when it read any. */
      async function* readAvailable(): AsyncGenerator<SourceChunk, boolean> {
        const size = (await stat(o.file)).size;
        // A file cut shorter than what was read was replaced or truncated: there is no sound place to resume.
        if (size < offset) throw new Error(`${o.display}: the followed file shrank from ${offset} to ${size} bytes`);
        let got = false;
        while (offset < size) {
          const { bytesRead } = await fh.read(buffer, 0, Math.min(buffer.length, size - offset), offset);
          const whole = wholeLines(buffer, bytesRead);
          if (whole === 0) break;
          for (let at = 0; at < whole; ) {
            const end = pieceEnd(buffer, at, whole);
            run(parser.push(buffer.subarray(at, end)));
            offset += end - at;
            at = end;
            if (builder.length >= BATCH_ROWS || rejected.length > 0) yield take();
          }
          got = true;
        }
        return got;
      }
      try {
        while (o.signal?.aborted !== true) {
          if (yield* readAvailable()) lastData = o.now();
          yield take();
          const idleStop = o.follow.stopAfterIdleMs;
          if (idleStop !== undefined && o.now() - lastData >= idleStop) {
            // The consumer may have held the last chunk for long (a slow commit, a pause): lines appended meanwhile
            // are in the file now, before the input ends, so they are read, not lost.
            yield* readAvailable();
            if (builder.length > 0 || rejected.length > 0) yield take();
            break;
          }
          await sleep(o.follow.pollMs, undefined, o.signal === undefined ? {} : { signal: o.signal }).catch(
            () => undefined,
          );
        }
        // A last line without its line break is left for the next reader: the writer may not have finished it.
      } finally {
        await fh.close();
      }
    },
  };
}

/**
 * How many of the `n` bytes read form whole lines. A line longer than the read buffer is taken whole buffer by
 * buffer (the parser holds it until its end); otherwise a partial last line is read again with the next poll.
 */
function wholeLines(buffer: Buffer, n: number): number {
  if (n === 0) return 0;
  const last = buffer.lastIndexOf(LF, n - 1);
  if (last >= 0) return last + 1;
  return n === buffer.length ? n : 0;
}

/** The end of the next piece to parse: about PARSE_BYTES, cut after a line break when there is one. */
function pieceEnd(buffer: Buffer, at: number, whole: number): number {
  const limit = Math.min(at + PARSE_BYTES, whole);
  if (limit === whole) return whole;
  const nl = buffer.lastIndexOf(LF, limit - 1);
  return nl >= at ? nl + 1 : limit;
}
