import { type DataType, type Field, typeToString, type Value } from '../../expr/types.ts';
import { isCdcColumn } from '../../flow/cdc.ts';
import type { Contract } from '../../flow/contract.ts';
import { BAD, type Checker, DATE_TEXT, fieldChecker, newFault } from '../../runtime/json-values.ts';
import type { ErrorClass } from '../../runtime/quarantine.ts';
import {
  parseBool,
  parseDate,
  parseDecimal,
  parseFloat64,
  parseTimestamp,
  shortenFound,
} from '../../runtime/scalars.ts';

/**
 * How PostgreSQL columns meet a CDC dataset's contract: which column types a contract type may read (checked when
 * the run starts and for every Relation message, so a schema change is contract drift), and the conversion of the
 * server's text output into napkin values (a value that does not convert is quarantined with its table and LSN).
 */

/** What a column's type is, for the contract: a kind napkin can read it as. */
export type PgKind = 'int' | 'float' | 'numeric' | 'bool' | 'text' | 'enum' | 'date' | 'timestamp' | 'json' | 'other';

/** Built-in type OIDs (fixed across PostgreSQL versions). */
const BUILTIN: ReadonlyMap<number, readonly [PgKind, string]> = new Map([
  [16, ['bool', 'boolean']],
  [18, ['text', '"char"']],
  [19, ['text', 'name']],
  [20, ['int', 'bigint']],
  [21, ['int', 'smallint']],
  [23, ['int', 'integer']],
  [25, ['text', 'text']],
  [26, ['int', 'oid']],
  [114, ['json', 'json']],
  [700, ['float', 'real']],
  [701, ['float', 'double precision']],
  [1042, ['text', 'character']],
  [1043, ['text', 'character varying']],
  [1082, ['date', 'date']],
  [1114, ['timestamp', 'timestamp without time zone']],
  [1184, ['timestamp', 'timestamp with time zone']],
  [1700, ['numeric', 'numeric']],
  [2950, ['text', 'uuid']],
  [3802, ['json', 'jsonb']],
]);

/** A non-built-in type the table uses (an enum, a domain): its name and what it reads as. */
export interface PgType {
  readonly name: string;
  readonly kind: PgKind;
}

/** Types of the table's columns beyond the built-in ones, by OID (from pg_type when the run starts). */
export type PgTypes = Map<number, PgType>;

export function pgType(oid: number, types: ReadonlyMap<number, PgType>): PgType {
  const b = BUILTIN.get(oid);
  if (b !== undefined) return { kind: b[0], name: b[1] };
  return types.get(oid) ?? { kind: 'other', name: `type ${oid}` };
}

/** The kind a type of pg_type reads as: built-in by OID (of its base type, for a domain), else by its category. */
export function kindOf(baseOid: number, typtype: string, typcategory: string): PgKind {
  const b = BUILTIN.get(baseOid);
  if (b !== undefined) return b[0];
  if (typtype === 'e') return 'enum';
  if (typcategory === 'S') return 'text';
  return 'other';
}

/** The contract types a column of each kind may be read as. */
function accepts(kind: PgKind, t: DataType): boolean {
  switch (kind) {
    case 'int':
      return t.kind === 'int64' || t.kind === 'float64' || t.kind === 'decimal';
    case 'float':
      return t.kind === 'float64';
    case 'numeric':
      return t.kind === 'decimal' || t.kind === 'float64';
    case 'bool':
      return t.kind === 'bool';
    case 'text':
    case 'enum':
      return t.kind === 'string' || t.kind === 'enum';
    case 'date':
      return t.kind === 'date';
    case 'timestamp':
      return t.kind === 'timestamp';
    case 'json':
      return t.kind === 'string' || t.kind === 'list' || t.kind === 'struct';
    case 'other':
      return t.kind === 'string';
    default:
      return kind satisfies never;
  }
}

/** One column of the table as the server describes it (a Relation message, or pg_attribute at start). */
export interface TableColumn {
  readonly name: string;
  readonly typeOid: number;
}

/** How the table's columns differ from the contract's table columns (the contract minus the changelog columns). */
export interface ColumnDrift {
  /** Table columns the contract does not declare (closed contracts only). */
  readonly added: readonly string[];
  /** Contract columns the table no longer has. */
  readonly removed: readonly string[];
  /** Columns whose type the contract type cannot read: `amount numeric → int64`. */
  readonly changed: readonly string[];
}

