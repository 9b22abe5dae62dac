import { type DataType, type Field, type FieldType, fieldTypeToString } from '../expr/types.ts';
import type { Dataset } from './dataset.ts';

/**
 * The Avro schema of a contract, for Kafka's `format: 'avro'` (napkin has no registry client: users register it):
 *
 *   string → "string"          int64 → "long"           float64 → "double"        bool → "boolean"
 *   timestamp → long, logicalType timestamp-millis      date → int, logicalType date
 *   decimal(p,s) → bytes, logicalType decimal, precision p, scale s (the unscaled value, big-endian two's complement:
 *                  exact, where a double would round)
 *   enum → an Avro enum of the same symbols, in order (or "string" when a symbol is no Avro name)
 *   list<T> → array of T          struct → a record of its fields          nullable T → ["null", T], default null
 *
 * The record is named after the dataset (`shop.orders`: namespace shop, name orders), one field per contract field in
 * contract order, except the Kafka `headers` field, which travels as the record's headers. Enums and structs take
 * their type's name (made an Avro name, suffixed when two different types share it).
 */

export type AvroJson = string | number | boolean | null | readonly AvroJson[] | { readonly [k: string]: AvroJson };
export type AvroField = { readonly name: string; readonly type: AvroJson; readonly default?: null };
export type AvroRecordSchema = {
  readonly type: 'record';
  readonly name: string;
  readonly namespace?: string;
  readonly fields: readonly AvroField[];
};

const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

/**
 * The Avro schema to register for a dataset's values with `format: 'avro'`, derived from its contract (see above).
 * @example JSON.stringify(avroSchemaOf(orders)) // the body of a POST to /subjects/shop.orders-value/versions
 */
export function avroSchemaOf(d: Dataset): AvroRecordSchema {
  if (d.contract === undefined) throw new Error(`avroSchemaOf(${d.name}): the dataset has no contract to derive from`);
  const headers = d.storage?.kind === 'kafka' ? d.storage.headers : undefined;
  return deriveAvroSchema(d.name, d.contract.schema.fields, headers);
}

/** The schema of a record named `name` (a dotted name) holding `fields`, less the `headers` field. */
export function deriveAvroSchema(name: string, fields: readonly Field[], headers?: string): AvroRecordSchema {
  const problem = avroNameProblem(fields);
  if (problem !== undefined) throw new Error(`Avro schema of ${name}: ${problem}`);
  const dot = name.lastIndexOf('.');
  const short = name.slice(dot + 1);
  const names = new TypeNames(short);
  return {
    type: 'record',
    name: short,
    ...(dot < 0 ? {} : { namespace: name.slice(0, dot) }),
    fields: fields.filter((f) => f.name !== headers).map((f) => fieldSchema(f, names)),
  };
}

