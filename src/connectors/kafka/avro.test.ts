import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avsc from 'avsc';
import fc from 'fast-check';
import type { DataType, Field, FieldType, Value } from '../../expr/types.ts';
import { avroSchemaOf } from '../../flow/avro-schema.ts';
import { type Contract, contract, t } from '../../flow/contract.ts';
import { dataset } from '../../flow/dataset.ts';
import { type KafkaOptions, type KafkaStorage, kafka } from '../../flow/kafka-storage.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { civilToDays, GLOBAL_MAX, MIN_TIMESTAMP, parseDecimal } from '../../runtime/scalars.ts';
import { bytesOf, decimalText, unscaled, unscaledOf } from './avro.ts';
import { type FetchedRecord, RecordDecoder, rowEncoder } from './codec.ts';

const ORDERS = contract({
  key: ['id'],
  eventTime: 'at',
  fields: {
    id: t.string(),
    qty: t.int64().optional(),
    price: t.float64().optional(),
    paid: t.bool().optional(),
    at: t.timestamp(),
    ship_on: t.date().optional(),
    amount: t.decimal(12, 2).optional(),
    big: t.decimal(38, 4).optional(),
    status: t.enum('Status', ['open', 'paid']).optional(),
    channel: t.enum('Channel', ['web-shop', '']).optional(),
    tags: t.list(t.string().optional()).optional(),
    lines: t.list(t.struct('Line', { sku: t.string(), qty: t.int64(), on: t.date().optional() })).optional(),
    address: t.struct('Address', { zip: t.string(), amount: t.decimal(6, 3).optional() }).optional(),
    meta: t.string().optional(),
  },
});
const FIELDS = ORDERS.schema.fields;
const TOPIC = 'shop.orders';
const ID = 42;

function storage(more: Partial<KafkaOptions> = {}): KafkaStorage {
  return kafka({ topic: TOPIC, brokers: 'env:B', format: 'avro', schemaId: ID, headers: 'meta', ...more });
}

/** Rows (one array per row, contract order) as columns. */
function columnsOf(rows: readonly (readonly Value[])[], width: number): Value[][] {
  return Array.from({ length: width }, (_, c) => rows.map((r) => r[c]));
}

interface Decoded {
  readonly columns: Value[][];
  readonly length: number;
  readonly rejected: QuarantineEntry[];
}

function decode(st: KafkaStorage, c: Contract, records: readonly FetchedRecord[], partition = 0): Decoded {
  const into = { length: 0, columns: c.schema.fields.map((): Value[] => []) };
  const rejected: QuarantineEntry[] = [];
  new RecordDecoder(st, c).decode(partition, records, into, rejected);
  return { columns: into.columns, length: into.length, rejected };
}

/** Encodes rows through the sink's encoder into records at offsets 0, 1, … */
function encodeRows(st: KafkaStorage, c: Contract, rows: readonly (readonly Value[])[]): FetchedRecord[] {
  const encode = rowEncoder({
    fields: c.schema.fields,
    key: st.key ?? c.key,
    ...(st.headers === undefined ? {} : { headers: st.headers }),
    ...(c.eventTime === undefined ? {} : { eventTime: c.eventTime }),
    format: st.format,
    ...(st.schemaId === undefined ? {} : { schemaId: st.schemaId }),
  });
  const columns = columnsOf(rows, c.schema.fields.length);
  return rows.map((_, i) => {
    const r = encode(columns, i, false);
    return {
      partition: 0,
      offset: i,
      timestamp: Number(r.timestamp ?? 0n),
      key: r.key ?? null,
      value: r.value ?? null,
      headers: [...(r.headers ?? new Map<Buffer, Buffer>())],
    };
  });
}

