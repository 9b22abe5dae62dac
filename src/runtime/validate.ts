import type { DataType, Field } from '../expr/types.ts';
import { typeToString } from '../expr/types.ts';
import type { Contract } from '../flow/contract.ts';
import { type Batch, type BatchBuilder, type Column, newColumns } from './batch.ts';
import {
  BAD,
  type Checker,
  DATE_TEXT,
  type Fault,
  fail,
  fieldChecker,
  isPlainObject,
  newFault,
  ownValue,
  TIMESTAMP_TEXT,
} from './json-values.ts';
import type { QuarantineEntry } from './quarantine.ts';
import { type ColumnFacts, MISSING, NESTED, NO_COLUMN, Rejections, type SourceRecords, TYPE } from './rejections.ts';
import {
  parseBool,
  parseBoolAt,
  parseDate,
  parseDateAt,
  parseDecimal,
  parseDecimalAt,
  parseFloat64,
  parseFloat64At,
  parseInt64,
  parseInt64At,
  parseTimestamp,
  parseTimestampAt,
  shortenFound,
} from './scalars.ts';

/**
 * Compiled contract validators: the boundary where text and JSON become typed columns. Each contract gets one
 * generated function (a loop over the records with one specialised step per column), so validating a record costs
 * no per-field dispatch; a record with a bad field becomes exactly one quarantine entry naming its first bad field
 * (in contract order, then undeclared columns) and, in `found`, how many others were bad.
 */

/** CSV reader output (`ParsedRows`): `fields[c][i]` is header column c of record i. */
export interface TextRecords extends SourceRecords {
  readonly fields: readonly (readonly string[])[];
  /** When present, the cells are here instead of in `fields` (see {@link CellOffsets}). */
  readonly cells?: CellOffsets;
}

/**
 * CSV cells by position in the reader's decoded text, so that numbers, dates and enum symbols are read from the text
 * with no string per cell: cell c of record i spans `text[starts[i * width + c], ends[i * width + c])`, or, where
 * that start is -1 (a record the reader had to assemble), is `texts.get(i)[c]`. `width` is the header's.
 */
export interface CellOffsets {
  readonly text: string;
  readonly width: number;
  readonly starts: Int32Array;
  readonly ends: Int32Array;
  readonly texts: ReadonlyMap<number, readonly string[]>;
}

/** JSON Lines reader output: one parsed JSON value per record. */
export interface ValueRecords extends SourceRecords {
  readonly values: readonly unknown[];
}

export interface Validated {
  /** The good records, typed, columns in contract field order. */
  readonly batch: Batch;
  readonly rejected: QuarantineEntry[];
}

/** How a header differs from the contract. */
export interface HeaderDrift {
  /** Header columns the contract does not declare (closed content only): every record is refused as drift. */
  readonly unknown: string[];
  /** Required fields the header lacks: every record is refused as drift. */
  readonly missing: string[];
}

export interface TextValidator {
  /** Reported once per file; null when the header matches. Optional fields the header lacks read as null. */
  readonly drift: HeaderDrift | null;
  /** `recordOffset` numbers records when `rows.records` is absent: record i is `recordOffset + i + 1`. */
  validate(rows: TextRecords, recordOffset?: number): Validated;
  /**
   * Like `validate`, but appends the good records to the columns of `into` (and its length) and refused ones to
   * `rejected`, so a reader can fill one batch from many parser calls without copying columns to merge them.
   */
  validateInto(rows: TextRecords, recordOffset: number, into: BatchBuilder, rejected: QuarantineEntry[]): void;
}

export interface ValueValidator {
  validate(rows: ValueRecords, recordOffset?: number): Validated;
  validateInto(rows: ValueRecords, recordOffset: number, into: BatchBuilder, rejected: QuarantineEntry[]): void;
}

/** The generated loop: appends good records to `out` from row `start` on, returns the new row count. */
type Compiled<R> = (
  rows: R,
  recordOffset: number,
  out: readonly Column[],
  start: number,
  rejected: QuarantineEntry[],
) => number;

/** Both entry points of a compiled validator over its generated loop. */
function entryPoints<R>(run: Compiled<R>, width: number) {
  return {
    validate(rows: R, recordOffset = 0): Validated {
      const columns = newColumns(width);
      const rejected: QuarantineEntry[] = [];
      const length = run(rows, recordOffset, columns, 0, rejected);
      return { batch: { length, columns }, rejected };
    },
    validateInto(rows: R, recordOffset: number, into: BatchBuilder, rejected: QuarantineEntry[]): void {
      into.length = run(rows, recordOffset, into.columns, into.length, rejected);
    },
  };
}

