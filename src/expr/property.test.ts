import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { type ExprNode, exprToString } from './ast.ts';
import { checkExpr } from './check.ts';
import { compilePredicate, compileProjection } from './compile.ts';
import { createRegistry } from './functions.ts';
import type { DataType, Schema, Value } from './types.ts';
import { valueMatches } from './typing.ts';

/*
 * Compiled expressions against a deliberately naive reference: a recursive evaluator over the expression tree that
 * uses JavaScript's Date for calendar math and string/BigInt arithmetic for rounding, sharing no code with codegen.
 */

type Kind = 'int64' | 'float64' | 'string' | 'bool' | 'timestamp' | 'date';
type RefKind = Kind | 'null';
type Row = Readonly<Record<string, Value>>;

const KINDS: readonly Kind[] = ['int64', 'float64', 'string', 'bool', 'timestamp', 'date'];
const registry = createRegistry();
const schema: Schema = {
  fields: KINDS.flatMap((kind) => [
    { name: kind, type: { kind } as DataType, nullable: false },
    { name: `${kind}_n`, type: { kind } as DataType, nullable: true },
  ]),
};
const DAY = 86_400_000;
const MAX = Number.MAX_SAFE_INTEGER;

// ---------------------------------------------------------------- data

const STRINGS = [
  '',
  'a',
  'B',
  'ab',
  ' a ',
  'hello',
  'héllo',
  '😀x',
  '42',
  ' -7 ',
  '1.5',
  '1e3',
  'NaN',
  'true',
  'FALSE',
  '2024-02-29',
  '2023-02-29',
  '1969-12-31',
  '2024-03-15T10:42:07Z',
  '2024-03-15T10:42:07.5+02:00',
  '1969-12-31T23:59:59.999-00:30',
  '2024-03-15T10:42:07',
  '2024-03-15T24:00:00Z',
  '$&',
];

const values: Record<Kind, fc.Arbitrary<Value>> = {
  int64: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: -5, max: 12 }) },
    { weight: 2, arbitrary: fc.integer({ min: -100_000, max: 100_000 }) },
    { weight: 1, arbitrary: fc.integer({ min: -1e13, max: 1e13 }) },
  ),
  float64: fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: -4000, max: 4000 }).map((n) => n / 8) },
    { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -0, 0.1, 1.005, 2.5, -2.5, 1e21) },
  ),
  string: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...STRINGS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 4 }) },
  ),
  bool: fc.boolean(),
  timestamp: fc.oneof(
    fc.constantFrom(-1, 0, 1, -DAY, 951_782_400_000, -62_135_596_800_001),
    fc.integer({ min: -2e12, max: 2e12 }),
    fc.integer({ min: -7e13, max: 7e13 }),
  ),
  date: fc.oneof(fc.constantFrom(-1, 0, 11_016, -719_163), fc.integer({ min: -800_000, max: 800_000 })),
};

const rowArb: fc.Arbitrary<Row> = fc.record(
  Object.fromEntries(
    schema.fields.map((f) => [
      f.name,
      f.nullable ? fc.option(values[f.type.kind as Kind], { nil: null, freq: 3 }) : values[f.type.kind as Kind],
    ]),
  ),
);
const rowsArb = fc.array(rowArb, { maxLength: 12 });

function toColumns(rows: readonly Row[]): Value[][] {
  return schema.fields.map((f) => rows.map((r) => r[f.name]));
}

// ---------------------------------------------------------------- well-typed expression trees

const call = (fn: string, ...args: ExprNode[]): ExprNode => ({ kind: 'call', fn, args });
const col = (name: string): ExprNode => ({ kind: 'col', name });
const lit = (value: Value, kind: DataType['kind']): ExprNode => ({ kind: 'lit', value, type: { kind } as DataType });
const cast = (arg: ExprNode, kind: Kind): ExprNode => ({ kind: 'cast', arg, to: { kind } as DataType });

type Gen = (kind: Kind, depth: number) => fc.Arbitrary<ExprNode>;

function leaves(kind: Kind, withNull: boolean): fc.Arbitrary<ExprNode> {
  const options = [
    { weight: 4, arbitrary: fc.constantFrom(col(kind), col(`${kind}_n`)) },
    { weight: 2, arbitrary: values[kind].map((v) => lit(v, kind)) },
  ];
  if (withNull) options.push({ weight: 1, arbitrary: fc.constant(lit(null, 'null')) });
  return fc.oneof(...options);
}

