/**
 * napkin's type model: the column types a contract can declare and an expression can produce.
 *
 * Runtime representation of each type (one value per row, `null` for a missing value):
 * | type        | JavaScript value                                              |
 * |-------------|---------------------------------------------------------------|
 * | `string`    | `string`                                                      |
 * | `int64`     | `number`, always a safe integer (|v| ≤ 2^53 − 1)              |
 * | `float64`   | `number`                                                      |
 * | `bool`      | `boolean`                                                     |
 * | `timestamp` | `number`: integer milliseconds since 1970-01-01T00:00:00Z (T1) |
 * | `date`      | `number`: integer days since 1970-01-01                        |
 * | `decimal`   | `number`, rounded to `scale` digits when written               |
 * | `enum`      | `string`, one of `symbols`                                    |
 * | `list`      | `Value[]`                                                     |
 * | `struct`    | `{ [field]: Value }`                                          |
 */
export type DataType =
  | { readonly kind: 'string' }
  | { readonly kind: 'int64' }
  | { readonly kind: 'float64' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'timestamp' }
  | { readonly kind: 'date' }
  | { readonly kind: 'decimal'; readonly precision: number; readonly scale: number }
  | { readonly kind: 'enum'; readonly name: string; readonly symbols: readonly string[] }
  | { readonly kind: 'list'; readonly item: FieldType }
  | { readonly kind: 'struct'; readonly name: string; readonly fields: readonly Field[] }
  /** The type of an untyped `lit(null)`: assignable to every type. */
  | { readonly kind: 'null' };

export type TypeKind = DataType['kind'];

/** A type together with its nullability, as a field or an expression result carries it. */
export interface FieldType {
  readonly type: DataType;
  readonly nullable: boolean;
}

/** One named column of a schema. */
export interface Field extends FieldType {
  readonly name: string;
  readonly description?: string;
  /** Former names of this field (a declared rename, see the schema-compatibility spec, N2). */
  readonly formerly?: readonly string[];
}

/** An ordered list of fields; column positions in a batch follow this order. */
export interface Schema {
  readonly fields: readonly Field[];
}

/** A runtime value of any napkin type. */
export type Value = string | number | boolean | null | readonly Value[] | { readonly [k: string]: Value };

export function fieldIndex(schema: Schema, name: string): number {
  return schema.fields.findIndex((f) => f.name === name);
}

export function isNumeric(t: DataType): boolean {
  return t.kind === 'int64' || t.kind === 'float64' || t.kind === 'decimal';
}

export function isTemporal(t: DataType): boolean {
  return t.kind === 'timestamp' || t.kind === 'date';
}

/** Renders a type the way errors, `napkin draw` and the docs show it: `decimal(12,2)`, `list<string>`. */
export function typeToString(t: DataType): string {
  switch (t.kind) {
    case 'decimal':
      return `decimal(${t.precision},${t.scale})`;
    case 'enum':
      return `enum(${t.symbols.join('|')})`;
    case 'list':
      return `list<${fieldTypeToString(t.item)}>`;
    case 'struct':
      return `struct<${t.fields.map((f) => `${f.name}: ${fieldTypeToString(f)}`).join(', ')}>`;
    default:
      return t.kind;
  }
}

export function fieldTypeToString(f: FieldType): string {
  return f.nullable ? `${typeToString(f.type)}?` : typeToString(f.type);
}

/** Structural type equality (nullability not included). */
export function sameType(a: DataType, b: DataType): boolean {
  if (a.kind !== b.kind) return false;
  switch (a.kind) {
    case 'decimal': {
      const o = b as typeof a;
      return a.precision === o.precision && a.scale === o.scale;
    }
    case 'enum': {
      const o = b as typeof a;
      return a.symbols.length === o.symbols.length && a.symbols.every((s, i) => s === o.symbols[i]);
    }
    case 'list':
      return sameType(a.item.type, (b as typeof a).item.type);
    case 'struct': {
      const o = b as typeof a;
      return (
        a.fields.length === o.fields.length &&
        a.fields.every((f, i) => f.name === o.fields[i].name && sameType(f.type, o.fields[i].type))
      );
    }
    default:
      return true;
  }
}

/**
 * Whether a value of type `from` may flow into a column declared `to` without an explicit cast: the same type, a
 * null literal, a widening (int64 into float64 or decimal, decimal into a wider scale or float64), an enum into a
 * string or into an enum with more symbols. Everything else (a string into an enum, float64 into decimal) needs a cast.
 */
export function assignable(from: DataType, to: DataType): boolean {
  if (from.kind === 'null') return true;
  if (sameType(from, to)) return true;
  if (from.kind === 'int64' && (to.kind === 'float64' || to.kind === 'decimal')) return true;
  if (from.kind === 'decimal' && to.kind === 'decimal') return from.scale <= to.scale;
  if (from.kind === 'decimal' && to.kind === 'float64') return true;
  if (from.kind === 'enum' && to.kind === 'string') return true;
  if (from.kind === 'enum' && to.kind === 'enum') return from.symbols.every((s) => to.symbols.includes(s));
  if (from.kind === 'list' && to.kind === 'list') return assignable(from.item.type, to.item.type);
  return false;
}
