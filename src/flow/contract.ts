import type { DataType, Field, FieldType, Schema } from '../expr/types.ts';

/**
 * A field declaration inside a contract. Builders return new values: a shared declaration cannot be changed
 * behind a caller's back.
 */
export class FieldSpec implements FieldType {
  constructor(
    readonly type: DataType,
    readonly nullable: boolean = false,
    readonly description?: string,
    readonly formerly?: readonly string[],
  ) {}

  /** The field may be missing or null (Avro `["null", T]`). */
  optional(): FieldSpec {
    return new FieldSpec(this.type, true, this.description, this.formerly);
  }

  /** A one-line description, shown by `napkin draw`, the catalog and lineage. */
  describe(text: string): FieldSpec {
    return new FieldSpec(this.type, this.nullable, text, this.formerly);
  }

  /** Declares a rename: the field was called `name` in an earlier version (read as an alias). */
  renamedFrom(...names: string[]): FieldSpec {
    return new FieldSpec(this.type, this.nullable, this.description, [...(this.formerly ?? []), ...names]);
  }
}

/**
 * Type constructors for contract fields.
 * @example
 * contract({ key: ['order_id'], eventTime: 'placed_at', fields: {
 *   order_id: t.string(), amount: t.decimal(12, 2), placed_at: t.timestamp(), coupon: t.string().optional() } })
 */
export const t = {
  string: (): FieldSpec => new FieldSpec({ kind: 'string' }),
  int64: (): FieldSpec => new FieldSpec({ kind: 'int64' }),
  float64: (): FieldSpec => new FieldSpec({ kind: 'float64' }),
  bool: (): FieldSpec => new FieldSpec({ kind: 'bool' }),
  /** Milliseconds since the epoch, UTC. Text inputs must be ISO 8601 with a zone or date-only. */
  timestamp: (): FieldSpec => new FieldSpec({ kind: 'timestamp' }),
  date: (): FieldSpec => new FieldSpec({ kind: 'date' }),
  decimal: (precision: number, scale: number): FieldSpec => {
    if (!Number.isInteger(precision) || precision < 1 || precision > 38)
      throw new Error(`t.decimal: precision must be an integer from 1 to 38, got ${precision}`);
    if (!Number.isInteger(scale) || scale < 0 || scale > precision)
      throw new Error(`t.decimal: scale must be an integer from 0 to precision (${precision}), got ${scale}`);
    return new FieldSpec({ kind: 'decimal', precision, scale });
  },
  enum: (name: string, symbols: readonly string[]): FieldSpec => {
    if (symbols.length === 0) throw new Error(`t.enum('${name}'): give at least one symbol`);
    if (new Set(symbols).size !== symbols.length) throw new Error(`t.enum('${name}'): symbols must be unique`);
    return new FieldSpec({ kind: 'enum', name, symbols: [...symbols] });
  },
  list: (item: FieldSpec): FieldSpec =>
    new FieldSpec({ kind: 'list', item: { type: item.type, nullable: item.nullable } }),
  struct: (name: string, fields: Readonly<Record<string, FieldSpec>>): FieldSpec =>
    new FieldSpec({ kind: 'struct', name, fields: toFields(fields) }),
} as const;

function toFields(specs: Readonly<Record<string, FieldSpec>>): Field[] {
  return Object.entries(specs).map(([name, s]) => ({
    name,
    type: s.type,
    nullable: s.nullable,
    ...(s.description === undefined ? {} : { description: s.description }),
    ...(s.formerly === undefined ? {} : { formerly: s.formerly }),
  }));
}

/** Options of {@link contract}. */
export interface ContractOptions {
  readonly fields: Readonly<Record<string, FieldSpec>>;
  /** Columns that identify a record; `merge` sinks upsert on it. */
  readonly key?: readonly string[];
  /** The field that holds each record's event time (a `timestamp` field). */
  readonly eventTime?: string;
  /** Major version of the contract. Defaults to 1. */
  readonly version?: number;
  /** `closed` (default): a record with a field the contract does not declare is drift. `open`: extra fields are ignored. */
  readonly content?: 'closed' | 'open';
}

/** A versioned, typed schema that every record of a dataset must satisfy. */
export interface Contract {
  readonly schema: Schema;
  readonly key: readonly string[];
  readonly eventTime?: string;
  readonly version: number;
  readonly content: 'closed' | 'open';
}

/**
 * Declares a schema contract.
 * @see dataset
 */
export function contract(options: ContractOptions): Contract {
  const fields = toFields(options.fields);
  if (fields.length === 0) throw new Error('contract: declare at least one field');
  const names = new Set(fields.map((f) => f.name));
  for (const k of options.key ?? []) {
    if (!names.has(k)) throw new Error(`contract: key column '${k}' is not a declared field`);
  }
  if (options.eventTime !== undefined) {
    const f = fields.find((x) => x.name === options.eventTime);
    if (f === undefined) throw new Error(`contract: eventTime '${options.eventTime}' is not a declared field`);
    if (f.type.kind !== 'timestamp')
      throw new Error(`contract: eventTime '${options.eventTime}' must be a timestamp field, it is ${f.type.kind}`);
  }
  return {
    schema: { fields },
    key: [...(options.key ?? [])],
    ...(options.eventTime === undefined ? {} : { eventTime: options.eventTime }),
    version: options.version ?? 1,
    content: options.content ?? 'closed',
  };
}
