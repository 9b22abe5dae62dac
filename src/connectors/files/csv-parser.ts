import { escapePointer } from '../../runtime/json-values.ts';
import type { ErrorClass, QuarantineEntry } from '../../runtime/quarantine.ts';
import { shortenFound } from '../../runtime/scalars.ts';
import type { CellOffsets } from '../../runtime/validate.ts';
import { decodeChunk, decodeEscaped, describeBadByte, dropBom, incompleteTail, originalBytes } from './utf8.ts';

/** A record a reader refused, ready to quarantine. */
export type RecordError = QuarantineEntry;

/**
 * The records one `push`/`finish` call completed, column by column. `records` are 1-based record numbers over the
 * whole file (header and blank lines excluded), counting refused records too, so the validator can name them.
 */
export interface ParsedRows {
  count: number;
  /** The header, on the result of the call that read it (afterwards, see `CsvParser.header`). */
  readonly header?: string[];
  /** `fields[c][i]`: column c of good record i, in header order. Empty with `cells: 'offsets'` (see `cells`). */
  readonly fields: string[][];
  /** With `cells: 'offsets'`: where each cell of each good record is, instead of a string per cell in `fields`. */
  readonly cells?: CellOffsets;
  /** 1-based line of each good record's first byte. */
  readonly lines: number[];
  readonly records: number[];
  /** Each good record's text without its line ending, to quarantine it if the contract refuses it. */
  readonly raws: string[];
  readonly errors: RecordError[];
}

export interface CsvOptions {
  /** The file as quarantine entries name it (relative to the project root). */
  readonly source: string;
  readonly delimiter?: string;
  readonly quote?: string;
  /** A longer field makes its record 'oversize'; the reader skips the rest of it without buffering. 1 MiB. */
  readonly maxFieldBytes?: number;
  /**
   * Caps a whole record the same way, so many fields under the field limit cannot grow the buffer without end; also
   * what a refused record's `raw` keeps at most. 16 MiB, or 4 field limits if more.
   */
  readonly maxRecordBytes?: number;
  /**
   * 'offsets' returns good records as positions in the decoded chunk text (`ParsedRows.cells`) rather than a string
   * per cell: a reader that parses numbers from the text needs no string for them. The rows a `push` or `finish`
   * returns are then valid until the next call (their arrays are reused).
   */
  readonly cells?: 'strings' | 'offsets';
}

/** Offsets-mode storage, reused from call to call and grown as needed. */
interface CellStore {
  readonly width: number;
  starts: Int32Array;
  ends: Int32Array;
  rawStarts: Int32Array;
  rawEnds: Int32Array;
  /** The scan whose text the current rows' offsets point into; -1 before the first record of a call. */
  scan: number;
}

const LF = 10;
const CR = 13;

// Scanner states, kept between chunks.
const FIELD = 0; // before the first character of a field
const PLAIN = 1; // inside an unquoted field
const QUOTED = 2; // inside a quoted field
const QUOTE_END = 3; // the chunk ended on a quote inside a quoted field: a closing quote or half of a doubled one
const AFTER = 4; // after a closing quote
const AFTER_CR = 5; // after a closing quote and a CR

interface Fault {
  readonly errorClass: ErrorClass;
  readonly expected: string;
  readonly found: string;
  /** Index of the field at fault, -1 for the whole record. */
  readonly field: number;
}

const ENCODING: Fault = { errorClass: 'encoding', expected: 'UTF-8 text', found: '', field: -1 };

function singleAscii(s: string, what: string): number {
  if (s.length !== 1 || s.charCodeAt(0) > 127 || s === '\n' || s === '\r')
    throw new Error(`CsvParser: the ${what} must be one ASCII character other than CR or LF, got ${JSON.stringify(s)}`);
  return s.charCodeAt(0);
}

function linesIn(text: string): number {
  let count = 0;
  for (let p = text.indexOf('\n'); p !== -1; p = text.indexOf('\n', p + 1)) count++;
  return count;
}