/** Everything the generated code reaches, bound to locals once per compiled validator. */
interface Env {
  readonly P: typeof PARSERS;
  readonly R: Rejections;
  readonly BAD: typeof BAD;
  readonly own: typeof ownValue;
  readonly isObject: typeof isPlainObject;
  readonly fields: readonly Field[];
  /** Per column: the enum's symbols, each mapped to itself (large enums), or the checker of a JSON value. */
  readonly sets: (ReadonlyMap<string, string> | undefined)[];
  readonly checks: (Checker | undefined)[];
}

const PARSERS = {
  int64: parseInt64,
  float64: parseFloat64,
  bool: parseBool,
  decimal: parseDecimal,
  date: parseDate,
  timestamp: parseTimestamp,
  int64At: parseInt64At,
  float64At: parseFloat64At,
  boolAt: parseBoolAt,
  decimalAt: parseDecimalAt,
  dateAt: parseDateAt,
  timestampAt: parseTimestampAt,
};

/** Enums up to this size compare inline; larger ones look up a set. */
const INLINE_SYMBOLS = 8;

function lit(s: string): string {
  return JSON.stringify(s);
}

function enumTest(x: string, k: number, symbols: readonly string[], env: Env): string {
  if (symbols.length <= INLINE_SYMBOLS) return `(${symbols.map((sym) => `${x} === ${lit(sym)}`).join(' || ')})`;
  env.sets[k] = new Map(symbols.map((sym) => [sym, sym]));
  return `S${k}.has(${x})`;
}

/**
 * The symbol a text cell `x` spells, or undefined. The value kept is the contract's own string, not the cell's
 * text: one shared string per symbol instead of a fresh copy per record, which later comparisons and hash lookups
 * (filters, group keys) handle faster and which costs no memory per row.
 */
function enumSymbol(x: string, k: number, symbols: readonly string[], env: Env): string {
  if (symbols.length <= INLINE_SYMBOLS)
    return symbols.reduceRight((rest, sym) => `(${x} === ${lit(sym)} ? ${lit(sym)} : ${rest})`, 'undefined');
  env.sets[k] = new Map(symbols.map((sym) => [sym, sym]));
  return `S${k}.get(${x})`;
}

function isNested(t: DataType): boolean {
  return t.kind === 'list' || t.kind === 'struct';
}

/** What a type error in a text cell of this field says. */
function textFacts(field: Field, sourceName: string): ColumnFacts {
  const t = field.type;
  const facts = (errorClass: ColumnFacts['errorClass'], expected: string): ColumnFacts => ({
    field,
    sourceName,
    errorClass,
    expected,
  });
  switch (t.kind) {
    case 'bool':
      return facts('type', 'bool (true, false, 1 or 0)');
    case 'date':
      return facts('timestamp', DATE_TEXT);
    case 'timestamp':
      return facts('timestamp', TIMESTAMP_TEXT);
    case 'enum':
      return facts('enum', `one of ${t.symbols.join('|')}`);
    default:
      return facts('type', typeToString(t));
  }
}

/** A checker for a list or struct cell: the text must be JSON of the declared shape. */
function jsonCellChecker(fault: Fault, field: Field, content: Contract['content']): Checker {
  const check = fieldChecker(fault, { type: field.type, nullable: false }, content);
  const expected = `${typeToString(field.type)} as JSON`;
  return (s) => {
    let v: unknown;
    try {
      v = JSON.parse(s as string);
    } catch {
      return fail(fault, 'type', expected, shortenFound(s as string));
    }
    return check(v);
  };
}

/** The expression reading cell `s` as a scalar type: its value, or undefined when the text is not of the type. */
function textParse(t: DataType, k: number, env: Env): string {
  switch (t.kind) {
    case 'decimal':
      return `P.decimal(s, ${t.precision}, ${t.scale})`;
    case 'enum':
      return enumSymbol('s', k, t.symbols, env);
    case 'int64':
    case 'float64':
    case 'bool':
    case 'date':
    case 'timestamp':
      return `P.${t.kind}(s)`;
    default:
      return 'undefined';
  }
}

