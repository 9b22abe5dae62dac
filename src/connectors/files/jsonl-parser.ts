import { isUtf8 } from 'node:buffer';
import type { ErrorClass } from '../../runtime/quarantine.ts';
import { shortenFound } from '../../runtime/scalars.ts';
import type { RecordError } from './csv-parser.ts';
import { decodeEscaped, describeBadByte, incompleteTail } from './utf8.ts';

/** The records one `push`/`finish` call completed; see `ParsedRows` of the CSV reader for `records` and `raws`. */
export interface JsonlRows {
  count: number;
  readonly values: Record<string, unknown>[];
  readonly lines: number[];
  readonly records: number[];
  readonly raws: string[];
  readonly errors: RecordError[];
}

export interface JsonlOptions {
  readonly source: string;
  /** A longer line is refused as 'oversize'; the reader drops the rest of it without buffering. */
  readonly maxRecordBytes?: number;
  /** Where the input starts in its file, when reading resumes past its beginning: line and record numbers go on. */
  readonly start?: { readonly line: number; readonly record: number };
}

const LF = 10;

function emptyRows(): JsonlRows {
  return { count: 0, values: [], lines: [], records: [], raws: [], errors: [] };
}

/** Blank lines (only JSON whitespace) hold no record; they still count for line numbers. */
function isBlank(text: string): boolean {
  if (text.length === 0) return true;
  const c = text.charCodeAt(0);
  return (c === 32 || c === 9 || c === 13) && text.trim() === '';
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : `a ${typeof v}`;
}

function withoutCr(text: string): string {
  return text.charCodeAt(text.length - 1) === 13 ? text.slice(0, -1) : text;
}

/**
 * An incremental JSON Lines reader: one JSON object per line, LF or CRLF, blank lines skipped. Every non-blank line
 * ends up either in `values` or in `errors`: bad UTF-8 ('encoding'), a line over `maxRecordBytes` ('oversize'),
 * text that is not a JSON object ('parse'), or a last line without a line break that does not parse ('truncated').
 */
export class JsonlParser {
  readonly source: string;
  private readonly maxRecord: number;
  private held: Buffer[] = [];
  private heldBytes = 0;
  /** Inside a line over the limit: its first bytes, kept for the quarantine entry; the rest is dropped. */
  private oversize: Buffer | null = null;
  private line = 1;
  private recordNo = 0;
  private out: JsonlRows = emptyRows();

  constructor(options: JsonlOptions) {
    this.source = options.source;
    this.maxRecord = options.maxRecordBytes ?? 16 << 20;
    if (options.start !== undefined) {
      this.line = options.start.line;
      this.recordNo = options.start.record;
    }
  }

  /** The next line's number and the last record's: where a reader resuming after the lines parsed so far starts. */
  get position(): { readonly line: number; readonly record: number } {
    return { line: this.line, record: this.recordNo };
  }

  push(chunk: Buffer): JsonlRows {
    this.out = emptyRows();
    let pos = 0;
    if (this.heldBytes > 0 || this.oversize !== null) {
      const nl = chunk.indexOf(LF);
      this.hold(chunk, 0, nl < 0 ? chunk.length : nl);
      if (nl < 0) return this.out;
      this.takeHeld(false);
      pos = nl + 1;
    }
    const last = chunk.lastIndexOf(LF);
    if (last >= pos) {
      this.readLines(chunk, pos, last);
      pos = last + 1;
    }
    if (pos < chunk.length) this.hold(chunk, pos, chunk.length);
    return this.out;
  }

  /** Ends the input: a last line without a line break is a record if it parses, else 'truncated'. */
  finish(): JsonlRows {
    this.out = emptyRows();
    if (this.heldBytes > 0 || this.oversize !== null) this.takeHeld(true);
    return this.out;
  }

