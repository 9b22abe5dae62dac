import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { DataType, Value } from '../expr/types.ts';
import { type Contract, contract, type FieldSpec, t } from '../flow/contract.ts';
import { BAD, fieldChecker, newFault } from './json-values.ts';
import { parseBool, parseDate, parseDecimal, parseFloat64, parseInt64, parseTimestamp } from './scalars.ts';
import { compileTextValidator, compileValueValidator, type TextRecords, type ValueRecords } from './validate.ts';

/** Rows as a CSV reader would give them: line i+2 (after the header), record i+1. */
function textRows(rows: readonly (readonly string[])[], width = rows[0]?.length ?? 0): TextRecords {
  return {
    count: rows.length,
    fields: Array.from({ length: width }, (_, c) => rows.map((r) => r[c])),
    lines: rows.map((_, i) => i + 2),
    records: rows.map((_, i) => i + 1),
    raws: rows.map((r) => r.join(',')),
  };
}

function valueRows(values: readonly unknown[]): ValueRecords {
  return {
    count: values.length,
    values,
    lines: values.map((_, i) => i + 1),
    records: values.map((_, i) => i + 1),
    raws: values.map((v) => JSON.stringify(v)),
  };
}

/** Validates one column of cells against one field. */
function cells(spec: FieldSpec, texts: readonly string[]) {
  const c = contract({ fields: { v: spec } });
  return compileTextValidator(c, ['v'], 'in.csv').validate(textRows(texts.map((s) => [s])));
}

function accepts(spec: FieldSpec, cases: readonly [string, Value][]): void {
  const r = cells(
    spec,
    cases.map(([s]) => s),
  );
  assert.deepEqual(r.rejected, []);
  assert.deepEqual(
    r.batch.columns[0],
    cases.map(([, v]) => v),
  );
}

function refuses(spec: FieldSpec, texts: readonly string[], errorClass: string, expected: string): void {
  const r = cells(spec, texts);
  assert.equal(r.batch.length, 0);
  assert.deepEqual(
    r.rejected.map((e) => [e.found, e.errorClass, e.expected]),
    texts.map((s) => [s, errorClass, expected]),
  );
}

