import { type FieldType, fieldTypeToString, type Value } from '../expr/types.ts';

/** Checks one runtime value against a declared type; returns what is wrong, or null when it fits. */
export function checkValue(v: Value, f: FieldType): string | null {
  if (v === null) return f.nullable ? null : `null where ${fieldTypeToString(f)} is required`;
  const t = f.type;
  const bad = `${JSON.stringify(v)?.slice(0, 40)} where ${fieldTypeToString(f)} is declared`;
  switch (t.kind) {
    case 'string':
      return typeof v === 'string' ? null : bad;
    case 'enum':
      return typeof v === 'string' && t.symbols.includes(v) ? null : bad;
    case 'int64':
    case 'timestamp':
    case 'date':
      return typeof v === 'number' && Number.isSafeInteger(v) ? null : bad;
    case 'float64':
    case 'decimal':
      return typeof v === 'number' && Number.isFinite(v) ? null : bad;
    case 'bool':
      return typeof v === 'boolean' ? null : bad;
    case 'list':
      if (!Array.isArray(v)) return bad;
      for (const x of v as Value[]) {
        const p = checkValue(x, t.item);
        if (p !== null) return `list item ${p}`;
      }
      return null;
    case 'struct': {
      if (typeof v !== 'object' || Array.isArray(v)) return bad;
      const o = v as Readonly<Record<string, Value>>;
      for (const sf of t.fields) {
        const p = checkValue(o[sf.name] ?? null, sf);
        if (p !== null) return `field ${sf.name}: ${p}`;
      }
      return null;
    }
    case 'null':
      return bad;
    default:
      return t satisfies never;
  }
}