  private hold(chunk: Buffer, from: number, to: number): void {
    if (this.oversize !== null) return;
    // One byte over the limit may still be the CR of a CRLF.
    const room = this.maxRecord + 1 - this.heldBytes;
    if (to - from <= room) {
      // A copy: the caller may reuse its buffer.
      this.held.push(Buffer.from(chunk.subarray(from, to)));
      this.heldBytes += to - from;
      return;
    }
    this.oversize = Buffer.concat([...this.held, chunk.subarray(from, from + room)]);
    this.held = [];
    this.heldBytes = 0;
  }

  private takeHeld(eof: boolean): void {
    const oversize = this.oversize;
    const bytes = oversize ?? Buffer.concat(this.held);
    this.held = [];
    this.heldBytes = 0;
    this.oversize = null;
    if (oversize !== null) this.refuseOversize(oversize);
    else this.readLineBytes(bytes, eof);
  }

  /** Lines `[from, last)` of `chunk`, where `chunk[last]` is a LF; decoded at once unless some are not UTF-8. */
  private readLines(chunk: Buffer, from: number, last: number): void {
    const region = chunk.subarray(from, last);
    if (!isUtf8(region)) {
      for (let p = from; p <= last; ) {
        const nl = chunk.indexOf(LF, p);
        this.readLineBytes(chunk.subarray(p, nl), false);
        p = nl + 1;
      }
      return;
    }
    const text = region.toString('utf8');
    for (let p = 0; p <= text.length; ) {
      let nl = text.indexOf('\n', p);
      if (nl < 0) nl = text.length;
      this.readLine(text.slice(p, nl), false);
      p = nl + 1;
    }
  }

  private readLineBytes(bytes: Buffer, eof: boolean): void {
    const size = bytes[bytes.length - 1] === 13 ? bytes.length - 1 : bytes.length;
    if (size > this.maxRecord) this.refuseOversize(bytes);
    else if (isUtf8(bytes)) this.readLine(bytes.toString('utf8'), eof);
    else this.refuseEncoding(bytes);
  }

  private refuseEncoding(bytes: Buffer): void {
    const line = this.line++;
    const record = ++this.recordNo;
    const text = decodeEscaped(bytes).text;
    const raw = bytes[bytes.length - 1] === 13 ? bytes.subarray(0, -1) : bytes;
    this.refuse(line, record, 'encoding', 'UTF-8 text', describeBadByte(text), raw.toString('base64'), 'base64');
  }

  private readLine(text: string, eof: boolean): void {
    const line = this.line++;
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    text = withoutCr(text);
    if (isBlank(text)) return;
    if (text.length * 3 > this.maxRecord && Buffer.byteLength(text) > this.maxRecord) {
      this.line = line;
      this.refuseOversize(Buffer.from(text));
      return;
    }
    const record = ++this.recordNo;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      const found = e instanceof Error ? e.message : String(e);
      this.refuse(line, record, eof ? 'truncated' : 'parse', 'a JSON object', found, text, 'utf8');
      return;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.refuse(line, record, 'parse', 'a JSON object', kindOf(value), text, 'utf8');
      return;
    }
    const out = this.out;
    out.values.push(value as Record<string, unknown>);
    out.lines.push(line);
    out.records.push(record);
    out.raws.push(text);
    out.count++;
  }

  private refuseOversize(bytes: Buffer): void {
    const prefix = bytes.subarray(0, this.maxRecord);
    const line = this.line++;
    const record = ++this.recordNo;
    const whole = prefix.subarray(0, prefix.length - incompleteTail(prefix));
    const expected = `line of at most ${this.maxRecord} bytes`;
    const found = 'a longer line';
    if (isUtf8(whole)) this.refuse(line, record, 'oversize', expected, found, whole.toString('utf8'), 'utf8');
    else this.refuse(line, record, 'oversize', expected, found, prefix.toString('base64'), 'base64');
  }

  private refuse(
    line: number,
    record: number,
    errorClass: ErrorClass,
    expected: string,
    found: string,
    raw: string,
    rawEncoding: 'utf8' | 'base64',
  ): void {
    this.out.errors.push({
      source: this.source,
      line,
      record,
      errorClass,
      expected,
      found: shortenFound(found),
      raw,
      rawEncoding,
    });
  }
}
