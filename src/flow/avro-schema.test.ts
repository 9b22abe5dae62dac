import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { avroSchemaOf, deriveAvroSchema } from './avro-schema.ts';
import { contract, t } from './contract.ts';
import { dataset } from './dataset.ts';
import { type KafkaOptions, kafka } from './kafka-storage.ts';

const orders = contract({
  key: ['order_id'],
  eventTime: 'placed_at',
  fields: {
    order_id: t.string(),
    qty: t.int64(),
    price: t.float64().optional(),
    paid: t.bool(),
    placed_at: t.timestamp(),
    ship_on: t.date().optional(),
    amount: t.decimal(12, 2),
    status: t.enum('Status', ['open', 'paid']),
    channel: t.enum('Channel', ['web-shop', 'store']).optional(),
    tags: t.list(t.string().optional()),
    address: t.struct('Address', { zip: t.string(), since: t.date().optional() }).optional(),
    billing: t.struct('Address', { zip: t.string(), since: t.date().optional() }),
    state: t.enum('Status', ['new', 'done']),
    meta: t.string().optional(),
  },
});

const storage = (more: Partial<KafkaOptions> = {}) =>
  kafka({ topic: 'shop.orders', brokers: 'env:NAPKIN_KAFKA_BROKERS', format: 'avro', headers: 'meta', ...more });