describe('compileTextValidator: types', () => {
  it('int64: a sign and digits within the safe range', () => {
    accepts(t.int64(), [
      ['0', 0],
      ['-0', 0],
      ['+42', 42],
      ['007', 7],
      ['9007199254740991', 9007199254740991],
      ['-9007199254740991', -9007199254740991],
    ]);
    refuses(t.int64(), ['1.0', '1e3', ' 1', '1_000', '0x10', '9007199254740992', '-', 'abc'], 'type', 'int64');
  });

  it('float64: decimal or scientific, finite, no hex or special names', () => {
    accepts(t.float64(), [
      ['1.5', 1.5],
      ['-2', -2],
      ['.5', 0.5],
      ['5.', 5],
      ['1e3', 1000],
      ['-1.25E-2', -0.0125],
      ['0.1', 0.1],
      ['123456789012345678', 123456789012345680],
    ]);
    refuses(
      t.float64(),
      ['NaN', 'Infinity', '-Infinity', '0x1p3', '1e400', '1,5', '.', 'e3', '1e', ' 1'],
      'type',
      'float64',
    );
  });

  it('bool: true, false, 1, 0, TRUE, FALSE only', () => {
    accepts(t.bool(), [
      ['true', true],
      ['TRUE', true],
      ['1', true],
      ['false', false],
      ['FALSE', false],
      ['0', false],
    ]);
    refuses(t.bool(), ['True', 'yes', 't', 'no', '2'], 'type', 'bool (true, false, 1 or 0)');
  });

  it('decimal(p,s): at most p-s integer and s fraction digits, written out', () => {
    accepts(t.decimal(5, 2), [
      ['123.45', 123.45],
      ['-0.5', -0.5],
      ['000123.40', 123.4],
      ['7', 7],
      ['.25', 0.25],
      ['-0.00', 0],
    ]);
    refuses(t.decimal(5, 2), ['1234.5', '1.234', '1e2', 'NaN', '1,5', '-', '.'], 'type', 'decimal(5,2)');
  });

  it('date: YYYY-MM-DD, a real calendar date, as days since 1970-01-01', () => {
    accepts(t.date(), [
      ['1970-01-01', 0],
      ['2024-02-29', 19782],
      ['1969-12-31', -1],
      ['0001-01-01', -719162],
      ['0050-06-01', -701114],
    ]);
    refuses(
      t.date(),
      ['2023-02-29', '2024-13-01', '2024-1-01', '2024-01-01T00:00:00Z', '20240101', '2024-04-31'],
      'timestamp',
      'date YYYY-MM-DD',
    );
  });

  it('timestamp: ISO 8601 with a zone or a bare date, as ms since the epoch', () => {
    accepts(t.timestamp(), [
      ['2024-01-01T10:00:00Z', Date.UTC(2024, 0, 1, 10)],
      ['2024-01-01 10:00Z', Date.UTC(2024, 0, 1, 10)],
      ['2024-01-01T10:00:00.123456+02:00', Date.UTC(2024, 0, 1, 8, 0, 0, 123)],
      ['2024-01-01T10:00:00.5-00:30', Date.UTC(2024, 0, 1, 10, 30, 0, 500)],
      ['2024-01-01', Date.UTC(2024, 0, 1)],
      ['1969-12-31T23:59:59.999Z', -1],
    ]);
    refuses(
      t.timestamp(),
      [
        '2024-01-01T10:00:00',
        '2024-01-01 10:00',
        '2024-01-01T24:00:00Z',
        '2024-01-01T10:00:60Z',
        '2024-01-01T10:00:00+0200',
        '2024-01-01T10Z',
        '2024-02-30T00:00:00Z',
        '1704067200000',
        'yesterday',
      ],
      'timestamp',
      'ISO 8601 timestamp with zone',
    );
  });

  it('enum: one of the symbols, exactly', () => {
    const s = t.enum('Status', ['OPEN', 'PAID']);
    accepts(s, [
      ['OPEN', 'OPEN'],
      ['PAID', 'PAID'],
    ]);
    refuses(s, ['open', 'CLOSED', ' OPEN'], 'enum', 'one of OPEN|PAID');
    const many = Array.from({ length: 20 }, (_, i) => `S${i}`);
    accepts(t.enum('Many', many), [['S19', 'S19']]);
    refuses(t.enum('Many', many), ['S20'], 'enum', `one of ${many.join('|')}`);
  });

  it('string: as is; an empty cell is missing when required and null when optional', () => {
    accepts(t.string(), [
      [' a ', ' a '],
      ['"', '"'],
    ]);
    accepts(t.string().optional(), [['', null]]);
    accepts(t.int64().optional(), [['', null]]);
    const r = cells(t.int64(), ['']);
    assert.deepEqual(
      r.rejected.map((e) => [e.errorClass, e.expected, e.found, e.field]),
      [['missing', 'int64', 'empty field', '/v']],
    );
  });

  it('list and struct cells are JSON, checked recursively with a path', () => {
    const lines = t.list(t.struct('Line', { sku: t.string(), qty: t.int64() }));
    accepts(lines, [
      ['[]', []],
      ['[{"sku":"a","qty":2}]', [{ sku: 'a', qty: 2 }]],
    ]);
    const r = cells(lines, ['[{"sku":"a","qty":1},{"sku":"b","qty":1},{"sku":"c","qty":"2"}]', '[{"sku":', '{}']);
    assert.deepEqual(
      r.rejected.map((e) => [e.field, e.errorClass, e.expected, e.found]),
      [
        ['/v/2/qty', 'type', 'int64', '"2"'],
        ['/v', 'type', 'list<struct<sku: string, qty: int64>> as JSON', '[{"sku":'],
        ['/v', 'type', 'list<struct<sku: string, qty: int64>>', '{}'],
      ],
    );
  });
});

const orders = contract({
  key: ['id'],
  fields: {
    id: t.int64(),
    customer: t.string().renamedFrom('cust', 'client'),
    amount: t.decimal(10, 2),
    placed_at: t.timestamp(),
    status: t.enum('Status', ['OPEN', 'PAID']),
    coupon: t.string().optional(),
  },
});