const smallInt = fc.integer({ min: -3, max: 6 }).map((n) => lit(n, 'int64'));

/** Calls, casts, coalesces and cases whose result has `kind`, with children from `sub`. */
function composites(kind: Kind, sub: (k: Kind) => fc.Arbitrary<ExprNode>): fc.Arbitrary<ExprNode>[] {
  const [i, f, s, b, ts, d] = KINDS.map((k) => sub(k));
  const num = fc.oneof(i, f);
  const shared = [
    fc.array(sub(kind), { minLength: 1, maxLength: 3 }).map((args) => call('coalesce', ...args)),
    fc.tuple(fc.array(fc.tuple(b, sub(kind)), { minLength: 1, maxLength: 2 }), sub(kind)).map(
      ([arms, otherwise]): ExprNode => ({
        kind: 'case',
        branches: arms.map(([when, then]) => ({ when, then })),
        otherwise,
      }),
    ),
  ];
  const unary = (fns: string[], arg: fc.Arbitrary<ExprNode>) =>
    fc.tuple(fc.constantFrom(...fns), arg).map(([fn, a]) => call(fn, a));
  const binary = (fns: string[], a: fc.Arbitrary<ExprNode>, c: fc.Arbitrary<ExprNode>) =>
    fc.tuple(fc.constantFrom(...fns), a, c).map(([fn, x, y]) => call(fn, x, y));
  const own: Record<Kind, fc.Arbitrary<ExprNode>[]> = {
    int64: [
      binary(['add', 'sub', 'mul', 'mod'], i, i),
      unary(['neg', 'abs', 'floor', 'ceil'], i),
      fc.tuple(i, smallInt).map(([x, digits]) => call('round', x, digits)),
      unary(['length'], s),
      unary(['year', 'month', 'day', 'dayOfWeek'], fc.oneof(ts, d)),
      unary(['hour'], ts),
      fc.oneof(s, f, b).map((x) => cast(x, 'int64')),
    ],
    float64: [
      binary(['add', 'sub', 'mul'], f, num),
      binary(['add', 'mul'], i, f),
      binary(['div'], num, num),
      num.map((x) => call('div', x, lit(0, 'int64'))),
      unary(['neg', 'abs', 'floor', 'ceil'], f),
      fc.tuple(f, fc.integer({ min: -2, max: 3 })).map(([x, digits]) => call('round', x, lit(digits, 'int64'))),
      fc.oneof(i, s, b).map((x) => cast(x, 'float64')),
    ],
    string: [
      unary(['lower', 'upper', 'trim'], s),
      fc.array(s, { minLength: 1, maxLength: 3 }).map((args) => call('concat', ...args)),
      fc
        .tuple(s, i, fc.option(i, { nil: undefined }))
        .map(([x, st, len]) => (len === undefined ? call('substr', x, st) : call('substr', x, st, len))),
      fc
        .tuple(s, fc.constantFrom('a', 'l', '', '$&'), fc.constantFrom('', 'X', '$&'))
        .map(([x, from, to]) => call('replace', x, lit(from, 'string'), lit(to, 'string'))),
      fc.oneof(i, f, b, ts, d).map((x) => cast(x, 'string')),
    ],
    bool: [
      fc
        .oneof(fc.tuple(num, num), fc.tuple(s, s), fc.tuple(b, b), fc.tuple(ts, ts), fc.tuple(d, d))
        .chain(([x, y]) => fc.constantFrom('eq', 'ne', 'lt', 'le', 'gt', 'ge').map((fn) => call(fn, x, y))),
      binary(['and', 'or'], b, b),
      unary(['not'], b),
      fc.tuple(fc.constantFrom('isNull', 'isNotNull'), fc.oneof(i, f, s, b, ts, d)).map(([fn, x]) => call(fn, x)),
      fc
        .tuple(i, fc.array(fc.integer({ min: -3, max: 6 }), { minLength: 1, maxLength: 4 }))
        .map(([x, list]) => call('in', x, ...list.map((v) => lit(v, 'int64')))),
      fc
        .tuple(s, fc.array(fc.constantFrom(...STRINGS.slice(0, 8)), { minLength: 1, maxLength: 3 }))
        .map(([x, list]) => call('in', x, ...list.map((v) => lit(v, 'string')))),
      binary(['contains', 'startsWith', 'endsWith'], s, s),
      fc.oneof(s, i).map((x) => cast(x, 'bool')),
    ],
    timestamp: [
      fc
        .tuple(fc.constantFrom('year', 'month', 'day', 'hour', 'minute', 'second'), ts)
        .map(([unit, x]) => call('dateTrunc', lit(unit, 'string'), x)),
      s.map((x) => cast(x, 'timestamp')),
      fc.constantFrom(col('int64'), col('int64_n')).map((x) => cast(x, 'timestamp')),
      d.map((x) => cast(x, 'timestamp')),
    ],
    date: [
      fc.oneof(ts, d).map((x) => call('toDate', x)),
      fc
        .tuple(fc.constantFrom('year', 'month', 'day'), d)
        .map(([unit, x]) => call('dateTrunc', lit(unit, 'string'), x)),
      fc.oneof(s, ts).map((x) => cast(x, 'date')),
    ],
  };
  return [...own[kind], ...shared];
}

