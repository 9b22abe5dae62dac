import type { DataType, Field } from '../expr/types.ts';
import { type Contract, type FieldSpec, t } from './contract.ts';

/**
 * The columns a change-data-capture dataset (`postgresCdc`) adds to its table's columns. Each changelog row is one
 * committed change of one table row, or one row of the initial snapshot:
 *
 * - `_op`: `snapshot` (a row as the initial consistent snapshot read it), `insert`, `update` or `delete`. An update
 *   that changes the primary key is a `delete` of the old key followed by an `insert` of the new row.
 * - `_lsn`: the commit LSN of the change's transaction (the slot's consistent point for snapshot rows), as 8+8 hex
 *   digits, `0000000A/01B3F2C8`: it sorts as text in commit order, and PostgreSQL reads it as a `pg_lsn`.
 * - `_before`: for updates and deletes, the old image as a JSON object of PostgreSQL's text output per column: every
 *   column where the table has REPLICA IDENTITY FULL, else the key columns only; null for snapshot rows and inserts.
 * - `_committed_at` (optional; declare it to get it): the commit time of the change's transaction, or, for snapshot
 *   rows, the start of the snapshot's transaction. Useful as the event time of a table read as a changelog.
 *
 * A delete row holds the deleted row's columns where the server sends them (REPLICA IDENTITY FULL), else the key
 * columns and nulls: so without FULL, every column outside the key must be optional.
 */
export const CDC_OPS = ['snapshot', 'insert', 'update', 'delete'] as const;
export type CdcOp = (typeof CDC_OPS)[number];

export const CDC_COLUMNS = {
  op: '_op',
  lsn: '_lsn',
  before: '_before',
  committedAt: '_committed_at',
} as const;

/**
 * The changelog columns for a CDC dataset's contract, to spread beside the table's own columns:
 * `fields: { ...cdcFields(), id: t.int64(), amount: t.decimal(12, 2) }`. `{ committedAt: true }` adds
 * `_committed_at`.
 */
export function cdcFields(options: { readonly committedAt?: boolean } = {}): Record<string, FieldSpec> {
  return {
    _op: t.enum('CdcOp', CDC_OPS),
    _lsn: t.string(),
    _before: t.string().optional(),
    ...(options.committedAt === true ? { _committed_at: t.timestamp() } : {}),
  };
}

/** What the changelog columns must be, by name: the type, and whether the field must be optional. */
const REQUIRED: readonly { name: string; type: DataType; nullable: boolean; spelled: string }[] = [
  { name: '_op', type: { kind: 'enum', name: 'CdcOp', symbols: [...CDC_OPS] }, nullable: false, spelled: '' },
  { name: '_lsn', type: { kind: 'string' }, nullable: false, spelled: 't.string()' },
  { name: '_before', type: { kind: 'string' }, nullable: true, spelled: 't.string().optional()' },
];

/** Whether a contract field is one of napkin's changelog columns rather than a table column. */
export function isCdcColumn(name: string): boolean {
  return name === '_op' || name === '_lsn' || name === '_before' || name === '_committed_at';
}

/**
 * What is wrong with a CDC dataset's contract, one phrase each (empty when nothing): the changelog columns must be
 * declared with their types, there must be a key (the table's primary key), and at least one table column.
 */
export function cdcContractProblems(contract: Contract): string[] {
  const problems: string[] = [];
  const byName = new Map(contract.schema.fields.map((f) => [f.name, f]));
  for (const r of REQUIRED) {
    const f = byName.get(r.name);
    const want = r.name === '_op' ? `t.enum('CdcOp', [${CDC_OPS.map((s) => `'${s}'`).join(', ')}])` : r.spelled;
    if (f === undefined) problems.push(`it lacks the changelog column ${r.name} (${want})`);
    else if (!sameType(f, r.type) || f.nullable !== r.nullable) problems.push(`${r.name} must be ${want}`);
  }
  const at = byName.get('_committed_at');
  if (at !== undefined && at.type.kind !== 'timestamp') problems.push('_committed_at must be t.timestamp()');
  if (contract.key.length === 0) problems.push("it has no key (declare the table's primary key columns as its key)");
  for (const k of contract.key)
    if (isCdcColumn(k)) problems.push(`its key names the changelog column ${k}; the key is the table's primary key`);
  if (!contract.schema.fields.some((f) => !isCdcColumn(f.name))) problems.push('it declares no table column');
  return problems;
}

function sameType(f: Field, want: DataType): boolean {
  if (want.kind !== 'enum') return f.type.kind === want.kind;
  if (f.type.kind !== 'enum') return false;
  const got = f.type.symbols;
  return got.length === want.symbols.length && want.symbols.every((s) => got.includes(s));
}