/**
 * An incremental RFC 4180 reader: feed it byte chunks cut anywhere, get back the records each completes. The first
 * record is the header. Quoted fields may hold delimiters, doubled quotes and line breaks; records end with LF or
 * CRLF; a BOM at the start is dropped. Blank lines are skipped when the header has more than one column (there they
 * cannot be records); with a single column a blank line is a record with one empty field.
 *
 * Every data record ends up either in the rows or in `errors`: bad UTF-8 ('encoding'), a field or record over the
 * limits ('oversize'), a stray character after a closing quote or a wrong number of fields ('parse'), and, at
 * `finish`, an unterminated quote or a last record with too few fields ('truncated'). A quote inside an unquoted
 * field is taken as text. A header that cannot be read throws: without it no record can be mapped.
 */
export class CsvParser {
  /** The column names, once the first record has been read. */
  header: string[] | null = null;
  readonly source: string;
  private readonly delim: number;
  private readonly quote: number;
  private readonly quoteText: string;
  private readonly delimText: string;
  private readonly maxField: number;
  private readonly maxRecord: number;

  private utf8Tail: Buffer | null = null;
  private started = false;
  private eof = false;
  private out: ParsedRows;

  private state = FIELD;
  private line = 1;
  private nextLf = -1;
  private recLine = 1;
  private recordNo = 0;
  private readonly rec: string[] = [];
  private recLen = 0;
  private piece = '';
  private rawPiece = '';
  private doubled = false;
  private fault: Fault | null = null;
  private badBytes = false;
  private escapes: readonly number[] | null = null;
  private escapeAt = 0;
  /** Where, in the chunk being scanned, the open record and the open field start. */
  private recStart = 0;
  private fieldStart = 0;

  private readonly offsets: boolean;
  /** Offsets-mode storage, once the header (and so the width) is known. */
  private store: CellStore | null = null;
  /** The current call's cells (offsets mode), whose `texts` hold the cells of records the general scanner read. */
  private cells: {
    text: string;
    width: number;
    starts: Int32Array;
    ends: Int32Array;
    texts: Map<number, string[]>;
  } | null = null;
  /** The current call's raw texts of records the general scanner read (the others are cut from the text). */
  private rawTexts = new Map<number, string>();
  /** Counts `scan` calls, so the store can tell which scan's text its offsets point into. */
  private scanId = 0;
  private scanText = '';
  /** Whether records of the running scan may be stored as offsets (its text is the one the call's offsets use). */
  private fast = false;

  constructor(options: CsvOptions) {
    this.source = options.source;
    this.delim = singleAscii(options.delimiter ?? ',', 'delimiter');
    this.quote = singleAscii(options.quote ?? '"', 'quote');
    if (this.delim === this.quote) throw new Error('CsvParser: the delimiter and the quote must differ');
    this.quoteText = String.fromCharCode(this.quote);
    this.delimText = String.fromCharCode(this.delim);
    this.maxField = options.maxFieldBytes ?? 1 << 20;
    this.maxRecord = options.maxRecordBytes ?? Math.max(16 << 20, 4 * this.maxField);
    this.offsets = options.cells === 'offsets';
    this.out = this.emptyRows();
  }

  /** Reads a chunk; returns the records it completed. */
  push(chunk: Buffer): ParsedRows {
    this.out = this.emptyRows();
    let bytes = chunk;
    if (this.utf8Tail !== null) {
      bytes = Buffer.concat([this.utf8Tail, chunk]);
      this.utf8Tail = null;
    }
    const k = incompleteTail(bytes);
    if (k > 0) {
      this.utf8Tail = Buffer.from(bytes.subarray(bytes.length - k));
      bytes = bytes.subarray(0, bytes.length - k);
    }
    if (bytes.length > 0) this.decodeAndScan(bytes, false);
    return this.out;
  }