describe('compileTextValidator: header and entries', () => {
  it('maps columns by name in any order, and reads optional absent columns as null', () => {
    const v = compileTextValidator(orders, ['status', 'placed_at', 'amount', 'customer', 'id'], 'o.csv');
    assert.equal(v.drift, null);
    const r = v.validate(textRows([['PAID', '2024-05-01T12:00:00Z', '9.99', 'ann', '7']]));
    assert.deepEqual(r.batch, {
      length: 1,
      columns: [[7], ['ann'], [9.99], [Date.UTC(2024, 4, 1, 12)], ['PAID'], [null]],
    });
  });

  it('accepts a former name (renamedFrom) as an alias', () => {
    const v = compileTextValidator(orders, ['id', 'client', 'amount', 'placed_at', 'status'], 'o.csv');
    assert.equal(v.drift, null);
    const r = v.validate(
      textRows([
        ['1', 'bob', '1', '2024-01-01', 'OPEN'],
        ['2', '', '1', '2024-01-01', 'OPEN'],
      ]),
    );
    assert.deepEqual(r.batch.columns[1], ['bob']);
    assert.equal(r.rejected[0].field, '/client');
  });

  it('reports a renamed column as drift once, and refuses every record as drift', () => {
    const v = compileTextValidator(orders, ['id', 'buyer', 'amount', 'placed_at', 'status'], 'o.csv');
    assert.deepEqual(v.drift, { unknown: ['buyer'], missing: ['customer'] });
    const r = v.validate(textRows([['1', 'ann', '1.00', '2024-01-01', 'OPEN']]));
    assert.equal(r.batch.length, 0);
    assert.deepEqual(r.rejected, [
      {
        source: 'o.csv',
        line: 2,
        record: 1,
        field: '/customer',
        errorClass: 'drift',
        expected: 'column customer',
        found: 'no such column in the header (+1 more bad field)',
        raw: '1,ann,1.00,2024-01-01,OPEN',
        rawEncoding: 'utf8',
      },
    ]);
  });

  it('refuses undeclared columns with closed content, ignores them with open content', () => {
    const header = ['id', 'customer', 'amount', 'placed_at', 'status', 'note'];
    const row = ['1', 'ann', '1.00', '2024-01-01', 'OPEN', 'hello'];
    const closed = compileTextValidator(orders, header, 'o.csv');
    assert.deepEqual(closed.drift, { unknown: ['note'], missing: [] });
    const e = closed.validate(textRows([row])).rejected[0];
    assert.deepEqual(
      [e.field, e.errorClass, e.expected, e.found],
      ['/note', 'drift', 'no field note (contract has: id, customer, amount, placed_at, status, coupon)', 'hello'],
    );
    const open = compileTextValidator({ ...orders, content: 'open' }, header, 'o.csv');
    assert.equal(open.drift, null);
    assert.equal(open.validate(textRows([row])).batch.length, 1);
  });

  it('refuses a header that names a column twice', () => {
    assert.throws(
      () => compileTextValidator(orders, ['id', 'id'], 'o.csv'),
      /o\.csv: the header names column 'id' twice/,
    );
  });

  it('reports the first bad field of a record exactly, and how many others were bad', () => {
    const v = compileTextValidator(orders, ['id', 'customer', 'amount', 'placed_at', 'status'], 'o.csv');
    const rows: TextRecords = {
      count: 3,
      fields: [
        ['1', '2', '3'],
        ['a', 'b', 'c'],
        ['1.00', '1.005', '2'],
        ['2024-01-01T10:00:00', '2024-01-01T10:00:00Z', '2024-01-01T10:00:00+01:00'],
        ['OPEN', 'SHIPPED', 'PAID'],
      ],
      lines: [10, 11, 14],
      records: [5, 6, 8],
      raws: ['r1', 'r2', 'r3'],
    };
    const r = v.validate(rows);
    assert.deepEqual(r.rejected, [
      {
        source: 'o.csv',
        line: 10,
        record: 5,
        field: '/placed_at',
        errorClass: 'timestamp',
        expected: 'ISO 8601 timestamp with zone',
        found: '2024-01-01T10:00:00',
        raw: 'r1',
        rawEncoding: 'utf8',
      },
      {
        source: 'o.csv',
        line: 11,
        record: 6,
        field: '/amount',
        errorClass: 'type',
        expected: 'decimal(10,2)',
        found: '1.005 (+1 more bad field)',
        raw: 'r2',
        rawEncoding: 'utf8',
      },
    ]);
    assert.deepEqual(r.batch, {
      length: 1,
      columns: [[3], ['c'], [2], [Date.UTC(2024, 0, 1, 9)], ['PAID'], [null]],
    });
  });

  it('shortens a long found text to 80 characters', () => {
    const e = cells(t.int64(), ['9'.repeat(200)]).rejected[0];
    assert.equal(e.found.length, 80);
    assert.ok(e.found.endsWith('…'));
  });

  it('numbers records from recordOffset when the rows carry no record numbers', () => {
    const v = compileTextValidator(contract({ fields: { n: t.int64() } }), ['n'], 'n.csv');
    const r = v.validate({ count: 2, fields: [['1', 'x']], raws: ['1', 'x'] }, 100);
    assert.deepEqual(
      r.rejected.map((e) => [e.record, e.line]),
      [[102, undefined]],
    );
  });
});