/** The step that reads cell `i` of column `c${k}` into `v${k}`, counting a bad cell in `bad`. */
function textStep(k: number, field: Field, column: number, env: Env): string {
  const v = `v${k}`;
  const first = (kind: number) => `if (bad++ === 0) R.text(${k}, ${kind}, s);`;
  if (column < 0) return field.nullable ? `${v} = null;` : `${v} = null; s = ''; ${first(NO_COLUMN)}`;
  const read = `s = c${k}[i]; if (s.length === 0) { ${v} = null; ${field.nullable ? '' : first(MISSING)} }`;
  if (field.type.kind === 'string') return `${read} else ${v} = s;`;
  if (isNested(field.type))
    return `${read} else { ${v} = C${k}(s); if (${v} === BAD) { ${v} = null; ${first(NESTED)} } }`;
  return `${read} else { ${v} = ${textParse(field.type, k, env)}; if (${v} === undefined) { ${v} = null; ${first(TYPE)} } }`;
}

/** The expression reading the cell `s[a, b)` as a scalar type, like {@link textParse} but without a cell string. */
function textParseAt(t: DataType, k: number, env: Env): string {
  switch (t.kind) {
    case 'decimal':
      return `P.decimalAt(s, a, b, ${t.precision}, ${t.scale})`;
    case 'enum':
      if (t.symbols.length > INLINE_SYMBOLS) return enumSymbol('s.slice(a, b)', k, t.symbols, env);
      return t.symbols.reduceRight(
        (rest, sym) => `(b - a === ${sym.length} && s.startsWith(${lit(sym)}, a) ? ${lit(sym)} : ${rest})`,
        'undefined',
      );
    case 'int64':
    case 'float64':
    case 'bool':
    case 'date':
    case 'timestamp':
      return `P.${t.kind}At(s, a, b)`;
    default:
      return 'undefined';
  }
}

/**
 * {@link textStep} over cell offsets (`rows.cells`): finds cell `column` of record i as `s[a, b)` (the chunk text,
 * or the record's own cell string), and cuts a string only for string and JSON fields, or to report a bad cell.
 */
function textStepAt(k: number, field: Field, column: number, env: Env): string {
  const v = `v${k}`;
  const first = (kind: number, text: string) => `if (bad++ === 0) R.text(${k}, ${kind}, ${text});`;
  if (column < 0) return field.nullable ? `${v} = null;` : `${v} = null; ${first(NO_COLUMN, "''")}`;
  const read =
    `o = q + ${column}; a = ST[o]; if (a < 0) { s = TX.get(i)[${column}]; a = 0; b = s.length; } else { s = T; b = EN[o]; } ` +
    `if (a === b) { ${v} = null; ${field.nullable ? '' : first(MISSING, "''")} }`;
  if (field.type.kind === 'string') return `${read} else ${v} = s.slice(a, b);`;
  if (isNested(field.type))
    return `${read} else { ${v} = C${k}(s.slice(a, b)); if (${v} === BAD) { ${v} = null; ${first(NESTED, 's.slice(a, b)')} } }`;
  return `${read} else { ${v} = ${textParseAt(field.type, k, env)}; if (${v} === undefined) { ${v} = null; ${first(TYPE, 's.slice(a, b)')} } }`;
}

/**
 * The shared shape of both generated validators: preamble, the loop over records, the batch. A field with
 * `live[k] === false` is checked like any other but not stored: no later stage reads it (see runtime/liveness.ts).
 */
function loopSource(
  width: number,
  preamble: string[],
  head: string[],
  steps: string[],
  live: readonly boolean[] | undefined,
): string {
  const vs = Array.from({ length: width }, (_, k) => `v${k}`);
  const os = Array.from({ length: width }, (_, k) => `o${k}`);
  return [
    '"use strict";',
    'const P = env.P, R = env.R, BAD = env.BAD, own = env.own, isObject = env.isObject, FIELDS = env.fields;',
    ...preamble,
    'return function validate(rows, recordOffset, out, start, rejected) {',
    `  const n = rows.count${os.map((o, k) => `, ${o} = out[${k}]`).join('')};`,
    ...head,
    `  let s, x, r, bad, seen, total, a, b, o, q, ${vs.join(', ')}, g = start;`,
    '  for (let i = 0; i < n; i++) {',
    '    bad = 0;',
    ...steps.map((st) => `    ${st}`),
    `    if (bad === 0) { ${os.map((o, k) => (live?.[k] === false ? '' : `${o}[g] = v${k};`)).join(' ')} g++; }`,
    '    else rejected.push(R.entry(rows, i, recordOffset, bad));',
    '  }',
    '  return g;',
    '};',
  ].join('\n');
}