  /** Ends the input: completes a last record without a line break, or reports it as truncated. */
  finish(): ParsedRows {
    this.out = this.emptyRows();
    if (this.utf8Tail !== null) {
      this.decodeAndScan(this.utf8Tail, true);
      this.utf8Tail = null;
    }
    if (this.rawPiece !== '') {
      this.eof = true;
      if (this.state === QUOTED) this.unterminated();
      else this.scan('\n', null);
    }
    return this.out;
  }

  private emptyRows(header?: string[]): ParsedRows {
    const width = this.header === null ? 0 : this.header.length;
    const fields = Array.from({ length: width }, (): string[] => []);
    const store = this.store;
    if (store === null) return { count: 0, fields, lines: [], records: [], raws: [], errors: [] };
    store.scan = -1;
    const cells = { text: '', width, starts: store.starts, ends: store.ends, texts: new Map<number, string[]>() };
    const rawTexts = new Map<number, string>();
    this.cells = cells;
    this.rawTexts = rawTexts;
    let raws: string[] | null = null;
    const rows: ParsedRows = {
      count: 0,
      ...(header === undefined ? {} : { header }),
      fields,
      cells,
      lines: [],
      records: [],
      errors: [],
      // Built on first use only (a refused record needs its text); good records never need it.
      get raws(): string[] {
        if (raws === null) {
          raws = new Array(rows.count);
          for (let i = 0; i < rows.count; i++)
            raws[i] = rawTexts.get(i) ?? cells.text.slice(store.rawStarts[i], store.rawEnds[i]);
        }
        return raws;
      },
    };
    return rows;
  }

  private decodeAndScan(bytes: Buffer, escapeAll: boolean): void {
    let t = escapeAll ? decodeEscaped(bytes) : decodeChunk(bytes);
    if (!this.started && t.text.length > 0) {
      this.started = true;
      t = dropBom(t);
    }
    this.scan(t.text, t.escapes);
  }

  private scan(s: string, escapes: readonly number[] | null): void {
    this.escapes = escapes;
    this.escapeAt = 0;
    this.nextLf = -1;
    this.recStart = 0;
    this.fieldStart = 0;
    this.scanId++;
    this.scanText = s;
    this.bindCells(s);
    const n = s.length;
    let i = 0;
    while (i < n) {
      if (this.state === FIELD && i === this.recStart && this.rawPiece === '') {
        if (this.fast) {
          const end = this.quickCells(s, i);
          if (end > 0) {
            this.recStart = i = end;
            continue;
          }
        }
        const end = this.quickRecord(s, i);
        if (end > 0) {
          this.endRecord(s, i, end - 1);
          this.recStart = i = end;
          continue;
        }
      }
      i = this.step(s, i);
    }
    if (this.recStart < n) this.carry(s);
  }

  /** One move of the general scanner from `i`; returns where to go on (the chunk's length once it is used up). */
  private step(s: string, i: number): number {
    switch (this.state) {
      case FIELD:
        return this.startField(s, i);
      case PLAIN:
        return this.plain(s, i);
      case QUOTED:
        return this.quoted(s, i);
      case QUOTE_END:
        return this.quoteAtChunkEnd(s);
      default:
        return this.afterQuote(s, i);
    }
  }

  private startField(s: string, i: number): number {
    if (s.charCodeAt(i) === this.quote) {
      this.state = QUOTED;
      this.doubled = false;
      this.fieldStart = i + 1;
      return i + 1;
    }
    this.state = PLAIN;
    this.fieldStart = i;
    return i;
  }

  private plain(s: string, i: number): number {
    const n = s.length;
    let c = 0;
    for (; i < n; i++) {
      c = s.charCodeAt(i);
      if (c === this.delim || c === LF) break;
    }
    if (i === n) return n;
    this.addPlain(s.slice(this.fieldStart, i), c === LF);
    this.state = FIELD;
    if (c === LF) this.endLine(s, i);
    return i + 1;
  }