describe('compileValueValidator', () => {
  const withLines = contract({
    fields: {
      id: t.int64(),
      name: t.string().renamedFrom('title'),
      price: t.decimal(6, 2),
      at: t.timestamp(),
      day: t.date().optional(),
      ok: t.bool().optional(),
      ratio: t.float64().optional(),
      status: t.enum('S', ['A', 'B']).optional(),
      lines: t.list(t.struct('Line', { qty: t.int64(), tags: t.list(t.string()).optional() })).optional(),
    },
  });
  const v = compileValueValidator(withLines, 'o.jsonl');

  it('types JSON values, in contract field order', () => {
    const r = v.validate(
      valueRows([
        { lines: [{ qty: 1 }], at: 1_700_000_000_000, price: '12.5', name: 'a', id: 1, day: '2024-01-02', ok: true },
        { id: -0, title: 'b', price: 3, at: '2024-01-01T00:00:00+01:00', ratio: 0.5, status: 'B', day: null },
      ]),
    );
    assert.deepEqual(r.rejected, []);
    assert.deepEqual(r.batch.columns, [
      [1, 0],
      ['a', 'b'],
      [12.5, 3],
      [1_700_000_000_000, Date.UTC(2023, 11, 31, 23)],
      [19724, null],
      [true, null],
      [null, 0.5],
      [null, 'B'],
      [[{ qty: 1, tags: null }], null],
    ]);
    assert.ok(Object.is(r.batch.columns[0][1], 0));
  });

  const base = { id: 1, name: 'a', price: 1, at: 0 };
  function refusal(record: Record<string, unknown>): [string | undefined, string, string, string] {
    const r = v.validate(valueRows([record]));
    assert.equal(r.batch.length, 0);
    const e = r.rejected[0];
    return [e.field, e.errorClass, e.expected, e.found];
  }

  it('refuses wrong JSON types, a numeric string for int64 included', () => {
    assert.deepEqual(refusal({ ...base, id: '1' }), ['/id', 'type', 'int64', '"1"']);
    assert.deepEqual(refusal({ ...base, id: 1.5 }), ['/id', 'type', 'int64', '1.5']);
    assert.deepEqual(refusal({ ...base, id: 2 ** 53 }), ['/id', 'type', 'int64', '9007199254740992']);
    assert.deepEqual(refusal({ ...base, ratio: '0.5' }), ['/ratio', 'type', 'float64', '"0.5"']);
    assert.deepEqual(refusal({ ...base, ok: 'true' }), ['/ok', 'type', 'bool', '"true"']);
    assert.deepEqual(refusal({ ...base, price: 1.234 }), ['/price', 'type', 'decimal(6,2)', '1.234']);
    assert.deepEqual(refusal({ ...base, price: '10000' }), ['/price', 'type', 'decimal(6,2)', '"10000"']);
    assert.deepEqual(refusal({ ...base, status: 'C' }), ['/status', 'enum', 'one of A|B', '"C"']);
    assert.deepEqual(refusal({ ...base, day: 19724 }), ['/day', 'timestamp', 'date YYYY-MM-DD', '19724']);
  });

  it('refuses timestamps without a zone, out of range or not integers', () => {
    assert.deepEqual(refusal({ ...base, at: '2024-01-01T10:00:00' }), [
      '/at',
      'timestamp',
      'ISO 8601 timestamp with zone',
      '"2024-01-01T10:00:00"',
    ]);
    const numeric = 'integer ms from -9007199254740991 to 9007199168340991';
    assert.deepEqual(refusal({ ...base, at: 1.5 }), ['/at', 'timestamp', numeric, '1.5']);
    assert.deepEqual(refusal({ ...base, at: 9007199254740991 }), ['/at', 'timestamp', numeric, '9007199254740991']);
  });

  it('refuses absent or null required fields as missing', () => {
    assert.deepEqual(refusal({ name: 'a', price: 1, at: 0 }), ['/id', 'missing', 'int64', 'no value']);
    assert.deepEqual(refusal({ ...base, name: null }), ['/name', 'missing', 'string', 'null']);
  });

  it('names the path of a bad value inside lists and structs', () => {
    const lines = [{ qty: 1 }, { qty: 2 }, { qty: 'x' }];
    assert.deepEqual(refusal({ ...base, lines }), ['/lines/2/qty', 'type', 'int64', '"x"']);
    assert.deepEqual(refusal({ ...base, lines: [{ qty: 1, tags: ['a', 3] }] }), [
      '/lines/0/tags/1',
      'type',
      'string',
      '3',
    ]);
    assert.deepEqual(refusal({ ...base, lines: [{}] }), ['/lines/0/qty', 'missing', 'int64', 'no value']);
    assert.deepEqual(refusal({ ...base, lines: [{ qty: 1, extra: true }] }), [
      '/lines/0/extra',
      'drift',
      'no field extra (contract has: qty, tags)',
      'true',
    ]);
  });

  it('refuses undeclared keys as drift with closed content, and counts them', () => {
    const r = v.validate(valueRows([{ ...base, id: 'x', colour: 'red', size: 2 }]));
    assert.deepEqual(r.rejected[0], {
      source: 'o.jsonl',
      line: 1,
      record: 1,
      field: '/id',
      errorClass: 'type',
      expected: 'int64',
      found: '"x" (+2 more bad fields)',
      raw: JSON.stringify({ ...base, id: 'x', colour: 'red', size: 2 }),
      rawEncoding: 'utf8',
    });
    assert.deepEqual(refusal({ ...base, colour: 'red' }), [
      '/colour',
      'drift',
      'no field colour (contract has: id, name, price, at, day, ok, ratio, status, lines)',
      '"red"',
    ]);
    const open = compileValueValidator({ ...withLines, content: 'open' }, 'o.jsonl');
    assert.equal(open.validate(valueRows([{ ...base, colour: 'red' }])).batch.length, 1);
  });

  it('reads only own properties, so field names like constructor are safe', () => {
    const c = contract({ fields: { constructor: t.string().optional(), ['__proto__']: t.int64().optional() } });
    const pv = compileValueValidator(c, 'p.jsonl');
    const r = pv.validate(valueRows([{}, JSON.parse('{"constructor":"x","__proto__":5}')]));
    assert.deepEqual(r.rejected, []);
    assert.deepEqual(r.batch.columns, [
      [null, 'x'],
      [null, 5],
    ]);
  });

  it('refuses a record that is not an object', () => {
    const r = v.validate(valueRows([[1, 2]]));
    assert.deepEqual(
      r.rejected.map((e) => [e.field, e.errorClass, e.expected, e.found]),
      [[undefined, 'type', 'a JSON object', '[1,2]']],
    );
  });
});