function instantiate<R>(body: string, env: Env): Compiled<R> {
  const make = new Function('env', body) as (env: Env) => Compiled<R>;
  return make(env);
}

function newEnv(rejections: Rejections, fields: readonly Field[]): Env {
  return {
    P: PARSERS,
    R: rejections,
    BAD,
    own: ownValue,
    isObject: isPlainObject,
    fields,
    sets: [],
    checks: [],
  };
}

/** How a header maps to the contract: per field its column (-1 if absent), and the columns no field claims. */
interface HeaderMap {
  readonly columns: number[];
  readonly unknown: number[];
  readonly drift: HeaderDrift | null;
}

function mapHeader(contract: Contract, header: readonly string[], source: string): HeaderMap {
  const at = new Map<string, number>();
  header.forEach((name, i) => {
    if (at.has(name)) throw new Error(`${source}: the header names column '${name}' twice`);
    at.set(name, i);
  });
  const fields = contract.schema.fields;
  const columns = fields.map((f) => {
    const name = [f.name, ...(f.formerly ?? [])].find((n) => at.has(n));
    return name === undefined ? -1 : (at.get(name) as number);
  });
  const claimed = new Set(columns);
  const unknown = contract.content === 'closed' ? header.map((_, i) => i).filter((i) => !claimed.has(i)) : [];
  const missing = fields.filter((f, k) => columns[k] < 0 && !f.nullable).map((f) => f.name);
  const drift = unknown.length + missing.length === 0 ? null : { unknown: unknown.map((i) => header[i]), missing };
  return { columns, unknown, drift };
}

/**
 * Compiles the validator of a CSV file with this header. Header columns map to fields by name or by a declared
 * former name (`renamedFrom`). Cells: an empty cell is null for an optional field and 'missing' for a required one
 * (strings included); int64 is a sign and digits within the safe range; float64 a decimal or scientific number
 * (no hex, NaN or Infinity); bool exactly true, false, 1, 0, TRUE or FALSE; decimal(p,s) written out with at most
 * p-s integer and s fraction digits; date `YYYY-MM-DD`; timestamp ISO 8601 with a zone (or a bare date, midnight
 * UTC); enum one of its symbols; list and struct cells are JSON. Throws when the header names a column twice.
 */
export function compileTextValidator(
  contract: Contract,
  header: readonly string[],
  source: string,
  live?: readonly boolean[],
): TextValidator {
  const { columns, unknown, drift } = mapHeader(contract, header, source);
  const fields = contract.schema.fields;
  const fault = newFault();
  const facts = fields.map((f, k) => textFacts(f, columns[k] < 0 ? f.name : header[columns[k]]));
  const env = newEnv(new Rejections(source, facts, fault), fields);
  fields.forEach((f, k) => {
    if (isNested(f.type)) env.checks[k] = jsonCellChecker(fault, f, contract.content);
  });
  const steps = fields.map((f, k) => textStep(k, f, columns[k], env));
  for (const [j, c] of unknown.entries())
    steps.push(`if (bad++ === 0) R.unknownColumn(${lit(header[c])}, u${j}[i], FIELDS);`);
  const head = [
    '  const F = rows.fields;',
    ...columns.flatMap((c, k) => (c < 0 ? [] : [`  const c${k} = F[${c}];`])),
    ...unknown.map((c, j) => `  const u${j} = F[${c}];`),
  ];
  const runFields = instantiate<TextRecords>(loopSource(fields.length, preamble(env), head, steps, live), env);
  const stepsAt = [`q = i * ${header.length};`, ...fields.map((f, k) => textStepAt(k, f, columns[k], env))];
  for (const c of unknown) {
    const cell = `(ST[q + ${c}] < 0 ? TX.get(i)[${c}] : T.slice(ST[q + ${c}], EN[q + ${c}]))`;
    stepsAt.push(`if (bad++ === 0) R.unknownColumn(${lit(header[c])}, ${cell}, FIELDS);`);
  }
  const headAt = ['  const T = rows.cells.text, ST = rows.cells.starts, EN = rows.cells.ends, TX = rows.cells.texts;'];
  const runCells = instantiate<TextRecords>(loopSource(fields.length, preamble(env), headAt, stepsAt, live), env);
  const run: Compiled<TextRecords> = (rows, recordOffset, out, start, rejected) =>
    (rows.cells === undefined ? runFields : runCells)(rows, recordOffset, out, start, rejected);
  return { drift, ...entryPoints(run, fields.length) };
}