  private quoted(s: string, i: number): number {
    const n = s.length;
    const j = s.indexOf(this.quoteText, i);
    this.countLines(s, i, j < 0 ? n : j);
    if (j < 0) return n;
    if (j + 1 === n) {
      this.state = QUOTE_END;
      return n;
    }
    if (s.charCodeAt(j + 1) === this.quote) {
      this.doubled = true;
      return j + 2;
    }
    this.addQuoted(s.slice(this.fieldStart, j));
    this.state = AFTER;
    return j + 1;
  }

  /** The previous chunk ended on a quote inside a quoted field; the first character of this one tells which. */
  private quoteAtChunkEnd(s: string): number {
    if (s.charCodeAt(0) === this.quote) {
      this.piece += this.quoteText + this.quoteText;
      this.doubled = true;
      this.state = QUOTED;
      this.fieldStart = 1;
      return 1;
    }
    this.addQuoted('');
    this.state = AFTER;
    return 0;
  }

  private afterQuote(s: string, i: number): number {
    const c = s.charCodeAt(i);
    if (c === LF) {
      this.state = FIELD;
      this.endLine(s, i);
    } else if (this.state === AFTER && c === this.delim) this.state = FIELD;
    else if (this.state === AFTER && c === CR) this.state = AFTER_CR;
    else {
      // The rest of the field is junk; scan on as if unquoted to find where the record ends.
      this.strayAfterQuote(s, i);
      this.state = PLAIN;
      this.fieldStart = i;
      return i;
    }
    return i + 1;
  }

  private endLine(s: string, lf: number): void {
    this.endRecord(s, this.recStart, lf);
    this.recStart = lf + 1;
  }

  /** Keeps the open record's text and its open field's text for the next chunk. */
  private carry(s: string): void {
    const n = s.length;
    const { recStart, fieldStart } = this;
    if (this.fault === null && (this.state === PLAIN || this.state === QUOTED || this.state === QUOTE_END)) {
      this.piece += s.slice(fieldStart, this.state === QUOTE_END ? n - 1 : n);
      if (this.tooLong(this.piece, this.maxField)) {
        this.setFault('oversize', `field of at most ${this.maxField} bytes`, 'a longer field', this.recLen);
        this.piece = '';
      }
    }
    this.checkEscapes(recStart, n);
    if (this.rawPiece.length > this.maxRecord) return;
    this.rawPiece += s.slice(recStart, n);
    if (this.tooLong(this.rawPiece, this.maxRecord))
      this.setFault('oversize', `record of at most ${this.maxRecord} bytes`, 'a longer record', -1);
  }

  /**
   * The fast path for the common record: whole in this chunk, within the limits, well-formed. Reads its fields into
   * `rec` and returns the index after its LF; returns -1, having changed nothing else, when the general scanner must
   * take the record (it runs past the chunk, or is too long or malformed).
   */
  private quickRecord(s: string, i: number): number {
    const n = s.length;
    const d = this.delim;
    const q = this.quote;
    const rec = this.rec;
    const maxChars = this.maxField / 3;
    let k = 0;
    let lines = 0;
    let c = 0;
    while (c !== LF) {
      if (i >= n) return -1;
      let text: string;
      if (s.charCodeAt(i) === q) {
        const j = this.closingQuote(s, i + 1);
        if (j < 0 || j + 1 >= n) return -1;
        text = s.slice(i + 1, j);
        if (this.doubled) text = text.replaceAll(this.quoteText + this.quoteText, this.quoteText);
        lines += linesIn(text);
        c = s.charCodeAt(j + 1);
        i = j + 2;
        if (c === CR) {
          if (i >= n || s.charCodeAt(i) !== LF) return -1;
          c = LF;
          i++;
        } else if (c !== d && c !== LF) return -1;
      } else {
        let j = i;
        for (; j < n; j++) {
          c = s.charCodeAt(j);
          if (c === d || c === LF) break;
        }
        if (j === n) return -1;
        text = s.slice(i, c === LF && j > i && s.charCodeAt(j - 1) === CR ? j - 1 : j);
        i = j + 1;
      }
      if (text.length > maxChars) return -1;
      rec[k++] = text;
    }
    this.recLen = k;
    this.line += lines;
    return i;
  }