// --- Properties -------------------------------------------------------------------------------------------------

const MS_PER_DAY = 86_400_000;
const FIRST_MS = -62_135_596_800_000 + MS_PER_DAY; // 0001-01-02: an offset cannot move it before year 1
const LAST_MS = Date.UTC(9998, 11, 31);

function isoDay(days: number): string {
  return new Date(days * MS_PER_DAY).toISOString().slice(0, 10);
}

/** An ISO 8601 text for `ms` with the given zone offset (minutes east of UTC) and date/time separator. */
function isoTimestamp(ms: number, offset: number, sep: string): string {
  const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23);
  const a = Math.abs(offset);
  const zone =
    offset === 0
      ? 'Z'
      : `${offset < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  return `${local.slice(0, 10)}${sep}${local.slice(11)}${zone}`;
}

function decimalText(m: number, scale: number): string {
  const digits = String(Math.abs(m)).padStart(scale + 1, '0');
  return `${m < 0 ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

const props = contract({
  fields: {
    i: t.int64(),
    f: t.float64().optional(),
    b: t.bool(),
    d: t.decimal(12, 3),
    day: t.date().optional(),
    ts: t.timestamp(),
    e: t.enum('E', ['X', 'Y', 'Z']),
    s: t.string().optional().renamedFrom('old_s'),
    l: t.list(t.int64()).optional(),
  },
});
const NAMES = props.schema.fields.map((f) => f.name);

/** A typed value per field, with one text and one JSON form that must read back as the value. */
interface Cell {
  readonly value: Value;
  readonly text: string;
  readonly json: unknown;
}

const cell = (value: Value, text: string, json: unknown = value): Cell => ({ value, text, json });
const orNull = (a: fc.Arbitrary<Cell>) => fc.oneof(a, fc.constant(cell(null, '', null)));

const cellArbs: fc.Arbitrary<Cell>[] = [
  fc.maxSafeInteger().map((v) => cell(v, String(v))),
  orNull(fc.double({ noNaN: true, noDefaultInfinity: true }).map((v) => cell(v + 0, String(v + 0)))),
  fc.tuple(fc.boolean(), fc.nat(2)).map(([v, k]) => cell(v, [String(v), v ? '1' : '0', String(v).toUpperCase()][k])),
  fc
    .tuple(fc.integer({ min: -(10 ** 12) + 1, max: 10 ** 12 - 1 }), fc.boolean())
    .map(([m, asText]) => cell(m / 1000, decimalText(m, 3), asText ? decimalText(m, 3) : m / 1000)),
  orNull(fc.integer({ min: -719_162, max: 2_932_896 }).map((d) => cell(d, isoDay(d), isoDay(d)))),
  fc
    .tuple(
      fc.integer({ min: FIRST_MS, max: LAST_MS }),
      fc.integer({ min: -1439, max: 1439 }),
      fc.constantFrom('T', ' '),
      fc.boolean(),
    )
    .map(([ms, off, sep, asText]) => cell(ms, isoTimestamp(ms, off, sep), asText ? isoTimestamp(ms, off, sep) : ms)),
  fc.constantFrom('X', 'Y', 'Z').map((v) => cell(v, v)),
  orNull(fc.string({ minLength: 1, maxLength: 6 }).map((v) => cell(v, v))),
  orNull(fc.array(fc.maxSafeInteger(), { maxLength: 3 }).map((v) => cell(v, JSON.stringify(v)))),
];

/** Texts and JSON values each field must refuse (the optional string `s` accepts everything). */
const BAD_TEXT: readonly (readonly string[])[] = [
  ['1.5', 'x', '9007199254740992'],
  ['NaN', '1,0', '0x1'],
  ['yes', 'T'],
  ['1.0001', '1e3', '1234567890123.0'],
  ['2023-02-29', '2024-1-1'],
  ['2024-01-01T00:00:00', '2024-01-01 10:00'],
  ['W', 'x'],
  [],
  ['[1.5]', '[', '{}'],
];
const BAD_JSON: readonly (readonly unknown[])[] = [
  ['1', 1.5, true],
  ['0.5', false],
  ['true', 1],
  [1.0001, '1e3', []],
  [19000, '2023-02-29'],
  ['2024-01-01T00:00:00', 1.5, false],
  ['W', 1],
  [5, true],
  [[1.5], '[1]', {}],
];
const CORRUPTIBLE_TEXT = NAMES.map((_, k) => k).filter((k) => BAD_TEXT[k].length > 0);

const recordArb = (corruptible: readonly number[]) =>
  fc.record({
    cells: fc.tuple(...cellArbs),
    corrupt: fc.array(fc.tuple(fc.constantFrom(...corruptible), fc.nat(2)), { maxLength: 2 }),
  });

function badAt<T>(pool: readonly (readonly T[])[], k: number, n: number): T {
  return pool[k][n % pool[k].length];
}

function rowMajor(columns: readonly (readonly Value[])[], length: number): Value[][] {
  return Array.from({ length }, (_, i) => columns.map((c) => c[i]));
}

describe('compiled validators: properties', () => {
  it('text: every record is kept or refused once; kept ones read back; refusals name the first bad field', () => {
    fc.assert(
      fc.property(fc.array(recordArb(CORRUPTIBLE_TEXT), { maxLength: 25 }), fc.boolean(), (records, renamed) => {
        const header = NAMES.map((n) => (n === 's' && renamed ? 'old_s' : n));
        const rows = records.map((r) => {
          const texts = r.cells.map((c) => c.text);
          for (const [k, n] of r.corrupt) texts[k] = badAt(BAD_TEXT, k, n);
          return texts;
        });
        const out = compileTextValidator(props, header, 'p.csv').validate(textRows(rows, NAMES.length));
        assert.equal(out.batch.length + out.rejected.length, records.length);
        const good = records.filter((r) => r.corrupt.length === 0);
        assert.deepEqual(
          rowMajor(out.batch.columns, out.batch.length),
          good.map((r) => r.cells.map((c) => c.value)),
        );
        const bad = records.map((r, i) => ({ r, record: i + 1 })).filter(({ r }) => r.corrupt.length > 0);
        assert.deepEqual(
          out.rejected.map((e) => [e.record, e.field?.split('/')[1]]),
          bad.map(({ r, record }) => [record, NAMES[Math.min(...r.corrupt.map(([k]) => k))]]),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('values: every record is kept or refused once; kept ones read back; refusals name the first bad field', () => {
    const corruptible = NAMES.map((_, k) => k);
    fc.assert(
      fc.property(fc.array(recordArb(corruptible), { maxLength: 25 }), (records) => {
        const values = records.map((r) => {
          const o: Record<string, unknown> = {};
          r.cells.forEach((c, k) => {
            if (c.json !== null || k % 2 === 0) o[NAMES[k]] = c.json;
          });
          for (const [k, n] of r.corrupt) o[NAMES[k]] = badAt(BAD_JSON, k, n);
          return o;
        });
        const out = compileValueValidator(props, 'p.jsonl').validate(valueRows(values));
        assert.equal(out.batch.length + out.rejected.length, records.length);
        const good = records.filter((r) => r.corrupt.length === 0);
        assert.deepEqual(
          rowMajor(out.batch.columns, out.batch.length),
          good.map((r) => r.cells.map((c) => c.value)),
        );
        const bad = records.map((r, i) => ({ r, record: i + 1 })).filter(({ r }) => r.corrupt.length > 0);
        assert.deepEqual(
          out.rejected.map((e) => [e.record, e.field?.split('/')[1]]),
          bad.map(({ r, record }) => [record, NAMES[Math.min(...r.corrupt.map(([k]) => k))]]),
        );
      }),
      { numRuns: 200 },
    );
  });
});

// --- The hand-written reference the generated code must agree with ------------------------------------------------

/** Reads one non-empty cell the plain way: the value, or the error class and the pointer below the cell. */
function referenceCell(type: DataType, s: string): { value: Value } | { errorClass: string; below: string } {
  const scalar = (v: Value | undefined, errorClass: string) =>
    v === undefined ? { errorClass, below: '' } : { value: v };
  switch (type.kind) {
    case 'string':
      return { value: s };
    case 'int64':
      return scalar(parseInt64(s), 'type');
    case 'float64':
      return scalar(parseFloat64(s), 'type');
    case 'bool':
      return scalar(parseBool(s), 'type');
    case 'decimal':
      return scalar(parseDecimal(s, type.precision, type.scale), 'type');
    case 'date':
      return scalar(parseDate(s), 'timestamp');
    case 'timestamp':
      return scalar(parseTimestamp(s), 'timestamp');
    case 'enum':
      return scalar(type.symbols.includes(s) ? s : undefined, 'enum');
    default: {
      let json: unknown;
      try {
        json = JSON.parse(s);
      } catch {
        return { errorClass: 'type', below: '' };
      }
      const fault = newFault();
      const v = fieldChecker(fault, { type, nullable: false }, 'closed')(json);
      return v === BAD ? { errorClass: fault.errorClass, below: fault.pointer } : { value: v };
    }
  }
}

interface ReferenceResult {
  readonly good: Value[][];
  /** record, pointer, class, number of bad fields */
  readonly bad: [number, string, string, number][];
}

function referenceText(c: Contract, header: readonly string[], rows: readonly (readonly string[])[]): ReferenceResult {
  const fields = c.schema.fields;
  const cols = fields.map(
    (f) => [f.name, ...(f.formerly ?? [])].map((n) => header.indexOf(n)).find((i) => i >= 0) ?? -1,
  );
  const unknown = c.content === 'closed' ? header.map((_, i) => i).filter((i) => !cols.includes(i)) : [];
  const result: ReferenceResult = { good: [], bad: [] };
  rows.forEach((row, i) => {
    const errors: [string, string][] = [];
    const values = fields.map((f, k): Value => {
      if (cols[k] < 0) {
        if (!f.nullable) errors.push([`/${f.name}`, 'drift']);
        return null;
      }
      const s = row[cols[k]];
      const pointer = `/${header[cols[k]]}`;
      if (s === '') {
        if (!f.nullable) errors.push([pointer, 'missing']);
        return null;
      }
      const r = referenceCell(f.type, s);
      if ('value' in r) return r.value;
      errors.push([pointer + r.below, r.errorClass]);
      return null;
    });
    for (const u of unknown) errors.push([`/${header[u]}`, 'drift']);
    if (errors.length === 0) result.good.push(values);
    else result.bad.push([i + 1, errors[0][0], errors[0][1], errors.length]);
  });
  return result;
}

/** Cells worth trying per field of `props`, good and bad, and for an undeclared column. */
const POOLS: readonly (readonly string[])[] = [
  ['0', '-5', '+7', '9007199254740991', '', '1.5', 'x', '9007199254740992'],
  ['1.5', '-2e3', '.5', '', 'NaN', '1,5'],
  ['true', '0', 'FALSE', '', 'yes'],
  ['1.5', '-0.001', '', '1.0001', 'abc'],
  ['2024-02-29', '', '2023-02-29'],
  ['2024-01-01T00:00:00Z', '2024-01-01', '', '2024-01-01T00:00:00'],
  ['X', 'Y', '', 'W'],
  ['a', '', ' '],
  ['[]', '[1,2]', '', '[1.5]', '[null]', 'x'],
  ['anything', ''],
];

describe('compileTextValidator agrees with a hand-written interpreter', () => {
  it('on random headers (reordered, renamed, missing and extra columns) and cells', () => {
    const columns = [...NAMES, 'old_s', 'zz'];
    const pool = (name: string) => POOLS[name === 'old_s' ? 7 : name === 'zz' ? 9 : NAMES.indexOf(name)];
    fc.assert(
      fc.property(
        fc.shuffledSubarray(columns, { minLength: 1 }),
        fc.constantFrom<'closed' | 'open'>('closed', 'open'),
        fc.array(fc.array(fc.nat(), { minLength: columns.length, maxLength: columns.length }), { maxLength: 15 }),
        (header, content, picks) => {
          if (header.includes('s') && header.includes('old_s')) header = header.filter((h) => h !== 'old_s');
          const c = { ...props, content };
          const rows = picks.map((p) => header.map((h, j) => pool(h)[p[j] % pool(h).length]));
          const out = compileTextValidator(c, header, 'r.csv').validate(textRows(rows, header.length));
          const ref = referenceText(c, header, rows);
          assert.deepEqual(rowMajor(out.batch.columns, out.batch.length), ref.good);
          const others = (found: string) => Number(/\(\+(\d+) more bad fields?\)$/.exec(found)?.[1] ?? 0);
          assert.deepEqual(
            out.rejected.map((e) => [e.record, e.field, e.errorClass, others(e.found) + 1]),
            ref.bad,
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