const AT = Date.UTC(2026, 0, 31, 12, 30, 15, 123);
const FULL: Value[] = [
  'o-1',
  Number.MAX_SAFE_INTEGER,
  -0,
  true,
  AT,
  civilToDays(2026, 2, 28),
  -1234567890.12,
  1e30,
  'paid',
  'web-shop',
  ['a', null, 'ü€𝄞'],
  [
    { sku: 's1', qty: -3, on: civilToDays(1969, 12, 31) },
    { sku: 's2', qty: 0, on: null },
  ],
  { zip: '75001', amount: 0.001 },
  JSON.stringify({ trace: 't-1' }),
];
const NULLS: Value[] = ['o-2', null, null, null, -AT, null, null, null, null, null, null, null, null, null];
const EDGES: Value[] = [
  'o-3',
  -Number.MAX_SAFE_INTEGER,
  Number.NaN,
  false,
  0,
  civilToDays(0, 1, 1),
  0,
  -1.5,
  'open',
  '',
  [],
  [],
  { zip: '', amount: -999.999 },
  '{}',
];

describe('Kafka avro format', () => {
  it('round-trips every type, nulls and extremes included, with key, headers and the wire framing', () => {
    const st = storage();
    const records = encodeRows(st, ORDERS, [FULL, NULLS, EDGES]);
    assert.equal(records[0].value?.subarray(0, 5).toString('hex'), '000000002a');
    assert.equal(records[0].key?.toString(), 'o-1');
    assert.deepEqual(
      records[0].headers.map(([k, v]) => [String(k), String(v)]),
      [['trace', 't-1']],
    );
    const got = decode(st, ORDERS, records);
    assert.deepEqual(got.rejected, []);
    assert.equal(got.length, 3);
    // A record without headers reads as the empty object's JSON, as with JSON values.
    assert.deepEqual(got.columns, columnsOf([FULL, [...NULLS.slice(0, 13), '{}'], EDGES], FIELDS.length));
  });

  it('decodes what another Avro writer wrote with the registered schema', () => {
    const c = contract({
      fields: { id: t.string(), on: t.date(), amount: t.decimal(5, 2), at: t.timestamp(), s: t.enum('S', ['x', 'y']) },
    });
    const schema = avroSchemaOf(dataset('shop.orders', { contract: c }));
    const plain = avsc.Type.forSchema(schema as unknown as avsc.Schema);
    const body = plain.toBuffer({
      id: 'a',
      on: 20_000,
      amount: Buffer.from([0xfb, 0x2e]), // -1234, two's complement
      at: AT,
      s: 'y',
    });
    const value = Buffer.concat([Buffer.from([0, 0, 0, 0, ID]), body]);
    const got = decode(storage({ headers: undefined }), c, [record(9, value)]);
    assert.deepEqual(got.rejected, []);
    assert.deepEqual(
      got.columns.map((col) => col[0]),
      ['a', 20_000, -12.34, AT, 'y'],
    );
  });

  it('quarantines values that are no record: framing, schema id, truncated, trailing and garbled bytes', () => {
    const c = contract({ fields: { id: t.string(), n: t.int64(), tags: t.list(t.int64()), s: t.enum('S', ['x']) } });
    const st = storage({ headers: undefined });
    const [good] = encodeRows(st, c, [['a', 1, [1, 2], 'x']]).map((r) => r.value as Buffer);
    const framed = (id: number, body: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, id]), body]);
    const body = good.subarray(5);
    const values: (Buffer | null)[] = [
      good,
      null,
      Buffer.from([0, 0, 0]),
      Buffer.from(`{"id":"a","n":1}`),
      framed(7, body),
      good.subarray(0, good.length - 2),
      Buffer.concat([good, Buffer.from([0, 0])]),
      framed(ID, Buffer.from([0x02, 0x61, 0x02, 0x7f])), // a count of -64 items, then nothing
      framed(ID, Buffer.from([0x02, 0x61, 0x02, 0xfe, 0xff, 0xff, 0xff, 0x0f])), // 2^31 - 1 items in 0 bytes
      framed(ID, Buffer.from([0x7f])), // a string of length -64
      framed(ID, Buffer.from([0x02, 0x61, 0x02, 0x00, 0x0a])), // enum symbol 5 of 1
      good,
    ];
    const got = decode(
      st,
      c,
      values.map((v, i) => record(100 + i, v)),
      3,
    );
    assert.equal(got.length, 2, 'the good records around the bad ones are read');
    const expected = "Avro binary of the contract's record (id, n, tags, s)";
    const framing = 'the wire framing: byte 0, a 4-byte schema id, then Avro binary';
    assert.deepEqual(
      got.rejected.map((e) => [e.source, e.record, e.errorClass, e.expected, e.found, e.rawEncoding]),
      [
        ['kafka:shop.orders/3', 101, 'parse', expected, 'null (a tombstone)', 'utf8'],
        ['kafka:shop.orders/3', 102, 'parse', framing, 'bytes 000000', 'base64'],
        ['kafka:shop.orders/3', 103, 'parse', framing, 'bytes 7b226964223a2261…', 'base64'],
        ['kafka:shop.orders/3', 104, 'drift', 'schema id 42', 'schema id 7', 'base64'],
        ['kafka:shop.orders/3', 105, 'truncated', expected, '6 bytes, cut inside the record', 'base64'],
        ['kafka:shop.orders/3', 106, 'parse', expected, "2 bytes after the record's end", 'base64'],
        ['kafka:shop.orders/3', 107, 'truncated', expected, '4 bytes, cut inside the record', 'base64'],
        ['kafka:shop.orders/3', 108, 'truncated', expected, '8 bytes, cut inside the record', 'base64'],
        ['kafka:shop.orders/3', 109, 'truncated', expected, '1 byte, cut inside the record', 'base64'],
        [
          'kafka:shop.orders/3',
          110,
          'parse',
          expected,
          'bytes that are no such record (invalid napkin.S enum index: 5)',
          'base64',
        ],
      ],
    );
    for (const e of got.rejected.slice(1))
      assert.deepEqual(Buffer.from(e.raw, 'base64'), values[e.record - 100], 'the raw is the value, framing and all');

    // Cut before a decimal and a date, whose conversions then see no bytes.
    const logical = contract({ fields: { id: t.string(), amount: t.decimal(10, 2), on: t.date(), at: t.timestamp() } });
    const cut = decode(st, logical, [record(4, framed(ID, Buffer.from([0x02])))]);
    assert.deepEqual(
      cut.rejected.map((e) => [e.record, e.errorClass, e.found]),
      [[4, 'truncated', '1 byte, cut inside the record']],
    );
  });

  it('quarantines a decoded record the contract refuses like a JSON one, and checks it against its key', () => {
    const c = contract({ key: ['id'], fields: { id: t.string(), amount: t.decimal(4, 2), on: t.date() } });
    const st = storage({ headers: undefined, key: 'id' });
    const wide = contract({ key: ['id'], fields: { id: t.string(), amount: t.decimal(8, 2), on: t.date() } });
    const records = encodeRows(st, wide, [
      ['a', 12.5, 0],
      ['b', 123456.78, 0],
      ['c', 1, civilToDays(10_000, 1, 1)],
    ]);
    records.push({ ...records[0], offset: 3, key: Buffer.from('z') });
    const got = decode(st, c, records);
    assert.deepEqual(got.columns[0], ['a']);
    assert.deepEqual(
      got.rejected.map((e) => [e.record, e.field, e.errorClass, e.expected, e.found, e.rawEncoding]),
      [
        [3, '/id', 'type', `the record key's value "z"`, '"a"', 'base64'],
        [1, '/amount', 'type', 'decimal(4,2)', '"123456.78"', 'base64'],
        [2, '/on', 'timestamp', 'date YYYY-MM-DD', '"+010000-01-01"', 'base64'],
      ],
    );
    for (const e of got.rejected) assert.deepEqual(Buffer.from(e.raw, 'base64'), records[e.record].value);
  });

  it('fills key fields, headers and the event time the record carries, whatever their type', () => {
    const c = contract({
      key: ['at', 'amount'],
      eventTime: 'at',
      fields: { at: t.timestamp(), amount: t.decimal(6, 2), n: t.int64(), meta: t.string().optional() },
    });
    const st = storage({ eventTime: 'timestamp' });
    const records = encodeRows(st, c, [[AT, 10.5, 1, '{"a":"b"}']]);
    assert.equal(records[0].key?.toString(), `["${new Date(AT).toISOString()}","10.50"]`);
    const got = decode(st, c, [{ ...records[0], timestamp: AT + 5 }]);
    assert.deepEqual(got.rejected, []);
    assert.deepEqual(
      got.columns.map((col) => col[0]),
      [AT + 5, 10.5, 1, '{"a":"b"}'],
    );
  });

  it('writes and reads longs exactly over the whole int64 range, and refuses longer ones', () => {
    const c = contract({ fields: { n: t.int64() } });
    const st = storage({ headers: undefined });
    /** The varint of the zigzag value, computed exactly, as Java's writer does. */
    const zigzag = (n: bigint) => {
      let z = n < 0n ? -2n * n - 1n : 2n * n;
      const out: number[] = [];
      for (; z >= 0x80n; z >>= 7n) out.push(Number((z & 0x7fn) | 0x80n));
      return Buffer.from([0, 0, 0, 0, ID, ...out, Number(z)]);
    };
    const longs = [
      0,
      -1,
      2 ** 30,
      -(2 ** 30) - 1,
      2 ** 52 + 1,
      -(2 ** 52 + 1),
      -(2 ** 53 - 2),
      2 ** 53 - 1,
      -(2 ** 53 - 1),
    ];
    const written = encodeRows(
      st,
      c,
      longs.map((n) => [n]),
    );
    for (const [i, n] of longs.entries()) assert.deepEqual(written[i].value, zigzag(BigInt(n)), `${n}`);
    const got = decode(st, c, [...written, record(9, zigzag(2n ** 53n)), record(10, zigzag(-(2n ** 63n)))]);
    assert.deepEqual(got.columns[0], longs);
    assert.deepEqual(
      got.rejected.map((e) => [e.record, e.errorClass, e.found]),
      [
        [9, 'parse', 'bytes that are no such record (a long beyond ±(2^53 − 1))'],
        [10, 'parse', 'bytes that are no such record (a long beyond ±(2^53 − 1))'],
      ],
    );
  });

  it('needs a schemaId to write', () => {
    assert.throws(() => rowEncoder({ fields: FIELDS, key: [], format: 'avro' }), {
      message: "format 'avro' needs the schemaId its values are framed with to be written",
    });
  });

  it('writes decimals as big-endian two-s complement of the unscaled value', () => {
    const cases: [number, number, string][] = [
      [0, 2, '00'],
      [1.27, 2, '7f'],
      [1.28, 2, '0080'],
      [-1.28, 2, '80'],
      [-1.29, 2, 'ff7f'],
      [120.5, 2, '2f12'],
      [-0.001, 2, '00'],
      [1e21, 0, '3635c9adc5dea00000'],
    ];
    for (const [v, scale, hex] of cases) {
      const bytes = bytesOf(unscaled(v, scale));
      assert.equal(bytes.toString('hex'), hex, `${v}`);
      assert.equal(unscaledOf(bytes), unscaled(v, scale));
    }
    assert.equal(decimalText(-5n, 3), '-0.005');
    assert.equal(decimalText(12345n, 0), '12345');
    assert.equal(unscaledOf(Buffer.from('ff'.repeat(9), 'hex')), -1n);
  });

  it('round-trips any row valid for a random contract (property)', () => {
    fc.assert(
      fc.property(
        contractArb().chain((fields) => fc.tuple(fc.constant(fields), fc.array(rowArb(fields), { maxLength: 5 }))),
        ([fields, rows]) => {
          const c: Contract = { schema: { fields }, key: [], version: 1, content: 'closed' };
          const st = storage({ headers: undefined });
          const got = decode(st, c, encodeRows(st, c, rows));
          assert.deepEqual(got.rejected, []);
          assert.deepEqual(got.columns, columnsOf(rows, fields.length));
        },
      ),
      { numRuns: 300 },
    );
  });
});