export function columnDrift(
  contract: Contract,
  columns: readonly TableColumn[],
  types: ReadonlyMap<number, PgType>,
): ColumnDrift | null {
  const fields = contract.schema.fields.filter((f) => !isCdcColumn(f.name));
  const byName = new Map(columns.map((c) => [c.name, c]));
  const declared = new Set(fields.map((f) => f.name));
  const added =
    contract.content === 'closed'
      ? columns.filter((c) => !declared.has(c.name)).map((c) => `${c.name} (${pgType(c.typeOid, types).name})`)
      : [];
  const removed = fields.filter((f) => !byName.has(f.name)).map((f) => `${f.name} (${typeToString(f.type)})`);
  const changed: string[] = [];
  for (const f of fields) {
    const c = byName.get(f.name);
    if (c === undefined) continue;
    const pt = pgType(c.typeOid, types);
    if (!accepts(pt.kind, f.type)) changed.push(`${f.name} is ${pt.name}, the contract says ${typeToString(f.type)}`);
  }
  return added.length + removed.length + changed.length === 0 ? null : { added, removed, changed };
}

/** `added x (integer); removed y (string); changed: z is text, the contract says int64` */
export function describeDrift(d: ColumnDrift): string {
  const parts: string[] = [];
  if (d.added.length > 0) parts.push(`added ${d.added.join(', ')}`);
  if (d.removed.length > 0) parts.push(`removed ${d.removed.join(', ')}`);
  if (d.changed.length > 0) parts.push(`changed: ${d.changed.join('; ')}`);
  return parts.join('; ');
}

/** Why a value did not convert. */
export interface ValueFault {
  errorClass: ErrorClass;
  expected: string;
  found: string;
}

/** Converts one column's text output to the field's type: the value, or BAD with `fault` filled in. */
export type Converter = (text: string, fault: ValueFault) => Value | typeof BAD;

export function converterFor(field: Field, content: Contract['content']): Converter {
  const t = field.type;
  const expected = typeToString(t);
  const bad = (f: ValueFault, errorClass: ErrorClass, want: string, text: string): typeof BAD => {
    f.errorClass = errorClass;
    f.expected = want;
    f.found = shortenFound(text);
    return BAD;
  };
  const parsed = (parse: (s: string) => Value | undefined, errorClass: ErrorClass, want: string): Converter => {
    return (s, f) => {
      const v = parse(s);
      return v === undefined ? bad(f, errorClass, want, s) : v;
    };
  };
  switch (t.kind) {
    case 'string':
      return (s) => s;
    case 'int64':
      return parsed(parsePgInt, 'type', `${expected} (an integer within ±2^53)`);
    case 'float64':
      return parsed(parseFloat64, 'type', `${expected} (finite)`);
    case 'decimal':
      return parsed((s) => parseDecimal(s, t.precision, t.scale), 'type', expected);
    case 'bool':
      return parsed((s) => (s === 't' ? true : s === 'f' ? false : parseBool(s)), 'type', expected);
    case 'date':
      return parsed(parseDate, 'timestamp', DATE_TEXT);
    case 'timestamp':
      return parsed(parsePgTimestamp, 'timestamp', 'a timestamp within napkin’s range (not infinity, not BC)');
    case 'enum': {
      const symbols = new Set(t.symbols);
      return (s, f) => (symbols.has(s) ? s : bad(f, 'enum', `one of ${t.symbols.join('|')}`, s));
    }
    case 'list':
    case 'struct': {
      const fault = newFault();
      const check: Checker = fieldChecker(fault, { type: t, nullable: false }, content);
      return (s, f) => {
        let v: unknown;
        try {
          v = JSON.parse(s);
        } catch {
          return bad(f, 'type', `${expected} as JSON`, s);
        }
        const out = check(v);
        if (out !== BAD) return out;
        f.errorClass = fault.errorClass;
        f.expected = fault.pointer === '' ? fault.expected : `${fault.expected} at ${fault.pointer}`;
        f.found = fault.found;
        return BAD;
      };
    }
    case 'null':
      return (s, f) => bad(f, 'type', 'null', s);
    default:
      return t satisfies never;
  }
}

function parsePgInt(s: string): number | undefined {
  if (!/^[+-]?\d{1,16}$/.test(s)) return undefined;
  const v = Number(s);
  return Number.isSafeInteger(v) ? v : undefined;
}

/**
 * PostgreSQL's ISO output (the replication session runs with TimeZone UTC and DateStyle ISO): `2024-01-02
 * 10:00:00.123456+00` for timestamptz, without the zone for timestamp (read as UTC). Sub-millisecond digits are
 * truncated (napkin keeps ms); `infinity` and BC dates are out of range.
 */
export function parsePgTimestamp(s: string): number | undefined {
  let text = s;
  if (/[+-]\d\d$/.test(text)) text = `${text}:00`;
  else if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(text)) text = `${text}Z`;
  return parseTimestamp(text);
}