/** The schema derived for `orders`, as a registry would be given it. */
const DERIVED = {
  type: 'record',
  name: 'orders',
  namespace: 'shop',
  fields: [
    { name: 'order_id', type: 'string' },
    { name: 'qty', type: 'long' },
    { name: 'price', type: ['null', 'double'], default: null },
    { name: 'paid', type: 'boolean' },
    { name: 'placed_at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'ship_on', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['open', 'paid'] } },
    { name: 'channel', type: ['null', 'string'], default: null },
    { name: 'tags', type: { type: 'array', items: ['null', 'string'] } },
    {
      name: 'address',
      type: [
        'null',
        {
          type: 'record',
          name: 'Address',
          fields: [
            { name: 'zip', type: 'string' },
            { name: 'since', type: ['null', { type: 'int', logicalType: 'date' }], default: null },
          ],
        },
      ],
      default: null,
    },
    { name: 'billing', type: 'Address' },
    { name: 'state', type: { type: 'enum', name: 'Status_2', symbols: ['new', 'done'] } },
  ],
};

/** The same schema as someone might register it: other names, a namespace, docs and defaults. */
function registered(): Record<string, unknown> {
  const s = structuredClone(DERIVED) as { name: string; namespace?: string; doc?: string; fields: unknown[] };
  s.name = 'Order';
  s.namespace = 'com.example.shop';
  s.doc = 'orders as checkout writes them';
  const f = s.fields as { name: string; type: unknown; doc?: string }[];
  f[0].doc = 'the order number';
  f[7].type = {
    type: 'enum',
    name: 'OrderStatus',
    namespace: 'com.example',
    symbols: ['open', 'paid'],
    default: 'open',
  };
  f[11].type = 'com.example.shop.Address';
  return s;
}

const declare = (avroSchema: Record<string, unknown>) =>
  dataset('shop.orders', { contract: orders, storage: storage({ avroSchema }) });

describe('Avro schema of a contract', () => {
  it('maps every napkin type, names the record after the dataset and leaves the headers field out', () => {
    const d = dataset('shop.orders', { contract: orders, storage: storage() });
    assert.deepEqual(avroSchemaOf(d), DERIVED);
  });

  it('names a record without a namespace after an undotted dataset, and names types as Avro allows', () => {
    const fields = contract({
      fields: { s: t.struct('order line', { n: t.int64() }), e: t.enum('2nd', ['x']), n: t.int64() },
    }).schema.fields;
    assert.deepEqual(deriveAvroSchema('orders', fields), {
      type: 'record',
      name: 'orders',
      fields: [
        { name: 's', type: { type: 'record', name: 'order_line', fields: [{ name: 'n', type: 'long' }] } },
        { name: 'e', type: { type: 'enum', name: '_2nd', symbols: ['x'] } },
        { name: 'n', type: 'long' },
      ],
    });
  });

  it('refuses, when the dataset is declared, fields an Avro record cannot hold', () => {
    const bad = contract({ fields: { 'order-id': t.string() } });
    assert.throws(() => dataset('shop.orders', { contract: bad, storage: storage({ headers: undefined }) }), {
      message:
        "dataset shop.orders: kafka({ topic: 'shop.orders' }): format 'avro': field 'order-id' is not an Avro name (letters, digits and _, not starting with a digit)",
    });
    const nested = contract({ fields: { lines: t.list(t.struct('Line', { '1qty': t.int64() })) } });
    assert.throws(() => dataset('shop.orders', { contract: nested, storage: storage({ headers: undefined }) }), {
      message: /format 'avro': field 'lines\.1qty' is not an Avro name/,
    });
    // JSON formats take any field name.
    dataset('shop.orders', { contract: bad, storage: storage({ format: 'json', headers: undefined }) });
  });

  it('accepts an explicit schema that writes the same bytes under other names', () => {
    const d = declare(registered());
    assert.equal(d.storage?.kind === 'kafka' && d.storage.avroSchema?.name, 'Order');
  });

  it('refuses an explicit schema that does not match the contract, in one line naming the dataset and field', () => {
    const at = "dataset shop.orders: kafka({ topic: 'shop.orders' })";
    const change = (edit: (fields: { name: string; type: unknown }[]) => void) => {
      const s = registered();
      edit(s.fields as { name: string; type: unknown }[]);
      return s;
    };
    const cases: [Record<string, unknown>, string][] = [
      [
        change((f) => {
          f[6].type = { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 };
        }),
        `${at}: avroSchema field 'amount' is bytes (decimal 10,2), but the contract's decimal(12,2) is written as bytes (decimal 12,2)`,
      ],
      [
        change((f) => {
          f[2].type = ['double', 'null'];
        }),
        `${at}: avroSchema field 'price' is double | null, but the contract's float64? is written as null | double`,
      ],
      [
        change((f) => {
          f[4].type = 'long';
        }),
        `${at}: avroSchema field 'placed_at' is long, but the contract's timestamp is written as long (timestamp-millis)`,
      ],
      [
        change((f) => {
          f[7].type = { type: 'enum', name: 'S', symbols: ['paid', 'open'] };
        }),
        `${at}: avroSchema field 'status' is enum(paid|open), but the contract's enum(open|paid) is written as enum(open|paid)`,
      ],
      [
        change((f) => {
          f.splice(1, 1);
        }),
        `${at}: avroSchema lacks the contract's field 'qty'`,
      ],
      [
        change((f) => {
          f.push({ name: 'meta', type: ['null', 'string'] });
        }),
        `${at}: avroSchema field 'meta' is not in the contract (a headers field travels as the record headers)`,
      ],
      [
        change((f) => {
          f.splice(0, 2, f[1], f[0]);
        }),
        `${at}: avroSchema has field 'order_id' at position 2, the contract at 1 (Avro bytes follow the field order)`,
      ],
      [
        change((f) => {
          (f[10].type as Record<string, unknown>[])[1].fields = [{ name: 'zip', type: 'long' }];
        }),
        `${at}: avroSchema field 'address' is null | record {zip: long}, but the contract's struct<zip: string, since: date?>? is written as null | record {zip: string, since: null | int (date)}`,
      ],
      [
        change((f) => {
          f[11].type = 'Adress';
        }),
        `${at}: avroSchema field 'billing' is undefined type 'Adress', but the contract's struct<zip: string, since: date?> is written as record {zip: string, since: null | int (date)}`,
      ],
      [
        { type: 'enum', name: 'x', symbols: ['a'] },
        `${at}: avroSchema must be an Avro record schema: an object with type 'record' and its fields`,
      ],
    ];
    for (const [schema, message] of cases) assert.throws(() => declare(schema), { message });
  });

  it('checks the avroSchema and schemaId options', () => {
    assert.throws(() => storage({ format: 'json', avroSchema: DERIVED }), {
      message: "kafka({ topic: 'shop.orders' }): avroSchema applies only with format: 'avro'",
    });
    assert.throws(() => storage({ format: 'json', schemaId: 3 }), {
      message: "kafka({ topic: 'shop.orders' }): schemaId applies only with format: 'napkin' or 'avro'",
    });
    assert.throws(() => storage({ format: 'xml' as 'json' }), {
      message: "kafka({ topic: 'shop.orders' }): format must be 'json', 'napkin' or 'avro', got 'xml'",
    });
    assert.throws(() => storage({ avroSchema: ['record'] as unknown as Record<string, unknown> }), {
      message:
        "kafka({ topic: 'shop.orders' }): avroSchema must be an Avro record schema, a JSON object with type 'record'",
    });
    const schema = structuredClone(DERIVED) as Record<string, unknown>;
    const st = storage({ schemaId: 3, avroSchema: schema });
    schema.name = 'changed';
    assert.equal(st.avroSchema?.name, 'orders', 'the storage keeps its own copy');
    assert.equal(st.schemaId, 3);
  });
});
