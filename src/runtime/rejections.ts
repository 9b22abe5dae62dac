import type { Field } from '../expr/types.ts';
import { typeToString } from '../expr/types.ts';
import { driftExpected, escapePointer, type Fault, keyIn, knownKeys, showJson } from './json-values.ts';
import type { ErrorClass, QuarantineEntry } from './quarantine.ts';
import { shortenFound } from './scalars.ts';

/** Kinds of first error a compiled validator reports (numbers, as the generated code passes them). */
export const TYPE = 0; // the value is not of the column's type (class and expected from the column)
export const MISSING = 1; // a required value is empty, null or absent
export const NO_COLUMN = 2; // a required column is not in the header
export const NESTED = 3; // a checker refused it: the details are in the shared fault

/** What an entry for column `k` says on a type error. */
export interface ColumnFacts {
  readonly field: Field;
  /** The column's name in the source (a former name when the source still uses it). */
  readonly sourceName: string;
  readonly errorClass: ErrorClass;
  readonly expected: string;
}

/** The records a validator reads: any reader's output with the fields it needs. */
export interface SourceRecords {
  readonly count: number;
  readonly raws: readonly string[];
  /** 1-based line of each record, for text files. */
  readonly lines?: ArrayLike<number>;
  /** 1-based record numbers; without them record i is `recordOffset + i + 1`. */
  readonly records?: ArrayLike<number>;
}

/**
 * Collects the first error of the record being validated, then turns it into the record's one quarantine entry.
 * Compiled validators call it only for bad records, so building texts here costs good records nothing.
 */
export class Rejections {
  private pointer = '';
  private errorClass: ErrorClass = 'type';
  private expected = '';
  private found = '';

  constructor(
    private readonly source: string,
    private readonly columns: readonly ColumnFacts[],
    private readonly fault: Fault,
  ) {}

  /** A cell of a text column. */
  text(k: number, kind: number, text: string): void {
    const c = this.columns[k];
    this.column(c, c.sourceName, kind, text.length === 0 ? 'empty field' : shortenFound(text));
  }

  /** A value of a JSON record; `record` tells which key (current or former name) held it. */
  value(k: number, kind: number, v: unknown, record: Record<string, unknown>): void {
    const c = this.columns[k];
    const key = keyIn(record, c.field) ?? c.field.name;
    this.column(c, key, kind, showJson(v));
  }

  /** A column of a text file the contract does not declare. */
  unknownColumn(name: string, text: string, fields: readonly Field[]): void {
    this.set(`/${escapePointer(name)}`, 'drift', driftExpected(name, fields), shortenFound(text));
  }

  /** Counts the keys of a JSON record the contract does not declare; reports the first when `first`. */
  unknownKeys(record: Record<string, unknown>, fields: readonly Field[], first: boolean): number {
    const known = knownKeys(fields);
    const extra = Object.keys(record).filter((k) => !known.has(k));
    if (first && extra.length > 0)
      this.set(`/${escapePointer(extra[0])}`, 'drift', driftExpected(extra[0], fields), showJson(record[extra[0]]));
    return extra.length;
  }

  /** A record that is not a JSON object at all. */
  notObject(v: unknown): void {
    this.set('', 'type', 'a JSON object', showJson(v));
  }

  private column(c: ColumnFacts, name: string, kind: number, found: string): void {
    const pointer = `/${escapePointer(name)}`;
    if (kind === NESTED) {
      const f = this.fault;
      this.set(pointer + f.pointer, f.errorClass, f.expected, f.found);
    } else if (kind === MISSING) this.set(pointer, 'missing', typeToString(c.field.type), found);
    else if (kind === NO_COLUMN) this.set(pointer, 'drift', `column ${c.field.name}`, 'no such column in the header');
    else this.set(pointer, c.errorClass, c.expected, found);
  }

  private set(pointer: string, errorClass: ErrorClass, expected: string, found: string): void {
    this.pointer = pointer;
    this.errorClass = errorClass;
    this.expected = expected;
    this.found = found;
  }

  /** The entry for record `i` of `rows`, which had `bad` bad fields. */
  entry(rows: SourceRecords, i: number, recordOffset: number, bad: number): QuarantineEntry {
    const line = rows.lines?.[i];
    return {
      source: this.source,
      ...(line === undefined ? {} : { line }),
      record: rows.records?.[i] ?? recordOffset + i + 1,
      ...(this.pointer === '' ? {} : { field: this.pointer }),
      errorClass: this.errorClass,
      expected: this.expected,
      found: withOthers(this.found, bad - 1),
      raw: rows.raws[i],
      rawEncoding: 'utf8',
    };
  }
}

/** `found`, noting how many other fields of the record were bad too, within the 80 characters. */
function withOthers(found: string, others: number): string {
  if (others <= 0) return found;
  const note = ` (+${others} more bad field${others === 1 ? '' : 's'})`;
  const room = 80 - note.length;
  return (found.length <= room ? found : `${found.slice(0, room - 1)}…`) + note;
}