function record(offset: number, value: Buffer | null): FetchedRecord {
  return { partition: 0, offset, timestamp: 0, key: null, value, headers: [] };
}

const NAMES = ['S', 'T'];
const SYMBOLS = ['a', 'b', 'open', 'x-y', '1st', ''];

function typeArb(depth: number): fc.Arbitrary<DataType> {
  const leaves: fc.Arbitrary<DataType>[] = [
    fc.constantFrom<DataType>(
      { kind: 'string' },
      { kind: 'int64' },
      { kind: 'float64' },
      { kind: 'bool' },
      { kind: 'timestamp' },
      { kind: 'date' },
    ),
    // napkin holds decimals as doubles: up to 15 digits every one is exact.
    fc
      .integer({ min: 1, max: 15 })
      .chain((precision) =>
        fc.integer({ min: 0, max: precision }).map((scale): DataType => ({ kind: 'decimal', precision, scale })),
      ),
    fc
      .tuple(fc.constantFrom(...NAMES), fc.uniqueArray(fc.constantFrom(...SYMBOLS), { minLength: 1 }))
      .map(([name, symbols]): DataType => ({ kind: 'enum', name, symbols })),
  ];
  if (depth === 0) return fc.oneof(...leaves);
  return fc.oneof(
    ...leaves,
    fieldTypeArb(depth - 1).map((item): DataType => ({ kind: 'list', item })),
    fc
      .tuple(fc.constantFrom(...NAMES), fieldsArb(depth - 1, 3))
      .map(([name, fields]): DataType => ({ kind: 'struct', name, fields })),
  );
}

