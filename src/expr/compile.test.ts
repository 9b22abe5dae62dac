import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coalesce, col, concat, type Expr, lit, not, typedLit, when } from './builders.ts';
import { compilePredicate, compileProjection } from './compile.ts';
import { createRegistry, type FunctionDef } from './functions.ts';
import type { DataType, Field, Schema, Value } from './types.ts';

const registry = createRegistry();

function field(name: string, type: DataType, nullable = true): Field {
  return { name, type, nullable };
}

const schema: Schema = {
  fields: [
    field('i', { kind: 'int64' }, false),
    field('in', { kind: 'int64' }),
    field('x', { kind: 'float64' }),
    field('s', { kind: 'string' }),
    field('b', { kind: 'bool' }),
    field('c', { kind: 'bool' }),
    field('ts', { kind: 'timestamp' }),
    field('d', { kind: 'date' }),
    field('dec', { kind: 'decimal', precision: 12, scale: 2 }),
    field('e', { kind: 'enum', name: 'status', symbols: ['OPEN', 'PAID'] }),
  ],
};

type Row = Partial<Record<string, Value>>;

function columns(rows: readonly Row[]): Value[][] {
  return schema.fields.map((f) => rows.map((r) => r[f.name] ?? (f.nullable ? null : 0)));
}

/** Evaluates `e` over each row through the compiled projection. */
function evalRows(e: Expr, rows: readonly Row[]): Value[] {
  return compileProjection([e.node], schema, registry).run(columns(rows), rows.length)[0];
}

function evalOne(e: Expr, row: Row = {}): Value {
  return evalRows(e, [row])[0];
}

const DAY = 86_400_000;

test('golden: null propagation through temporaries', () => {
  const p = compileProjection([col('in').add(col('i')).node, col('in').mul(col('x')).node], schema, registry);
  assert.equal(
    p.source,
    [
      "'use strict';",
      'return function project(cols, n) {',
      '  const c0 = cols[0], c1 = cols[1], c2 = cols[2];',
      '  const o0 = new Array(n), o1 = new Array(n);',
      '  let t0, t1;',
      '  for (let i = 0; i < n; i++) {',
      '    o0[i] = ((t0 = c1[i]) === null ? null : f.checkedInt64(t0 + c0[i]));',
      '    o1[i] = (((t0 = c1[i]) === null || (t1 = c2[i]) === null) ? null : (t0 * t1));',
      '  }',
      '  return [o0, o1];',
      '};',
    ].join('\n'),
  );
});

test('golden: bare columns are passed through, literals are parameters', () => {
  const p = compileProjection(
    [col('s').node, when(col('i').gt(100), "it's big").otherwise('small').node, col('s').lower().node],
    schema,
    registry,
  );
  assert.equal(
    p.source,
    [
      "'use strict';",
      'return function project(cols, n) {',
      '  const c0 = cols[0], c3 = cols[3];',
      '  const o1 = new Array(n), o2 = new Array(n);',
      '  let t0;',
      '  for (let i = 0; i < n; i++) {',
      '    o1[i] = ((c0[i] > p[0]) ? p[1] : p[2]);',
      '    o2[i] = ((t0 = c3[i]) === null ? null : t0.toLowerCase());',
      '  }',
      '  return [cols[3], o1, o2];',
      '};',
    ].join('\n'),
  );
  const cols = columns([{ i: 101, s: 'AB' }, { i: 5 }]);
  const out = p.run(cols, 2);
  assert.equal(out[0], cols[3], 'a bare column reuses the input array');
  assert.deepEqual(out.slice(1), [
    ["it's big", 'small'],
    ['ab', null],
  ]);
});

test('golden: a predicate writes a selection vector; null counts as false', () => {
  const p = compilePredicate(col('s').eq('paid').and(col('i').gt(100)).node, schema, registry);
  assert.equal(
    p.source,
    [
      "'use strict';",
      'return function select(cols, n, sel) {',
      '  const c0 = cols[0], c3 = cols[3];',
      '  let t0, t1;',
      '  let k = 0;',
      '  for (let i = 0; i < n; i++) {',
      '    if (((t1 = ((t0 = c3[i]) === null ? null : (t0 === p[0]))), ((t1 === false || (c0[i] > p[1]) === false) ? false : ((t1 === null) ? null : true))) === true) sel[k++] = i;',
      '  }',
      '  return k;',
      '};',
    ].join('\n'),
  );
  const rows = [
    { s: 'paid', i: 200 },
    { s: null, i: 200 },
    { s: 'paid', i: 5 },
    { s: 'open', i: 500 },
    { s: 'paid', i: 101 },
  ];
  const sel = new Int32Array(8);
  assert.equal(p.select(columns(rows), rows.length, sel), 2);
  assert.deepEqual([...sel.slice(0, 2)], [0, 4]);
});