/** Memoised generators of trees of depth ≤ `depth` with result `kind`; `withNull` allows untyped null leaves. */
function treeGen(withNull: boolean): Gen {
  const memo = new Map<string, fc.Arbitrary<ExprNode>>();
  const gen: Gen = (kind, depth) => {
    const key = `${kind}/${depth}`;
    let arb = memo.get(key);
    if (arb === undefined) {
      const base = leaves(kind, withNull);
      arb =
        depth === 0
          ? base
          : fc.oneof(
              { weight: 1, arbitrary: base },
              { weight: 4, arbitrary: fc.oneof(...composites(kind, (k) => gen(k, depth - 1))) },
            );
      memo.set(key, arb);
    }
    return arb;
  };
  return gen;
}

const typed = treeGen(true);
const kindArb = fc.constantFrom(...KINDS);
const exprArb = kindArb.chain((k) => typed(k, 4));

// ---------------------------------------------------------------- reference evaluator

const FIELD_KIND: Record<string, Kind> = Object.fromEntries(schema.fields.map((f) => [f.name, f.type.kind as Kind]));

function common(kinds: readonly RefKind[]): RefKind {
  const real = kinds.filter((k) => k !== 'null');
  if (real.length === 0) return 'null';
  return real.includes('float64') ? 'float64' : real[0];
}

