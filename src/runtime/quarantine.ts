import { createHash } from 'node:crypto';

/** Why a record was refused at the boundary, as `napkin quarantine show` groups them. */
export type ErrorClass =
  | 'encoding' // bytes are not valid UTF-8
  | 'oversize' // a field or record longer than the reader's limit
  | 'truncated' // the file ends inside a record (an unterminated quote, a partial line)
  | 'parse' // the record is not well-formed (bad JSON, wrong number of CSV fields)
  | 'missing' // a required field is absent or null
  | 'type' // a value does not have the declared type
  | 'enum' // a value is not one of the enum's symbols
  | 'timestamp' // a timestamp or date that does not parse or is out of range (T4)
  | 'drift'; // a field the contract does not declare, or a declared field the source no longer has

/**
 * A record refused at the boundary. It keeps the original text so it can be inspected, fixed and replayed;
 * nothing is dropped silently.
 */
export interface QuarantineEntry {
  /** The file (relative to the project root) or table the record came from. */
  readonly source: string;
  /** 1-based line of the record's first byte, for text files. */
  readonly line?: number;
  /** 1-based record number within the source. */
  readonly record: number;
  /** JSON pointer of the offending field (`/amount`), absent when the whole record is bad. */
  readonly field?: string;
  readonly errorClass: ErrorClass;
  /** What the contract expected, e.g. `int64`, `one of OPEN|PAID`, `4 fields`. */
  readonly expected: string;
  /** What was found, shortened to at most 80 characters. */
  readonly found: string;
  /** The original record: its text when it is valid UTF-8, else its bytes as base64. */
  readonly raw: string;
  readonly rawEncoding: 'utf8' | 'base64';
}

/** One line for people: where, which field, what was expected and found. */
export function describeEntry(e: QuarantineEntry): string {
  const where = e.line === undefined ? `${e.source} record ${e.record}` : `${e.source}:${e.line}`;
  const field = e.field === undefined ? '' : ` field ${e.field}`;
  return `${where}${field}: ${e.errorClass} error, expected ${e.expected}, found ${e.found}`;
}

/**
 * A quarantined record's stable id: the first 12 hex digits of SHA-256 over its dataset, source, record number and
 * original text (NUL-separated). The same input gives the same id in every run, epoch and generation, and the same
 * record read by two flows has one id; a record that changes or moves in its file is a different record. The
 * warehouse computes the same value in SQL for rows written before ids were stored (`Warehouse` setup).
 */
export function quarantineId(dataset: string, e: Pick<QuarantineEntry, 'source' | 'record' | 'raw'>): string {
  return createHash('sha256').update(`${dataset}\0${e.source}\0${e.record}\0${e.raw}`).digest('hex').slice(0, 12);
}

/** What a quarantine id looks like: 12 lowercase hex digits. */
export const QUARANTINE_ID = /^[0-9a-f]{12}$/;