test('golden: an argument used twice is evaluated once into a temporary', () => {
  const p = compileProjection([col('i').add(1).isIn([2, 3]).node], schema, registry);
  assert.ok(p.source.includes('o0[i] = ((t0 = f.checkedInt64(c0[i] + p[0])), (t0 === p[1] || t0 === p[2]));'));
  assert.deepEqual(evalRows(col('i').add(1).isIn([2, 3]), [{ i: 1 }, { i: 2 }, { i: 5 }]), [true, true, false]);
});

test('string literals never become code text', () => {
  const evil = "'); throw new Error('injected'); ('";
  const p = compileProjection([concat(col('s'), evil).node], schema, registry);
  assert.ok(!p.source.includes('injected'));
  assert.deepEqual(p.run(columns([{ s: 'a' }]), 1)[0], [`a${evil}`]);
});

test('arithmetic: types, null propagation, division and modulo by zero', () => {
  assert.equal(evalOne(col('i').add(2), { i: 40 }), 42);
  assert.equal(evalOne(col('i').sub(col('x')), { i: 1, x: 0.5 }), 0.5);
  assert.equal(evalOne(col('in').mul(3), { in: null }), null);
  assert.equal(evalOne(col('i').div(4), { i: 10 }), 2.5);
  assert.equal(evalOne(col('i').div(0), { i: 10 }), null);
  assert.equal(evalOne(col('x').div(col('i')), { x: 0, i: 0 }), null);
  assert.equal(evalOne(col('i').mod(3), { i: -7 }), -1);
  assert.equal(evalOne(col('i').mod(0), { i: 7 }), null);
  assert.equal(evalOne(col('i').neg(), { i: 5 }), -5);
  assert.equal(evalOne(col('x').abs(), { x: -2.5 }), 2.5);
  assert.equal(evalOne(col('x').floor(), { x: -2.5 }), -3);
  assert.equal(evalOne(col('x').ceil(), { x: -2.5 }), -2);
  assert.equal(evalOne(col('dec').add(col('i')), { dec: 1.25, i: 2 }), 3.25);
});

test('int64 overflow is an error, not a silently rounded integer', () => {
  assert.throws(() => evalOne(col('i').mul(col('i')), { i: 2 ** 30 }), /int64 overflow/);
  assert.throws(() => evalOne(col('i').add(1), { i: Number.MAX_SAFE_INTEGER }), /int64 overflow/);
  assert.equal(evalOne(col('i').cast('float64').mul(col('i')), { i: 2 ** 30 }), 2 ** 60);
});

test('round: half away from zero, on the decimal the user wrote', () => {
  const r = (x: number, d?: number): Value => evalOne(d === undefined ? col('x').round() : col('x').round(d), { x });
  assert.equal(r(2.5), 3);
  assert.equal(r(-2.5), -3);
  assert.equal(r(0.5), 1);
  assert.equal(r(-0.5), -1);
  assert.equal(r(2.4999), 2);
  assert.equal(r(1.005, 2), 1.01);
  assert.equal(r(-1.005, 2), -1.01);
  assert.equal(r(0.285, 2), 0.29);
  assert.equal(r(1.2345, 3), 1.235);
  assert.equal(r(1250, -2), 1300);
  assert.equal(r(-1249, -2), -1200);
  assert.ok(Object.is(r(-0.4), 0), 'no negative zero');
  assert.ok(Number.isNaN(r(Number.NaN) as number));
  assert.equal(evalOne(col('i').round(2), { i: 7 }), 7);
  assert.equal(evalOne(col('i').round(-1), { i: 15 }), 20);
});

test('comparisons across number kinds, text, enums and booleans', () => {
  assert.equal(evalOne(col('i').lt(col('x')), { i: 1, x: 1.5 }), true);
  assert.equal(evalOne(col('i').eq(col('dec')), { i: 2, dec: 2 }), true);
  assert.equal(evalOne(col('s').ge('b'), { s: 'a' }), false);
  assert.equal(evalOne(col('e').eq('PAID'), { e: 'PAID' }), true);
  assert.equal(evalOne(col('b').gt(false), { b: true }), true);
  assert.equal(evalOne(col('ts').le(col('ts')), { ts: 5 }), true);
  assert.equal(evalOne(col('s').ne('a'), { s: null }), null);
  assert.throws(() => evalOne(col('ts').lt(col('d'))), /lt takes two values of the same kind.*got timestamp and date/);
});