const BOOL_FNS = new Set(['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'and', 'or', 'not', 'isNull', 'isNotNull']);
const TEXT_FNS = new Set(['lower', 'upper', 'trim', 'concat', 'substr', 'replace']);

function kindOf(e: ExprNode): RefKind {
  switch (e.kind) {
    case 'col':
      return FIELD_KIND[e.name];
    case 'lit':
    case 'cast':
      return (e.kind === 'lit' ? e.type.kind : e.to.kind) as RefKind;
    case 'case':
      return common([...e.branches.map((b) => kindOf(b.then)), kindOf(e.otherwise)]);
    case 'call': {
      const ks = e.args.map(kindOf);
      if (BOOL_FNS.has(e.fn) || ['contains', 'startsWith', 'endsWith'].includes(e.fn)) return 'bool';
      if (TEXT_FNS.has(e.fn)) return 'string';
      if (['add', 'sub', 'mul', 'coalesce'].includes(e.fn)) return common(ks);
      if (['neg', 'abs', 'floor', 'ceil', 'round'].includes(e.fn)) return ks[0];
      if (e.fn === 'div') return 'float64';
      if (e.fn === 'toDate') return 'date';
      if (e.fn === 'dateTrunc') return ks[1];
      return 'int64';
    }
  }
}

class Overflow extends Error {}

/** Half away from zero on the shortest decimal form of `x`, in exact BigInt arithmetic. */
function refRound(x: number, digits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const m = /^(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(String(Math.abs(x)));
  if (m === null) throw new Error(`unexpected number text ${x}`);
  const frac = m[2] ?? '';
  const mantissa = BigInt(m[1] + frac);
  const shift = Number(m[3] ?? 0) - frac.length + digits;
  let q: bigint;
  if (shift >= 0) q = mantissa * 10n ** BigInt(shift);
  else {
    const div = 10n ** BigInt(-shift);
    q = mantissa / div + (2n * (mantissa % div) >= div ? 1n : 0n);
  }
  const out = Number(`${q}e${-digits}`);
  return out === 0 ? 0 : x < 0 ? -out : out;
}

function refSubstr(s: string, start: number, len: number): string {
  let out = '';
  for (let pos = 1; pos <= s.length; pos++) if (pos >= start && pos < start + len) out += s[pos - 1];
  return out;
}

function utc(ms: number): Date {
  return new Date(ms);
}

function civil(y: number, m: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(y, m, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

function refTrunc(unit: string, v: number, kind: RefKind): number {
  const ms = kind === 'date' ? v * DAY : v;
  const t = utc(ms);
  const parts = [
    t.getUTCFullYear(),
    t.getUTCMonth(),
    t.getUTCDate(),
    t.getUTCHours(),
    t.getUTCMinutes(),
    t.getUTCSeconds(),
  ];
  const keep = ['year', 'month', 'day', 'hour', 'minute', 'second'].indexOf(unit) + 1;
  const [y, mo, d, h, mi, s] = parts.map((p, k) => (k < keep ? p : k === 2 ? 1 : 0));
  const out = civil(y, mo, d, h, mi, s);
  return kind === 'date' ? out / DAY : out;
}

function refParseTimestamp(s: string): number | null {
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?(Z|z|[+-]\d\d:?\d\d)?)?$/.exec(s);
  if (m === null) return null;
  const [y, mo, d, h, mi, sec] = [1, 2, 3, 4, 5, 6].map((k) => Number(m[k] ?? 0));
  if (m[4] !== undefined && m[8] === undefined) return null;
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 59) return null;
  const ms = civil(y, mo - 1, d, h, mi, sec, Number((m[7] ?? '').slice(0, 3).padEnd(3, '0')));
  if (utc(ms).getUTCDate() !== d && m[4] === undefined) return null;
  if (utc(civil(y, mo - 1, d)).getUTCDate() !== d) return null;
  const zone = m[8] ?? 'Z';
  if (zone === 'Z' || zone === 'z') return ms;
  const [zh, zm] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
  if (zh > 23 || zm > 59) return null;
  return ms - (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm) * 60_000;
}

function refCast(v: Value, from: RefKind, to: Kind): Value {
  if (from === to) return v;
  if (to === 'string') {
    if (from === 'timestamp') return utc(v as number).toISOString();
    if (from === 'date')
      return utc((v as number) * DAY)
        .toISOString()
        .split('T')[0];
    return String(v);
  }
  if (from === 'bool') return v ? 1 : 0;
  if (to === 'int64') {
    if (from === 'string' && !/^\s*[+-]?\d+\s*$/.test(v as string)) return null;
    const t = Math.trunc(Number(v));
    return Number.isSafeInteger(t) ? t : null;
  }
  if (to === 'float64') {
    if (from === 'int64') return v;
    const t = (v as string).trim();
    if (['NaN', 'Infinity', '+Infinity', '-Infinity'].includes(t)) return Number(t);
    return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : null;
  }
  if (to === 'bool') {
    if (from === 'int64') return v !== 0;
    const t = (v as string).trim().toLowerCase();
    return t === 'true' ? true : t === 'false' ? false : null;
  }
  if (to === 'timestamp')
    return from === 'int64' ? v : from === 'date' ? (v as number) * DAY : refParseTimestamp(v as string);
  if (from === 'timestamp') return Math.floor((v as number) / DAY);
  const ms = /^\d{4}-\d\d-\d\d$/.test(v as string) ? refParseTimestamp(v as string) : null;
  return ms === null ? null : ms / DAY;
}

function refArith(fn: string, a: number, b: number, intResult: boolean): Value {
  const r = fn === 'add' ? a + b : fn === 'sub' ? a - b : a * b;
  if (intResult && Math.abs(r) > MAX) throw new Overflow();
  return r;
}

function calendar(fn: string, v: number, kind: RefKind): number {
  const t = utc(kind === 'date' ? v * DAY : v);
  if (fn === 'year') return t.getUTCFullYear();
  if (fn === 'month') return t.getUTCMonth() + 1;
  if (fn === 'day') return t.getUTCDate();
  if (fn === 'hour') return t.getUTCHours();
  return t.getUTCDay() === 0 ? 7 : t.getUTCDay();
}

function strictCall(e: Extract<ExprNode, { kind: 'call' }>, args: Value[]): Value {
  const ks = e.args.map(kindOf);
  const [a, b, c] = args as [never, never, never];
  switch (e.fn) {
    case 'add':
    case 'sub':
    case 'mul':
      return refArith(e.fn, a, b, common(ks) === 'int64');
    case 'div':
      return b === 0 ? null : (a as number) / b;
    case 'mod':
      return b === 0 ? null : (a as number) % b;
    case 'neg':
      return -a;
    case 'abs':
      return Math.abs(a);
    case 'floor':
      return Math.floor(a);
    case 'ceil':
      return Math.ceil(a);
    case 'round':
      return refRound(a, b ?? 0);
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'in':
      return args.slice(1).includes(a);
    case 'not':
      return !a;
    case 'lower':
      return (a as string).toLowerCase();
    case 'upper':
      return (a as string).toUpperCase();
    case 'trim':
      return (a as string).trim();
    case 'length':
      return (a as string).length;
    case 'concat':
      return args.join('');
    case 'substr':
      return refSubstr(a, b, c ?? Number.POSITIVE_INFINITY);
    case 'replace':
      return b === '' ? a : (a as string).split(b).join(c);
    case 'contains':
      return (a as string).includes(b);
    case 'startsWith':
      return (a as string).startsWith(b);
    case 'endsWith':
      return (a as string).endsWith(b);
    case 'toDate':
      return ks[0] === 'date' ? a : Math.floor((a as number) / DAY);
    case 'dateTrunc':
      return refTrunc(a, b, ks[1]);
    default:
      return calendar(e.fn, a, ks[0]);
  }
}

/**
 * `eager` evaluates every subexpression, as the compiled code may for arguments it reuses: it decides whether an
 * int64 overflow the compiled code reports is one the expression really contains.
 */
function ref(e: ExprNode, row: Row, eager: boolean): Value {
  switch (e.kind) {
    case 'col':
      return row[e.name];
    case 'lit':
      return e.value;
    case 'cast': {
      const v = ref(e.arg, row, eager);
      return v === null ? null : refCast(v, kindOf(e.arg), e.to.kind as Kind);
    }
    case 'case': {
      let out: Value | undefined;
      for (const br of e.branches) {
        if (out !== undefined && !eager) break;
        const w = ref(br.when, row, eager);
        const then = w === true || eager ? ref(br.then, row, eager) : null;
        if (w === true && out === undefined) out = then;
      }
      const otherwise = out === undefined || eager ? ref(e.otherwise, row, eager) : null;
      return out === undefined ? otherwise : out;
    }
    case 'call':
      return refCall(e, row, eager);
  }
}

function refCall(e: Extract<ExprNode, { kind: 'call' }>, row: Row, eager: boolean): Value {
  if (e.fn === 'coalesce') {
    let out: Value = null;
    for (const a of e.args) {
      if (out !== null && !eager) break;
      const v = ref(a, row, eager);
      if (out === null) out = v;
    }
    return out;
  }
  const args = e.args.map((a) => ref(a, row, eager));
  switch (e.fn) {
    case 'and':
      return args.includes(false) ? false : args.includes(null) ? null : true;
    case 'or':
      return args.includes(true) ? true : args.includes(null) ? null : false;
    case 'isNull':
      return args[0] === null;
    case 'isNotNull':
      return args[0] !== null;
    default:
      return args.includes(null) ? null : strictCall(e, args);
  }
}

// ---------------------------------------------------------------- properties

function same(a: Value, b: Value): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  return a === b;
}

/** Every row's reference value, or 'overflow' when some row overflows int64. */
function reference(e: ExprNode, rows: readonly Row[], eager: boolean): Value[] | 'overflow' {
  try {
    return rows.map((r) => ref(e, r, eager));
  } catch (err) {
    if (err instanceof Overflow) return 'overflow';
    throw err;
  }
}

function tryRun(exprs: readonly ExprNode[], rows: readonly Row[]): Value[][] | 'overflow' {
  const p = compileProjection(exprs, schema, registry);
  try {
    return p.run(toColumns(rows), rows.length);
  } catch (err) {
    assert.match(String(err), /RangeError: int64 overflow/);
    return 'overflow';
  }
}

test('compiled projections agree with the reference evaluator, row by row', () => {
  fc.assert(
    fc.property(fc.array(exprArb, { minLength: 1, maxLength: 4 }), rowsArb, (exprs, rows) => {
      const actual = tryRun(exprs, rows);
      if (actual === 'overflow') {
        assert.ok(
          exprs.some((e) => reference(e, rows, true) === 'overflow'),
          'compiled code overflowed where the reference does not',
        );
        return;
      }
      exprs.forEach((e, k) => {
        const expected = reference(e, rows, false);
        if (expected === 'overflow') return;
        expected.forEach((v, r) => {
          assert.ok(
            same(actual[k][r], v),
            `${exprToString(e)} on row ${JSON.stringify(rows[r])}: compiled ${String(actual[k][r])}, reference ${String(v)}`,
          );
        });
      });
    }),
    { numRuns: 500 },
  );
});

test('compiled predicates select exactly the rows the reference finds true', () => {
  fc.assert(
    fc.property(typed('bool', 4), rowsArb, (e, rows) => {
      const expected = reference(e, rows, false);
      if (expected === 'overflow' || reference(e, rows, true) === 'overflow') return;
      const sel = new Int32Array(rows.length);
      const n = compilePredicate(e, schema, registry).select(toColumns(rows), rows.length, sel);
      const want = expected.flatMap((v, r) => (v === true ? [r] : []));
      assert.deepEqual([...sel.slice(0, n)], want, exprToString(e));
    }),
    { numRuns: 300 },
  );
});

test('values match the inferred type; a non-nullable type never yields null', () => {
  fc.assert(
    fc.property(exprArb, rowsArb, (e, rows) => {
      const r = checkExpr(e, schema, registry);
      assert.deepEqual(r.errors, [], exprToString(e));
      const out = tryRun([e], rows);
      if (out === 'overflow') return;
      for (const v of out[0]) {
        if (v === null) assert.ok(r.type!.nullable, `${exprToString(e)} is not nullable but gave null`);
        else assert.ok(valueMatches(r.type!.type, v), `${exprToString(e)} gave ${String(v)} for ${r.type!.type.kind}`);
      }
    }),
    { numRuns: 600 },
  );
});

// ---------------------------------------------------------------- ill-typed trees

const strict = treeGen(false);

/** A function applied to arguments of kinds it does not take. */
const BAD_CALLS: readonly [string, ...Kind[]][] = [
  ['add', 'string', 'int64'],
  ['sub', 'bool', 'int64'],
  ['mul', 'timestamp', 'int64'],
  ['div', 'string', 'float64'],
  ['mod', 'float64', 'int64'],
  ['neg', 'string'],
  ['abs', 'bool'],
  ['round', 'date'],
  ['lt', 'timestamp', 'date'],
  ['eq', 'int64', 'string'],
  ['ge', 'bool', 'int64'],
  ['and', 'int64', 'bool'],
  ['or', 'string', 'bool'],
  ['not', 'int64'],
  ['lower', 'int64'],
  ['upper', 'bool'],
  ['trim', 'date'],
  ['length', 'int64'],
  ['concat', 'string', 'int64'],
  ['substr', 'int64', 'int64'],
  ['contains', 'int64', 'string'],
  ['startsWith', 'string', 'bool'],
  ['sub', 'int64', 'date'],
  ['replace', 'bool', 'string', 'string'],
  ['year', 'string'],
  ['hour', 'date'],
  ['dayOfWeek', 'int64'],
  ['toDate', 'string'],
  ['coalesce', 'int64', 'string'],
  ['in', 'int64', 'string'],
];

const badCallArb = fc
  .constantFrom(...BAD_CALLS)
  .chain(([fn, ...kinds]) => fc.tuple(fc.constant(fn), ...kinds.map((k) => strict(k, 2))))
  .chain(([fn, ...args]) =>
    fc.constantFrom(
      { fn, node: call(fn, ...args) },
      { fn, node: call('isNull', call(fn, ...args)) },
      { fn, node: call('coalesce', lit('x', 'string'), cast(call(fn, ...args), 'string')) },
    ),
  );

test('ill-typed trees are rejected with an error naming the function', () => {
  fc.assert(
    fc.property(badCallArb, ({ fn, node }) => {
      const r = checkExpr(node, schema, registry);
      assert.equal(r.type, undefined);
      assert.ok(
        r.errors.some((e) => e.message.includes(`${fn === 'in' ? 'isIn' : fn}(`) && e.message.includes(`: ${fn} `)),
        `${exprToString(node)}: ${r.errors.map((e) => e.message).join(' | ')}`,
      );
      assert.throws(() => compileProjection([node], schema, registry), /cannot compile/);
    }),
    { numRuns: 300 },
  );
});

test('the reference itself agrees with hand-checked values', () => {
  assert.equal(refRound(1.005, 2), 1.01);
  assert.equal(refRound(-2.5, 0), -3);
  assert.equal(refRound(1250, -2), 1300);
  assert.equal(refTrunc('month', -1, 'timestamp'), Date.UTC(1969, 11, 1));
  assert.equal(refParseTimestamp('1969-12-31T23:59:59.999Z'), -1);
  assert.equal(refParseTimestamp('2023-02-29'), null);
  assert.equal(refSubstr('hello', 0, 2), 'h');
  assert.equal(refCast(-1, 'date', 'string'), '1969-12-31');
});