  /**
   * Offsets mode: lets the records of this scan be stored as offsets into `s`, when the call's rows have no offsets
   * into another text yet and `s` holds no escaped bytes (a record with them is refused through the general path).
   */
  private bindCells(s: string): void {
    const store = this.store;
    const cells = this.cells;
    this.fast = false;
    if (store === null || cells === null || this.escapes !== null) return;
    if (store.scan === -1) {
      store.scan = this.scanId;
      cells.text = s;
    }
    this.fast = store.scan === this.scanId;
  }

  /** Room for the cells of record `row` in the offsets store. */
  private ensureRow(store: CellStore, row: number): void {
    if ((row + 1) * store.width <= store.starts.length && row < store.rawStarts.length) return;
    const grow = (a: Int32Array, size: number): Int32Array => {
      const b = new Int32Array(Math.max(size, a.length * 2));
      b.set(a);
      return b;
    };
    store.starts = grow(store.starts, (row + 1) * store.width);
    store.ends = grow(store.ends, (row + 1) * store.width);
    store.rawStarts = grow(store.rawStarts, row + 1);
    store.rawEnds = grow(store.rawEnds, row + 1);
    const cells = this.cells as NonNullable<CsvParser['cells']>;
    cells.starts = store.starts;
    cells.ends = store.ends;
  }

  /**
   * The offsets-mode fast path: like {@link quickRecord}, for a record that is also complete, of the header's width,
   * not blank, without doubled quotes and surely within the size limits, it stores the cells' positions and accepts
   * the record without building a string. Returns -1, having accepted nothing, for the general scanner to take it.
   */
  private quickCells(s: string, i: number): number {
    const store = this.store as CellStore;
    const out = this.out;
    const row = out.count;
    this.ensureRow(store, row);
    const w = store.width;
    const base = row * w;
    const starts = store.starts;
    const ends = store.ends;
    const n = s.length;
    const d = this.delim;
    const q = this.quote;
    const maxChars = this.maxField / 3;
    const recStart = i;
    const dt = this.delimText;
    let k = 0;
    let lines = 0;
    let c = 0;
    // Positions of the next LF and delimiter found so far (before `i` when not searched yet).
    let lf = -1;
    let next = -1;
    while (c !== LF) {
      if (i >= n || k >= w) return -1;
      let a: number;
      let b: number;
      if (s.charCodeAt(i) === q) {
        const j = this.closingQuote(s, i + 1);
        if (j < 0 || j + 1 >= n || this.doubled) return -1;
        a = i + 1;
        b = j;
        for (let p = s.indexOf('\n', a); p !== -1 && p < b; p = s.indexOf('\n', p + 1)) lines++;
        c = s.charCodeAt(j + 1);
        i = j + 2;
        if (c === CR) {
          if (i >= n || s.charCodeAt(i) !== LF) return -1;
          c = LF;
          i++;
        } else if (c !== d && c !== LF) return -1;
      } else {
        // The next delimiter, unless the line ends first: two native searches (vectorised) instead of a loop over
        // every character, which measured twice as slow for fields of a few characters.
        if (lf < i) {
          lf = s.indexOf('\n', i);
          if (lf < 0) return -1;
        }
        if (next < i) {
          next = s.indexOf(dt, i);
          if (next < 0) next = n;
        }
        let j: number;
        if (next < lf) {
          j = next;
          c = d;
        } else {
          j = lf;
          c = LF;
        }
        a = i;
        b = c === LF && j > i && s.charCodeAt(j - 1) === CR ? j - 1 : j;
        i = j + 1;
      }
      if (b - a > maxChars) return -1;
      starts[base + k] = a;
      ends[base + k] = b;
      k++;
    }
    let rawEnd = i - 1;
    if (rawEnd > recStart && s.charCodeAt(rawEnd - 1) === CR) rawEnd--;
    // Blank lines, short records and records that may be over the limit: the general path decides.
    if (k !== w || rawEnd === recStart || (rawEnd - recStart) * 3 > this.maxRecord) return -1;
    this.line += lines;
    out.lines.push(this.recLine);
    this.recLine = ++this.line;
    out.records.push(++this.recordNo);
    store.rawStarts[row] = recStart;
    store.rawEnds[row] = rawEnd;
    out.count++;
    return i;
  }