test('three-valued logic: and, or, not', () => {
  const vals = [true, false, null];
  const and3 = (a: boolean | null, b: boolean | null) =>
    a === false || b === false ? false : a === null || b === null ? null : true;
  const or3 = (a: boolean | null, b: boolean | null) =>
    a === true || b === true ? true : a === null || b === null ? null : false;
  const rows = vals.flatMap((b) => vals.map((c) => ({ b, c })));
  assert.deepEqual(
    evalRows(col('b').and(col('c')), rows),
    rows.map((r) => and3(r.b, r.c)),
  );
  assert.deepEqual(
    evalRows(col('b').or(col('c')), rows),
    rows.map((r) => or3(r.b, r.c)),
  );
  assert.deepEqual(
    evalRows(not(col('b')), rows),
    rows.map((r) => (r.b === null ? null : !r.b)),
  );
  assert.equal(evalOne(col('b').and(lit(null)), { b: false }), false);
  assert.equal(evalOne(col('b').or(lit(null)), { b: false }), null);
});

test('null tests and coalesce', () => {
  assert.deepEqual(evalRows(col('s').isNull(), [{ s: null }, { s: '' }]), [true, false]);
  assert.deepEqual(evalRows(col('s').isNotNull(), [{ s: null }, { s: '' }]), [false, true]);
  assert.equal(evalOne(col('i').isNull(), { i: 0 }), false);
  assert.deepEqual(evalRows(coalesce(col('in'), col('x'), 7), [{ in: 1 }, { x: 2.5 }, {}]), [1, 2.5, 7]);
  assert.equal(evalOne(coalesce(col('s'), lit(null))), null);
});

test('string functions', () => {
  assert.equal(evalOne(col('s').lower(), { s: 'ÀB' }), 'àb');
  assert.equal(evalOne(col('s').upper(), { s: 'ab' }), 'AB');
  assert.equal(evalOne(col('s').trim(), { s: '  a b \t' }), 'a b');
  assert.equal(evalOne(col('s').length(), { s: 'héllo' }), 5);
  assert.equal(evalOne(col('s').length(), { s: '😀' }), 2, 'UTF-16 code units');
  assert.equal(evalOne(col('e').lower(), { e: 'PAID' }), 'paid');
  assert.equal(evalOne(concat(col('s'), '-', col('e')), { s: 'a', e: 'OPEN' }), 'a-OPEN');
  assert.equal(evalOne(concat(col('s'), '-', col('e')), { s: 'a', e: null }), null);
  assert.equal(evalOne(col('s').contains('ll'), { s: 'hello' }), true);
  assert.equal(evalOne(col('s').startsWith('he'), { s: 'hello' }), true);
  assert.equal(evalOne(col('s').endsWith('lo'), { s: 'hello' }), true);
  assert.equal(evalOne(col('s').replace('l', '$&$&'), { s: 'hello' }), 'he$&$&$&$&o');
  assert.equal(evalOne(col('s').replace('', 'x'), { s: 'ab' }), 'ab');
});

test('substr is 1-based with SQL rules for out-of-range starts', () => {
  const sub = (start: number, len?: number) => evalOne(col('s').substr(start, len), { s: 'hello' });
  assert.equal(sub(1, 3), 'hel');
  assert.equal(sub(2), 'ello');
  assert.equal(sub(4, 10), 'lo');
  assert.equal(sub(0, 2), 'h');
  assert.equal(sub(-5, 2), '');
  assert.equal(sub(9), '');
  assert.equal(sub(2, -1), '');
  assert.equal(evalOne(col('s').substr(1, 1), { s: null }), null);
});

test('in compares with a literal list', () => {
  assert.deepEqual(evalRows(col('s').isIn(['a', 'b']), [{ s: 'a' }, { s: 'c' }, { s: null }]), [true, false, null]);
  assert.deepEqual(evalRows(col('x').isIn([1, 2.5]), [{ x: 1 }, { x: 2.5 }, { x: 3 }]), [true, true, false]);
  assert.equal(evalOne(col('e').isIn(['PAID']), { e: 'PAID' }), true);
});

test('temporal parts of negative timestamps fall on 1969-12-31', () => {
  const row = { ts: -1, d: -1 };
  assert.equal(evalOne(col('ts').year(), row), 1969);
  assert.equal(evalOne(col('ts').month(), row), 12);
  assert.equal(evalOne(col('ts').day(), row), 31);
  assert.equal(evalOne(col('ts').hour(), row), 23);
  assert.equal(evalOne(col('ts').dayOfWeek(), row), 3, '1969-12-31 was a Wednesday');
  assert.equal(evalOne(col('ts').toDate(), row), -1);
  assert.equal(evalOne(col('ts').toDate(), { ts: -DAY }), -1);
  assert.equal(evalOne(col('ts').toDate(), { ts: -DAY - 1 }), -2);
  assert.equal(evalOne(col('d').year(), row), 1969);
  assert.equal(evalOne(col('d').dayOfWeek(), { d: 0 }), 4, '1970-01-01 was a Thursday');
});