function fieldTypeArb(depth: number): fc.Arbitrary<FieldType> {
  return fc.record({ type: typeArb(depth), nullable: fc.boolean() });
}

function fieldsArb(depth: number, max: number): fc.Arbitrary<Field[]> {
  return fc
    .array(fieldTypeArb(depth), { minLength: 1, maxLength: max })
    .map((types) => types.map((ft, i) => ({ name: `f${i}`, ...ft })));
}

function contractArb(): fc.Arbitrary<Field[]> {
  return fieldsArb(2, 6);
}

function rowArb(fields: readonly Field[]): fc.Arbitrary<Value[]> {
  return fc.tuple(...fields.map(valueArb));
}

function valueArb(ft: FieldType): fc.Arbitrary<Value> {
  const v = baseValueArb(ft.type);
  return ft.nullable ? fc.option(v, { nil: null }) : v;
}

function baseValueArb(type: DataType): fc.Arbitrary<Value> {
  switch (type.kind) {
    case 'string':
      return fc.string({ unit: 'grapheme' });
    case 'int64':
      return fc.maxSafeInteger();
    case 'float64':
      return fc.double();
    case 'bool':
      return fc.boolean();
    case 'timestamp':
      return fc
        .integer({ min: -(2 ** 31), max: 2 ** 31 })
        .chain((n) => fc.constantFrom(n, n * 1_000_000, MIN_TIMESTAMP, GLOBAL_MAX));
    case 'date':
      return fc.integer({ min: civilToDays(0, 1, 1), max: civilToDays(9999, 12, 31) });
    case 'decimal': {
      const max = 10n ** BigInt(type.precision) - 1n;
      // The value the validator makes of a decimal text: what napkin holds for this type.
      return fc
        .bigInt({ min: -max, max })
        .map((n) => parseDecimal(decimalText(n, type.scale), type.precision, type.scale) as number);
    }
    case 'enum':
      return fc.constantFrom(...type.symbols);
    case 'list':
      return fc.array(valueArb(type.item), { maxLength: 3 });
    case 'struct':
      return fc
        .tuple(...type.fields.map(valueArb))
        .map((vs) => Object.fromEntries(type.fields.map((f, i) => [f.name, vs[i]])));
    case 'null':
      return fc.constant(null);
    default:
      return type satisfies never;
  }
}