/** The first field, nested ones included (`lines.qty`), that an Avro record cannot hold under its name. */
export function avroNameProblem(fields: readonly Field[], path = ''): string | undefined {
  for (const f of fields) {
    const at = `${path}${f.name}`;
    if (!AVRO_NAME.test(f.name))
      return `field '${at}' is not an Avro name (letters, digits and _, not starting with a digit)`;
    // avsc's records set fields by assignment, which for this name changes the prototype instead.
    if (f.name === '__proto__') return `field '${at}' cannot be named __proto__ in an Avro record`;
    const nested = structFieldsIn(f.type);
    const problem = nested === undefined ? undefined : avroNameProblem(nested, `${at}.`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function structFieldsIn(t: DataType): readonly Field[] | undefined {
  if (t.kind === 'struct') return t.fields;
  return t.kind === 'list' ? structFieldsIn(t.item.type) : undefined;
}

/**
 * Why an explicit schema would not write the bytes the contract's derived one writes, or undefined when it does:
 * the same fields in the same order with the same types (union branches and enum symbols in the same order, since
 * the bytes hold their positions). Names, namespaces, docs, aliases and defaults may differ.
 */
export function avroSchemaMismatch(
  explicit: unknown,
  derived: AvroRecordSchema,
  fields: readonly Field[],
): string | undefined {
  if (
    !isObject(explicit) ||
    (explicit.type !== 'record' && explicit.type !== 'error') ||
    !Array.isArray(explicit.fields)
  )
    return "avroSchema must be an Avro record schema: an object with type 'record' and its fields";
  const got: readonly unknown[] = explicit.fields;
  const want = derived.fields;
  const gotNames = got.map((g) => (isObject(g) && typeof g.name === 'string' ? g.name : undefined));
  const gotTypes = new Shapes();
  gotTypes.defineSelf(explicit);
  const wantTypes = new Shapes();
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    if (i >= want.length)
      return `avroSchema field '${gotNames[i]}' is not in the contract (a headers field travels as the record headers)`;
    const w = want[i];
    if (gotNames[i] !== w.name) {
      const at = gotNames.indexOf(w.name);
      return at < 0
        ? `avroSchema lacks the contract's field '${w.name}'`
        : `avroSchema has field '${w.name}' at position ${at + 1}, the contract at ${i + 1} (Avro bytes follow the field order)`;
    }
    const g = (got[i] as { readonly type?: unknown }).type;
    const [gs, ws] = [gotTypes.of(g), wantTypes.of(w.type)];
    if (gs !== ws) {
      const f = fields.find((x) => x.name === w.name) as Field;
      return `avroSchema field '${w.name}' is ${gs}, but the contract's ${fieldTypeToString(f)} is written as ${ws}`;
    }
  }
  return undefined;
}

function fieldSchema(f: Field, names: TypeNames): AvroField {
  return {
    name: f.name,
    type: typeSchema(f, names),
    ...(f.nullable && f.type.kind !== 'null' ? { default: null } : {}),
  };
}

function typeSchema(ft: FieldType, names: TypeNames): AvroJson {
  const t = baseSchema(ft.type, names);
  return ft.nullable && ft.type.kind !== 'null' ? ['null', t] : t;
}

function baseSchema(t: DataType, names: TypeNames): AvroJson {
  switch (t.kind) {
    case 'string':
      return 'string';
    case 'int64':
      return 'long';
    case 'float64':
      return 'double';
    case 'bool':
      return 'boolean';
    case 'timestamp':
      return { type: 'long', logicalType: 'timestamp-millis' };
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'decimal':
      return { type: 'bytes', logicalType: 'decimal', precision: t.precision, scale: t.scale };
    case 'enum':
      if (!t.symbols.every((s) => AVRO_NAME.test(s))) return 'string';
      return names.define(t, (name) => ({ type: 'enum', name, symbols: [...t.symbols] }));
    case 'list':
      return { type: 'array', items: typeSchema(t.item, names) };
    case 'struct':
      return names.define(t, (name) => ({ type: 'record', name, fields: t.fields.map((f) => fieldSchema(f, names)) }));
    case 'null':
      return 'null';
    default:
      return t satisfies never;
  }
}

/**
 * Names of the enums and records of one schema: Avro defines a name once, then refers to it, and one name may not
 * stand for two types. All of them share the record's namespace, so short names must be unique.
 */
class TypeNames {
  private readonly taken: Set<string>;
  private readonly byType = new Map<string, string>();

  constructor(record: string) {
    this.taken = new Set([record]);
  }

  define(t: Extract<DataType, { name: string }>, body: (name: string) => AvroJson): AvroJson {
    const key = `${t.kind} ${t.name} ${fieldTypeToString({ type: t, nullable: false })}`;
    const known = this.byType.get(key);
    if (known !== undefined) return known;
    const base = avroNameOf(t.name);
    let name = base;
    for (let n = 2; this.taken.has(name); n++) name = `${base}_${n}`;
    this.taken.add(name);
    this.byType.set(key, name);
    return body(name);
  }
}

function avroNameOf(s: string): string {
  const name = s.replaceAll(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(name) ? name : `_${name}`;
}

/**
 * One line per Avro type that says everything its bytes depend on (`bytes (decimal 12,2)`, `null | long`,
 * `record {id: string, at: long (timestamp-millis)}`) and nothing they do not (names, docs, defaults), resolving
 * named references to the types defined before them.
 */
class Shapes {
  private readonly named = new Map<string, string>();
  /** The enclosing namespace, which names defined without one take. */
  private ns = '';

  /** A record may refer to itself; napkin's types never do, so the reference reads as what it is. */
  defineSelf(record: Readonly<Record<string, unknown>>): void {
    this.name(record, `recursive record ${String(record.name)}`);
    this.ns = namespaceOf(record, this.ns);
  }

  of(s: unknown): string {
    if (typeof s === 'string') return PRIMITIVES.has(s) ? s : (this.named.get(s) ?? `undefined type '${s}'`);
    if (Array.isArray(s)) return s.map((x) => this.of(x)).join(' | ');
    if (!isObject(s)) return `no Avro type (${JSON.stringify(s)})`;
    const type = s.type;
    if (typeof type !== 'string') return this.of(type);
    if (PRIMITIVES.has(type)) return logical(type, s);
    switch (type) {
      case 'array':
        return `array<${this.of(s.items)}>`;
      case 'map':
        return `map<${this.of(s.values)}>`;
      case 'enum':
        return this.name(s, `enum(${Array.isArray(s.symbols) ? s.symbols.join('|') : ''})`);
      case 'fixed':
        return this.name(s, logical(`fixed(${String(s.size)})`, s));
      case 'record':
      case 'error':
        return this.record(s);
      default:
        return this.of(type);
    }
  }

  private record(s: Readonly<Record<string, unknown>>): string {
    this.name(s, `recursive record ${String(s.name)}`);
    const outer = this.ns;
    this.ns = namespaceOf(s, outer);
    const fields = Array.isArray(s.fields) ? s.fields : [];
    const shown = fields.map((f) => (isObject(f) ? `${String(f.name)}: ${this.of(f.type)}` : '?'));
    this.ns = outer;
    return this.name(s, `record {${shown.join(', ')}}`);
  }

  /** Records `shape` under the type's short and full names; returns it. */
  private name(s: Readonly<Record<string, unknown>>, shape: string): string {
    if (typeof s.name !== 'string') return shape;
    const short = s.name.slice(s.name.lastIndexOf('.') + 1);
    const ns = namespaceOf(s, this.ns);
    this.named.set(short, shape);
    this.named.set(ns === '' ? short : `${ns}.${short}`, shape);
    return shape;
  }
}

/** A named type's namespace: the one its dotted name spells, else its own attribute, else the enclosing one. */
function namespaceOf(s: Readonly<Record<string, unknown>>, outer: string): string {
  if (typeof s.name === 'string' && s.name.includes('.')) return s.name.slice(0, s.name.lastIndexOf('.'));
  return typeof s.namespace === 'string' ? s.namespace : outer;
}

function logical(type: string, s: Readonly<Record<string, unknown>>): string {
  const l = s.logicalType;
  if (typeof l !== 'string') return type;
  return l === 'decimal' ? `${type} (decimal ${String(s.precision)},${String(s.scale ?? 0)})` : `${type} (${l})`;
}

function isObject(v: unknown): v is Readonly<Record<string, unknown>> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