test('calendar parts agree with Date over leap years and distant centuries', () => {
  for (const ms of [Date.UTC(2024, 1, 29, 13), Date.UTC(1600, 1, 29), Date.UTC(1900, 2, 1), Date.UTC(-44, 2, 15, 9)]) {
    const date = new Date(ms);
    assert.equal(evalOne(col('ts').year(), { ts: ms }), date.getUTCFullYear());
    assert.equal(evalOne(col('ts').month(), { ts: ms }), date.getUTCMonth() + 1);
    assert.equal(evalOne(col('ts').day(), { ts: ms }), date.getUTCDate());
    assert.equal(evalOne(col('ts').hour(), { ts: ms }), date.getUTCHours());
    assert.equal(evalOne(col('ts').dayOfWeek(), { ts: ms }), date.getUTCDay() || 7);
  }
});

test('dateTrunc on timestamps and dates, before and after the epoch', () => {
  const trunc = (unit: 'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', ts: number) =>
    evalOne(col('ts').dateTrunc(unit), { ts });
  assert.equal(trunc('month', -1), Date.UTC(1969, 11, 1));
  assert.equal(trunc('day', -1), -DAY);
  assert.equal(trunc('year', -1), Date.UTC(1969, 0, 1));
  assert.equal(trunc('hour', -1), -3_600_000);
  assert.equal(trunc('second', -1), -1000);
  const t = Date.UTC(2024, 2, 15, 10, 42, 7, 250);
  assert.equal(trunc('month', t), Date.UTC(2024, 2, 1));
  assert.equal(trunc('day', t), Date.UTC(2024, 2, 15));
  assert.equal(trunc('minute', t), Date.UTC(2024, 2, 15, 10, 42));
  const day = Date.UTC(2024, 2, 15) / DAY;
  assert.equal(evalOne(col('d').dateTrunc('month'), { d: day }), Date.UTC(2024, 2, 1) / DAY);
  assert.equal(evalOne(col('d').dateTrunc('year'), { d: -1 }), Date.UTC(1969, 0, 1) / DAY);
  assert.equal(evalOne(col('d').dateTrunc('day'), { d: -1 }), -1);
  assert.throws(() => evalOne(col('d').dateTrunc('hour')), /dateTrunc\('hour'\) takes a timestamp/);
});

test('casts convert, and give null where a value does not convert', () => {
  assert.deepEqual(evalRows(col('s').cast('int64'), [{ s: '42' }, { s: ' -7 ' }, { s: '1.5' }, { s: 'x' }]), [
    42,
    -7,
    null,
    null,
  ]);
  assert.deepEqual(evalRows(col('s').cast('float64'), [{ s: '1.5e2' }, { s: 'abc' }, { s: '' }]), [150, null, null]);
  assert.deepEqual(evalRows(col('x').cast('int64'), [{ x: -2.7 }, { x: Number.NaN }, { x: 1e300 }]), [-2, null, null]);
  assert.deepEqual(evalRows(col('s').cast('bool'), [{ s: 'TRUE' }, { s: 'false' }, { s: 'yes' }]), [true, false, null]);
  assert.equal(evalOne(col('b').cast('int64'), { b: true }), 1);
  assert.equal(evalOne(col('i').cast('string'), { i: 12 }), '12');
  assert.equal(evalOne(col('dec').cast('string'), { dec: 3.5 }), '3.50');
  assert.equal(evalOne(col('s').cast({ kind: 'decimal', precision: 4, scale: 2 }), { s: '12.345' }), 12.35);
  assert.equal(evalOne(col('s').cast({ kind: 'decimal', precision: 4, scale: 2 }), { s: '123.4' }), null);
  assert.equal(evalOne(col('s').cast({ kind: 'enum', name: 'st', symbols: ['A'] }), { s: 'B' }), null);
  assert.equal(evalOne(col('s').cast({ kind: 'enum', name: 'st', symbols: ['A'] }), { s: 'A' }), 'A');
});