/** Locals for the enum sets and checkers the steps use. */
function preamble(env: Env): string[] {
  const sets = env.sets.flatMap((s, k) => (s === undefined ? [] : [`const S${k} = env.sets[${k}];`]));
  const checks = env.checks.flatMap((c, k) => (c === undefined ? [] : [`const C${k} = env.checks[${k}];`]));
  return [...sets, ...checks];
}

/** The read of a field's value from record `r` (by name, else a former name), own properties only. */
function valueRead(field: Field): string {
  const get = (key: string) => (key in Object.prototype ? `own(r, ${lit(key)})` : `r[${lit(key)}]`);
  const formerly = (field.formerly ?? []).map((old) => `if (x === undefined) x = ${get(old)};`);
  return [`x = ${get(field.name)};`, ...formerly, 'if (x !== undefined) seen++;'].join(' ');
}

/** For types JSON carries directly: the test a value must pass and the value kept. */
function inlineValue(t: DataType, k: number, env: Env): [string, string] | null {
  switch (t.kind) {
    case 'string':
      return ["typeof x === 'string'", 'x'];
    case 'int64':
      return ["typeof x === 'number' && Number.isSafeInteger(x)", 'x + 0'];
    case 'float64':
      return ["typeof x === 'number'", 'x'];
    case 'bool':
      return ["typeof x === 'boolean'", 'x'];
    case 'enum':
      return [`typeof x === 'string' && ${enumTest('x', k, t.symbols, env)}`, 'x'];
    default:
      return null;
  }
}

function valueStep(k: number, field: Field, env: Env, fault: Fault, content: Contract['content']): string {
  const v = `v${k}`;
  const first = (kind: number) => `if (bad++ === 0) R.value(${k}, ${kind}, x, r);`;
  const absent = `if (x === undefined || x === null) { ${v} = null; ${field.nullable ? '' : first(MISSING)} }`;
  const inline = inlineValue(field.type, k, env);
  if (inline !== null)
    return `${valueRead(field)} ${absent} else if (${inline[0]}) ${v} = ${inline[1]}; else { ${v} = null; ${first(TYPE)} }`;
  env.checks[k] = fieldChecker(fault, { type: field.type, nullable: false }, content);
  return `${valueRead(field)} ${absent} else { ${v} = C${k}(x); if (${v} === BAD) { ${v} = null; ${first(NESTED)} } }`;
}

/** What a type error in a JSON value of this field says (other types report through their checker). */
function valueFacts(field: Field): ColumnFacts {
  const t = field.type;
  if (t.kind === 'enum')
    return { field, sourceName: field.name, errorClass: 'enum', expected: `one of ${t.symbols.join('|')}` };
  return { field, sourceName: field.name, errorClass: 'type', expected: typeToString(t) };
}

/**
 * Compiles the validator of parsed JSON records (JSON Lines). Keys map to fields by name or former name; with
 * closed content an undeclared key is 'drift'. An absent or null required field is 'missing'; int64 must be an
 * integer number in the safe range (a numeric string is a 'type' error: JSON has numbers); float64 a number; bool a
 * boolean; timestamp an ISO 8601 string with a zone or integer ms; date a `YYYY-MM-DD` string; decimal a number or
 * decimal string within precision and scale; enum one of its symbols; lists and structs are checked recursively,
 * errors naming the path (`/lines/2/qty`).
 */
export function compileValueValidator(contract: Contract, source: string, live?: readonly boolean[]): ValueValidator {
  const fields = contract.schema.fields;
  const fault = newFault();
  const env = newEnv(new Rejections(source, fields.map(valueFacts), fault), fields);
  const steps = [
    'r = V[i];',
    'if (!isObject(r)) { R.notObject(r); rejected.push(R.entry(rows, i, recordOffset, 1)); continue; }',
    'seen = 0;',
    ...fields.map((f, k) => valueStep(k, f, env, fault, contract.content)),
  ];
  if (contract.content === 'closed')
    steps.push(
      'total = 0; for (const key in r) total++;',
      'if (total !== seen) bad += R.unknownKeys(r, FIELDS, bad === 0);',
    );
  const run = instantiate<ValueRecords>(
    loopSource(fields.length, preamble(env), ['  const V = rows.values;'], steps, live),
    env,
  );
  return entryPoints(run, fields.length);
}
