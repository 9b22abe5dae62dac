import type { FunctionDef } from '../functions.ts';
import { replaceAll, substr, substrFrom } from '../runtime.ts';
import { arityError, BOOL, ft, INT64, isKind, isText, STRING, takesError } from '../typing.ts';

/** Functions of one text value (string or enum); `emit` gets the value. */
function ofText(
  name: string,
  result: 'string' | 'int64',
  description: string,
  emit: (s: string) => string,
): FunctionDef {
  return {
    name,
    description,
    example: `col('name').${name}()`,
    signature: `${name}(string) → ${result}`,
    nulls: 'propagate',
    infer: (args) => {
      const bad = arityError(name, args, 1, 1);
      if (bad !== undefined) return bad;
      return isText(args[0].type) ? ft(result === 'string' ? STRING : INT64) : takesError(name, 'a string', args);
    },
    emit: ([s]) => emit(s),
  };
}

/** Tests of a text value against another text value. */
function textTest(name: string, method: string, description: string): FunctionDef {
  return {
    name,
    description,
    example: `col('sku').${name}('X-')`,
    signature: `${name}(string, string) → bool`,
    nulls: 'propagate',
    infer: (args) => {
      const bad = arityError(name, args, 2, 2);
      if (bad !== undefined) return bad;
      return isText(args[0].type) && isText(args[1].type) ? ft(BOOL) : takesError(name, 'two strings', args);
    },
    emit: ([s, t]) => `${s}.${method}(${t})`,
  };
}

const concat: FunctionDef = {
  name: 'concat',
  description: "Joins strings. Null when any argument is null (SQL ||); wrap optional parts in coalesce(x, '').",
  example: "concat(col('first'), ' ', col('last'))",
  signature: 'concat(string, …) → string',
  nulls: 'propagate',
  infer: (args) => {
    const bad = arityError('concat', args, 1, Number.POSITIVE_INFINITY);
    if (bad !== undefined) return bad;
    return args.every((a) => isText(a.type))
      ? ft(STRING)
      : takesError('concat', "strings (convert others with .cast('string'))", args);
  },
  emit: (args) => (args.length === 1 ? args[0] : `(${args.join(' + ')})`),
};

const substrDef: FunctionDef = {
  name: 'substr',
  description:
    'Substring from 1-based `start`, `len` characters (to the end without `len`). Positions count UTF-16 code units, as `length` does; a start before 1 still uses up `len` (SQL rules).',
  example: "col('sku').substr(1, 3)",
  signature: 'substr(string, start: int64, len?: int64) → string',
  nulls: 'propagate',
  infer: (args) => {
    const bad = arityError('substr', args, 2, 3);
    if (bad !== undefined) return bad;
    const ok = isText(args[0].type) && args.slice(1).every((a) => isKind(a.type, 'int64'));
    return ok ? ft(STRING) : takesError('substr', 'a string, an int64 start and an optional int64 length', args);
  },
  emit: ([s, start, len]) => (len === undefined ? `f.substrFrom(${s}, ${start})` : `f.substr(${s}, ${start}, ${len})`),
  helpers: { substr, substrFrom },
};

const replace: FunctionDef = {
  name: 'replace',
  description: 'Replaces every occurrence of `search` literally (no patterns).',
  example: "col('phone').replace(' ', '')",
  signature: 'replace(string, search: string, replacement: string) → string',
  nulls: 'propagate',
  infer: (args) => {
    const bad = arityError('replace', args, 3, 3);
    if (bad !== undefined) return bad;
    return args.every((a) => isText(a.type)) ? ft(STRING) : takesError('replace', 'three strings', args);
  },
  emit: ([s, search, replacement]) => `f.replaceAll(${s}, ${search}, ${replacement})`,
  helpers: { replaceAll },
};

export const textFunctions: readonly FunctionDef[] = [
  ofText('lower', 'string', 'Lower case.', (s) => `${s}.toLowerCase()`),
  ofText('upper', 'string', 'Upper case.', (s) => `${s}.toUpperCase()`),
  ofText(
    'trim',
    'string',
    'Removes leading and trailing white space (Unicode white space, as JavaScript trims).',
    (s) => `${s}.trim()`,
  ),
  ofText(
    'length',
    'int64',
    'Number of UTF-16 code units (JavaScript string length): a character outside the Basic Multilingual Plane, such as most emoji, counts 2. Chosen for speed; substr counts the same way.',
    (s) => `${s}.length`,
  ),
  concat,
  substrDef,
  textTest('contains', 'includes', 'True when the string contains the other.'),
  textTest('startsWith', 'startsWith', 'True when the string starts with the other.'),
  textTest('endsWith', 'endsWith', 'True when the string ends with the other.'),
  replace,
];