test('timestamp and date casts', () => {
  const toTs = (s: string) => evalOne(col('s').cast('timestamp'), { s });
  assert.equal(toTs('2024-03-15T10:42:07.250Z'), Date.UTC(2024, 2, 15, 10, 42, 7, 250));
  assert.equal(toTs('2024-03-15T10:42:07+02:00'), Date.UTC(2024, 2, 15, 8, 42, 7));
  assert.equal(toTs('2024-03-15'), Date.UTC(2024, 2, 15));
  assert.equal(toTs('1969-12-31T23:59:59.999Z'), -1);
  assert.equal(toTs('2024-03-15T10:42:07'), null, 'a time without a zone is ambiguous');
  assert.equal(toTs('2023-02-29'), null);
  assert.equal(toTs('2024-03-15T24:00:00Z'), null);
  assert.equal(toTs('2024-03-15 10:42+0530'), Date.UTC(2024, 2, 15, 5, 12));
  assert.equal(toTs('2024-13-01'), null);
  assert.equal(evalOne(col('s').cast('date'), { s: '1969-12-31' }), -1);
  assert.equal(evalOne(col('s').cast('date'), { s: '2024-02-30' }), null);
  assert.equal(evalOne(col('ts').cast('date'), { ts: -1 }), -1);
  assert.equal(evalOne(col('d').cast('timestamp'), { d: -1 }), -DAY);
  assert.equal(evalOne(col('i').cast('timestamp'), { i: 5 }), 5);
  assert.equal(evalOne(col('ts').cast('string'), { ts: -1 }), '1969-12-31T23:59:59.999Z');
  assert.equal(evalOne(col('d').cast('string'), { d: 19797 }), '2024-03-15');
  const ancient = Date.UTC(-50, 0, 1);
  assert.equal(evalOne(col('ts').cast('string'), { ts: ancient }), new Date(ancient).toISOString());
});

test('typed literals and untyped nulls', () => {
  assert.equal(evalOne(col('i').add(typedLit(null, { kind: 'int64' }))), null);
  assert.equal(evalOne(col('i').add(lit(null))), null);
  assert.equal(evalOne(typedLit(86_400_000, { kind: 'timestamp' }).toDate()), 1);
});

test('projection and predicate refuse expressions that do not check', () => {
  assert.throws(
    () => compileProjection([col('nope').node, col('s').add(1).node], schema, registry),
    /cannot compile projection:\n {2}expression 1 unknown column 'nope'.*\n {2}expression 2 col\('s'\)\.add\(1\): add takes numbers/,
  );
  assert.throws(() => compilePredicate(col('i').node, schema, registry), /it is int64, not bool/);
  const p = compilePredicate(col('b').node, schema, registry);
  assert.throws(() => p.select(columns([{}, {}]), 2, new Int32Array(1)), /selection vector holds 1 rows/);
});

test('an empty batch and a batch of many rows', () => {
  const p = compileProjection([col('i').mul(2).node], schema, registry);
  assert.deepEqual(p.run(columns([]), 0), [[]]);
  const rows = Array.from({ length: 5000 }, (_, i) => ({ i }));
  assert.deepEqual(
    p.run(columns(rows), rows.length)[0],
    rows.map((r) => r.i * 2),
  );
});

const cents: FunctionDef = {
  name: 'cents',
  description: 'Amount in whole cents.',
  example: "call('cents', col('amount'))",
  signature: 'cents(number) → int64',
  nulls: 'propagate',
  infer: (args) =>
    args.length === 1 && args[0].type.kind !== 'string'
      ? { type: { kind: 'int64' }, nullable: false }
      : 'cents takes 1 number',
  emit: ([x]) => `f.toCents(${x})`,
  helpers: { toCents: (x: number) => Math.round(x * 100) },
};

test('registry: user functions, duplicates and overrides', () => {
  const r = createRegistry();
  r.register(cents);
  const node = { kind: 'call', fn: 'cents', args: [col('x').node] } as const;
  assert.deepEqual(compileProjection([node], schema, r).run(columns([{ x: 1.239 }, { x: null }]), 2)[0], [124, null]);
  assert.throws(() => r.register(cents), /function 'cents' is already registered; pass \{ override: true \}/);
  r.register({ ...cents, emit: ([x]) => `f.toCents(${x} * 10)` }, { override: true });
  assert.deepEqual(compileProjection([node], schema, r).run(columns([{ x: 1 }]), 1)[0], [1000]);
  assert.throws(() => r.register({ ...cents, name: 'other', helpers: { toCents: Math.abs } }), /helper 'toCents'/);
  assert.throws(() => r.register({ ...cents, name: 'bad name' }), /must be an identifier/);
  assert.equal(createRegistry().get('cents'), undefined, 'registries are independent values');
  for (const def of createRegistry().list()) {
    assert.ok(def.description.length > 0 && def.example.length > 0 && def.signature.length > 0, def.name);
  }
});