  /** Index of the quote closing a quoted field whose text starts at `i` (-1 if not in `s`); sets `doubled`. */
  private closingQuote(s: string, i: number): number {
    this.doubled = false;
    for (;;) {
      const j = s.indexOf(this.quoteText, i);
      if (j < 0 || s.charCodeAt(j + 1) !== this.quote) return j;
      this.doubled = true;
      i = j + 2;
    }
  }

  private tooLong(text: string, max: number): boolean {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: short text needs no byte count.
    return text.length * 3 > max && Buffer.byteLength(text) > max;
  }

  private countLines(s: string, from: number, to: number): void {
    let p = this.nextLf;
    if (p < from) p = s.indexOf('\n', from);
    while (p !== -1 && p < to) {
      this.line++;
      p = s.indexOf('\n', p + 1);
    }
    this.nextLf = p === -1 ? s.length : p;
  }

  private checkEscapes(from: number, to: number): void {
    const e = this.escapes;
    if (e === null) return;
    let k = this.escapeAt;
    while (k < e.length && e[k] < from) k++;
    if (k < e.length && e[k] < to) this.badBytes = true;
    this.escapeAt = k;
  }

  private setFault(errorClass: ErrorClass, expected: string, found: string, field: number): void {
    if (this.fault === null) this.fault = { errorClass, expected, found, field };
  }

  private addPlain(text: string, last: boolean): void {
    if (this.piece !== '') {
      text = this.piece + text;
      this.piece = '';
    }
    if (last && text.charCodeAt(text.length - 1) === CR) text = text.slice(0, -1);
    this.addField(text);
  }

  private addQuoted(text: string): void {
    if (this.piece !== '') {
      text = this.piece + text;
      this.piece = '';
    }
    if (this.doubled) text = text.replaceAll(this.quoteText + this.quoteText, this.quoteText);
    this.addField(text);
  }

  private addField(text: string): void {
    if (this.fault !== null) return;
    if (this.tooLong(text, this.maxField)) {
      this.setFault(
        'oversize',
        `field of at most ${this.maxField} bytes`,
        `${Buffer.byteLength(text)} bytes`,
        this.recLen,
      );
      return;
    }
    this.rec[this.recLen++] = text;
  }

  private strayAfterQuote(s: string, i: number): void {
    const found = `${JSON.stringify(s.slice(i, i + 12).split('\n')[0])} after the closing quote`;
    this.setFault('parse', 'delimiter or line end after a closing quote', found, this.recLen - 1);
  }

  private endRecord(s: string, recStart: number, end: number): void {
    this.checkEscapes(recStart, end);
    let raw = s.slice(recStart, end);
    if (this.rawPiece !== '') {
      raw = this.rawPiece.length > this.maxRecord ? this.rawPiece : this.rawPiece + raw;
      this.rawPiece = '';
    }
    if (raw.charCodeAt(raw.length - 1) === CR) raw = raw.slice(0, -1);
    const line = this.recLine;
    this.recLine = ++this.line;
    if (this.fault === null && this.tooLong(raw, this.maxRecord))
      this.setFault('oversize', `record of at most ${this.maxRecord} bytes`, 'a longer record', -1);
    this.completeRecord(raw, line);
  }

  private completeRecord(raw: string, line: number): void {
    const header = this.header;
    if (raw === '' && (header === null || header.length !== 1)) {
      // A blank line: nothing to read, and nothing to lose.
    } else if (header === null) {
      this.takeHeader(line);
    } else {
      const record = ++this.recordNo;
      const fault = this.recordFault(header.length);
      if (this.badBytes) this.reject(raw, line, record, ENCODING);
      else if (fault !== null) this.reject(raw, line, record, fault);
      else this.accept(raw, line, record);
    }
    this.resetRecord();
  }

  private recordFault(width: number): Fault | null {
    if (this.fault !== null) return this.fault;
    if (this.recLen === width) return null;
    const errorClass = this.eof && this.recLen < width ? 'truncated' : 'parse';
    return { errorClass, expected: `${width} fields`, found: `${this.recLen} fields`, field: -1 };
  }

  private accept(raw: string, line: number, record: number): void {
    const out = this.out;
    const fields = out.fields;
    const rec = this.rec;
    const store = this.store;
    if (store !== null) {
      // Offsets mode, a record the general scanner read: its cells are strings already; keep them as they are.
      const row = out.count;
      this.ensureRow(store, row);
      for (let c = 0; c < store.width; c++) store.starts[row * store.width + c] = -1;
      (this.cells as NonNullable<CsvParser['cells']>).texts.set(row, rec.slice(0, store.width));
      this.rawTexts.set(row, raw);
      out.lines.push(line);
      out.records.push(record);
      out.count++;
      return;
    }
    for (let c = 0; c < fields.length; c++) fields[c].push(rec[c]);
    out.lines.push(line);
    out.records.push(record);
    out.raws.push(raw);
    out.count++;
  }

  private reject(raw: string, line: number, record: number, fault: Fault): void {
    const bad = fault === ENCODING;
    const header = this.header ?? [];
    const name = fault.field < header.length ? header[fault.field] : String(fault.field);
    const entry: RecordError = {
      source: this.source,
      line,
      record,
      ...(fault.field < 0 ? {} : { field: `/${escapePointer(name)}` }),
      errorClass: fault.errorClass,
      expected: fault.expected,
      found: shortenFound(bad ? describeBadByte(raw) : fault.found),
      raw: bad ? originalBytes(raw).toString('base64') : raw,
      rawEncoding: bad ? 'base64' : 'utf8',
    };
    this.out.errors.push(entry);
  }

  private takeHeader(line: number): void {
    const problem = this.badBytes ? 'it is not valid UTF-8' : this.fault?.expected;
    if (problem !== undefined) {
      const detail = this.badBytes ? problem : `expected ${problem}, found ${this.fault?.found}`;
      throw new Error(`${this.source}:${line}: cannot read the CSV header: ${detail}`);
    }
    this.header = this.rec.slice(0, this.recLen);
    const errors = this.out.errors;
    if (this.offsets) {
      const width = this.header.length;
      const rows = 4096;
      this.store = {
        width,
        starts: new Int32Array(rows * width),
        ends: new Int32Array(rows * width),
        rawStarts: new Int32Array(rows),
        rawEnds: new Int32Array(rows),
        scan: -1,
      };
      // The rest of this call's records go to offsets-mode rows, from this scan's text on.
      this.out = this.emptyRows(this.header);
      for (const e of errors) this.out.errors.push(e);
      if (this.escapes === null && this.store !== null) {
        this.store.scan = this.scanId;
        (this.cells as NonNullable<CsvParser['cells']>).text = this.scanText;
        this.fast = true;
      }
      return;
    }
    this.out = { ...this.out, header: this.header, fields: this.header.map((): string[] => []) };
  }

  private unterminated(): void {
    const line = this.recLine;
    if (this.header === null)
      throw new Error(`${this.source}:${line}: cannot read the CSV header: the file ends inside a quoted field`);
    this.setFault('truncated', 'closing quote', 'end of file', this.recLen);
    const raw = this.rawPiece;
    this.rawPiece = '';
    this.completeRecord(raw, line);
  }

  private resetRecord(): void {
    this.recLen = 0;
    this.fault = null;
    this.badBytes = false;
    this.piece = '';
  }
}
