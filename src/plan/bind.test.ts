import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { col, count, lit, max, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { fieldTypeToString, type Schema } from '../expr/types.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, type Output, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { csv, duckdb } from '../flow/storage.ts';
import { type BoundFlow, bindFlow } from './bind.ts';
import { type Finding, formatFinding } from './findings.ts';
import type { Stage } from './stage.ts';

const registry = createRegistry();

const orders = dataset('shop.orders', {
  owner: 'sales-eng',
  storage: csv('data/orders.csv'),
  contract: contract({
    key: ['order_id'],
    eventTime: 'placed_at',
    fields: {
      order_id: t.string(),
      customer_id: t.string(),
      amount: t.float64(),
      qty: t.int64(),
      status: t.string(),
      coupon: t.string().optional(),
      placed_at: t.timestamp(),
    },
  }),
});

const customers = dataset('shop.customers', {
  owner: 'crm',
  storage: csv('data/customers.csv'),
  contract: contract({
    key: ['customer_id'],
    fields: { customer_id: t.string(), country: t.string().optional(), tier: t.int64() },
  }),
});

/** Customers with a `status` column too, to make a join collide. */
const accounts = dataset('shop.accounts', {
  owner: 'crm',
  storage: csv('data/accounts.csv'),
  contract: contract({ fields: { customer_id: t.string(), status: t.string(), score: t.float64() } }),
});

/** A sink without a contract: the binder does not check what is written (NAP011 is a project-level rule). */
const sink = dataset('mart.out', { owner: 'bi', storage: duckdb('mart.out') });
const sink2 = dataset('mart.out2', { owner: 'bi', storage: duckdb('mart.out2') });

function bind(...outputs: Output[]): BoundFlow {
  return bindFlow(flow({ name: 'f', owner: 'team', sla: '1d', outputs }), registry);
}

function stage(b: BoundFlow, id: string): Stage {
  const s = b.stages.find((x) => x.id === id);
  assert.ok(s, `no stage '${id}' in ${b.stages.map((x) => x.id).join(', ')}`);
  return s;
}

function show(schema: Schema | undefined): string[] {
  assert.ok(schema, 'the stage has no schema');
  return schema.fields.map((f) => `${f.name}: ${fieldTypeToString(f)}`);
}

/** The output schema of the relation written by the single output, as `name: type` lines. */
function schemaOf(b: BoundFlow): string[] {
  assert.deepEqual(b.findings, []);
  const out = b.stages.at(-1);
  assert.ok(out !== undefined && out.kind === 'sink');
  return show(stage(b, out.inputs[0]).schema);
}

function ids(b: BoundFlow): string[] {
  return b.stages.map((s) => s.id);
}

/** The one finding of a flow, checked for its code, stage and a non-empty hint. */
function only(b: BoundFlow, code: string, stageId: string): Finding {
  assert.equal(b.findings.length, 1, b.findings.map(formatFinding).join('\n'));
  const f = b.findings[0];
  assert.equal(f.code, code, formatFinding(f));
  assert.equal(f.flow, 'f');
  assert.equal(f.stage, stageId);
  assert.notEqual(f.hint.trim(), '');
  return f;
}

const ORDERS = [
  'order_id: string',
  'customer_id: string',
  'amount: float64',
  'qty: int64',
  'status: string',
  'coupon: string?',
  'placed_at: timestamp',
];

describe('schema inference', () => {
  test('read takes the contract schema', () => {
    const b = bind(write(sink, read(orders)));
    assert.deepEqual(schemaOf(b), ORDERS);
    assert.equal(stage(b, 'read_1').kind, 'source');
    assert.equal(stage(b, 'read_1').dataset, orders);
  });

  test('select keeps the listed and computed columns, in order', () => {
    const b = bind(
      write(
        sink,
        read(orders).select('status', {
          total: col('amount').mul(col('qty')),
          one: lit(1),
          maybe: col('coupon').upper(),
        }),
      ),
    );
    assert.deepEqual(schemaOf(b), ['status: string', 'total: float64', 'one: int64', 'maybe: string?']);
  });

  test('withColumns replaces columns in place and appends new ones', () => {
    const b = bind(
      write(
        sink,
        read(orders).withColumns({
          amount: col('amount').round(0).cast('int64'),
          coupon: col('coupon').coalesce('none'),
          country: lit('FR'),
        }),
      ),
    );
    assert.deepEqual(schemaOf(b), [
      'order_id: string',
      'customer_id: string',
      'amount: int64?',
      'qty: int64',
      'status: string',
      'coupon: string',
      'placed_at: timestamp',
      'country: string',
    ]);
  });

  test('filter keeps the schema', () => {
    assert.deepEqual(schemaOf(bind(write(sink, read(orders).filter(col('status').eq('paid'))))), ORDERS);
  });

  test('filter on isNotNull makes the column non-nullable, also inside an AND chain', () => {
    const alone = schemaOf(bind(write(sink, read(orders).filter(col('coupon').isNotNull()))));
    assert.ok(alone.includes('coupon: string'));
    const chained = schemaOf(
      bind(write(sink, read(orders).filter(col('status').eq('paid').and(col('coupon').isNotNull())))),
    );
    assert.ok(chained.includes('coupon: string'));
    const either = schemaOf(bind(write(sink, read(orders).filter(col('coupon').isNotNull().or(lit(true))))));
    assert.ok(either.includes('coupon: string?'), 'an OR does not guarantee a value');
  });

  test('aggregate outputs the keys then the aggregates: count is int64 non-null, sum of a required column non-null', () => {
    const b = bind(
      write(
        sink,
        read(orders)
          .groupBy('customer_id', 'coupon')
          .agg({ orders: count(), revenue: sum(col('amount')), items: sum(col('qty')), coupons: count(col('coupon')) }),
      ),
    );
    assert.deepEqual(schemaOf(b), [
      'customer_id: string',
      'coupon: string?',
      'orders: int64',
      'revenue: float64',
      'items: int64',
      'coupons: int64',
    ]);
    assert.equal(stage(b, 'aggregate_1').op, 'aggregate');
  });

  test('without keys, or over a nullable column, sum and max stay nullable (empty input gives one row of nulls)', () => {
    const global = bind(
      write(
        sink,
        read(orders)
          .groupBy()
          .agg({ revenue: sum(col('amount')), n: count() }),
      ),
    );
    assert.deepEqual(schemaOf(global), ['revenue: float64?', 'n: int64']);
    const nullableArg = bind(
      write(
        sink,
        read(orders)
          .groupBy('customer_id')
          .agg({ last: max(col('coupon')) }),
      ),
    );
    assert.deepEqual(schemaOf(nullableArg), ['customer_id: string', 'last: string?']);
  });

  test('inner join appends the right columns without repeating the shared key', () => {
    const b = bind(write(sink, read(orders).join(read(customers), { on: 'customer_id' })));
    assert.deepEqual(schemaOf(b), [...ORDERS, 'country: string?', 'tier: int64']);
    assert.deepEqual(stage(b, 'join_1').inputs, ['read_1', 'read_2']);
  });

  test('left join makes the right columns nullable', () => {
    const b = bind(write(sink, read(orders).join(read(customers), { on: 'customer_id', how: 'left' })));
    assert.deepEqual(schemaOf(b), [...ORDERS, 'country: string?', 'tier: int64?']);
  });

  test('join on differently named keys keeps the right key column', () => {
    const right = read(customers).select({ cid: col('customer_id') }, 'tier');
    const b = bind(write(sink, read(orders).join(right, { on: [{ left: 'customer_id', right: 'cid' }] })));
    assert.deepEqual(schemaOf(b), [...ORDERS, 'cid: string', 'tier: int64']);
  });

  test('join keys of different number types are compatible', () => {
    const right = read(customers).select('tier', { label: col('country') });
    const b = bind(write(sink, read(orders).join(right, { on: [{ left: 'amount', right: 'tier' }] })));
    assert.deepEqual(schemaOf(b), [...ORDERS, 'tier: int64', 'label: string?']);
  });

  test('union widens nullability and matches columns by name', () => {
    const a = read(orders).select('order_id', { coupon: col('status') });
    const c = read(orders).select('coupon', 'order_id');
    assert.deepEqual(schemaOf(bind(write(sink, a.union(c)))), ['order_id: string', 'coupon: string?']);
    assert.deepEqual(schemaOf(bind(write(sink, a.union(a)))), ['order_id: string', 'coupon: string']);
  });

  test('dedupe keeps the schema', () => {
    assert.deepEqual(schemaOf(bind(write(sink, read(orders).dedupe('customer_id', 'status')))), ORDERS);
  });

  test('map replaces written columns in place and appends new ones', () => {
    const rel = read(orders).map((r) => ({ status: 1, cents: Math.round(Number(r.amount) * 100) }), {
      reads: ['amount'],
      writes: { status: t.int64().optional(), cents: t.int64() },
    });
    const b = bind(write(sink, rel));
    assert.deepEqual(schemaOf(b), [
      'order_id: string',
      'customer_id: string',
      'amount: float64',
      'qty: int64',
      'status: int64?',
      'coupon: string?',
      'placed_at: timestamp',
      'cents: int64',
    ]);
  });

  test('a sink has the contract schema of its dataset', () => {
    const target = dataset('mart.paid', {
      owner: 'bi',
      contract: contract({ fields: { order_id: t.string(), amount: t.float64() } }),
    });
    const b = bind(write(target, read(orders).select('order_id', 'amount')));
    assert.deepEqual(b.findings, []);
    assert.deepEqual(show(stage(b, 'write_mart_paid').schema), ['order_id: string', 'amount: float64']);
  });
});

describe('stage ids', () => {
  const build = () => {
    const paid = read(orders).filter(col('status').eq('paid'));
    return [
      write(sink, paid.select('order_id', 'amount').filter(col('amount').gt(0))),
      write(sink2, read(customers).select('customer_id')),
    ];
  };

  test('unnamed stages get <op>_<n> in definition order, inputs before readers', () => {
    const b = bind(...build());
    assert.deepEqual(ids(b), [
      'read_1',
      'filter_1',
      'select_1',
      'filter_2',
      'write_mart_out',
      'read_2',
      'select_2',
      'write_mart_out2',
    ]);
    assert.deepEqual(stage(b, 'filter_2').inputs, ['select_1']);
    assert.deepEqual(stage(b, 'write_mart_out').inputs, ['filter_2']);
    assert.equal(stage(b, 'write_mart_out').kind, 'sink');
    assert.equal(stage(b, 'write_mart_out').writeMode, 'replace');
  });

  test('ids are deterministic: binding the same definition again gives the same ids', () => {
    assert.deepEqual(ids(bind(...build())), ids(bind(...build())));
    const outputs = build();
    const f = flow({ name: 'f', owner: 'team', sla: '1d', outputs });
    assert.deepEqual(ids(bindFlow(f, registry)), ids(bindFlow(f, registry)));
  });

  test('.stage() names a stage and sets its options; output ids can be given', () => {
    const rel = read(orders)
      .filter(col('status').eq('paid'))
      .stage('paid', { sla: '1h', owner: 'payments', mode: 'streaming' });
    const b = bind(write(sink, rel.select('order_id'), { id: 'publish' }));
    assert.deepEqual(ids(b), ['read_1', 'paid', 'select_1', 'publish']);
    const paid = stage(b, 'paid');
    assert.equal(paid.sla, '1h');
    assert.equal(paid.slaMs, 3_600_000);
    assert.equal(paid.owner, 'payments');
    assert.equal(paid.mode, 'streaming');
    assert.equal(paid.modeForced, true);
    const read1 = stage(b, 'read_1');
    assert.equal(read1.sla, '1d', 'unnamed stages take the flow SLA');
    assert.equal(read1.owner, 'team');
    assert.equal(read1.mode, 'batch');
    assert.equal(read1.modeForced, false);
  });

  test('a relation shared by two outputs is bound once', () => {
    const base = read(orders).filter(col('status').eq('paid'));
    const b = bind(
      write(sink, base.select('order_id', 'amount')),
      write(sink2, base.groupBy('customer_id').agg({ n: count() })),
    );
    assert.deepEqual(b.findings, []);
    assert.deepEqual(ids(b), ['read_1', 'filter_1', 'select_1', 'write_mart_out', 'aggregate_1', 'write_mart_out2']);
    assert.deepEqual(stage(b, 'select_1').inputs, ['filter_1']);
    assert.deepEqual(stage(b, 'aggregate_1').inputs, ['filter_1']);
  });

  test('a self-join reads one stage twice', () => {
    const base = read(customers).select('customer_id', 'tier');
    const other = base.select('customer_id', { tier2: col('tier') });
    const b = bind(write(sink, base.join(other, { on: 'customer_id' })));
    assert.deepEqual(ids(b), ['read_1', 'select_1', 'select_2', 'join_1', 'write_mart_out']);
    assert.deepEqual(schemaOf(b), ['customer_id: string', 'tier: int64', 'tier2: int64']);
  });
});

describe('findings', () => {
  test('NAP001: an unknown column names the column, suggests a fix, and points at the stage', () => {
    const b = bind(
      write(
        sink,
        read(orders)
          .select({ total: col('amout').mul(2) })
          .stage('totals'),
      ),
    );
    const f = only(b, 'NAP001', 'totals');
    assert.equal(f.severity, 'error');
    assert.match(f.message, /unknown column 'amout'; did you mean 'amount'\?/);
    assert.match(f.message, /^total = /, 'the message names the output column');
    assert.match(formatFinding(f), /^error NAP001 f\/totals: /);
    assert.equal(stage(b, 'totals').schema, undefined);
  });

  test('NAP001: an unbound stage stops the checks downstream (one mistake, one finding)', () => {
    const b = bind(
      write(
        sink,
        read(orders).filter(col('stauts').eq('paid')).select('nope').groupBy('also_nope').agg({ n: count() }),
      ),
    );
    const f = only(b, 'NAP001', 'filter_1');
    assert.match(f.message, /stauts/);
    assert.equal(stage(b, 'select_1').schema, undefined);
    assert.equal(stage(b, 'aggregate_1').schema, undefined);
  });

  test('NAP001: every unknown column of one expression is reported', () => {
    const b = bind(write(sink, read(orders).withColumns({ x: col('aa').add(col('bb')) })));
    assert.deepEqual(
      b.findings.map((f) => [f.code, f.stage]),
      [
        ['NAP001', 'withColumns_1'],
        ['NAP001', 'withColumns_1'],
      ],
    );
    assert.match(b.findings[0].message, /'aa'/);
    assert.match(b.findings[1].message, /'bb'/);
  });

  test('NAP001: a filter on a non-bool expression', () => {
    const f = only(bind(write(sink, read(orders).filter(col('amount')))), 'NAP001', 'filter_1');
    assert.match(f.message, /amount/);
    assert.match(f.message, /is float64, not bool/);
  });

  test('NAP001: a type error in an aggregate', () => {
    const f = only(
      bind(
        write(
          sink,
          read(orders)
            .groupBy('customer_id')
            .agg({ s: sum(col('status')) }),
        ),
      ),
      'NAP001',
      'aggregate_1',
    );
    assert.match(f.message, /status/);
    assert.match(f.message, /sum takes numbers, got string/);
  });

  test('NAP002: a duplicate output column in select', () => {
    const f = only(bind(write(sink, read(orders).select('order_id', { order_id: lit(1) }))), 'NAP002', 'select_1');
    assert.equal(f.message, "column 'order_id' is produced twice");
  });

  test('NAP002: an aggregate named like a key', () => {
    const f = only(
      bind(write(sink, read(orders).groupBy('customer_id').agg({ customer_id: count() }))),
      'NAP002',
      'aggregate_1',
    );
    assert.match(f.message, /'customer_id'/);
  });

  test('NAP003: an unknown join key on either side', () => {
    const l = only(bind(write(sink, read(orders).join(read(customers), { on: 'cust' }))), 'NAP003', 'join_1');
    assert.match(l.message, /'cust' is not a left column/);
    const r = only(
      bind(write(sink, read(orders).join(read(customers), { on: [{ left: 'customer_id', right: 'cid' }] }))),
      'NAP003',
      'join_1',
    );
    assert.match(r.message, /'cid' is not a right column \(customer_id, country, tier\)/);
  });

  test('NAP003: join keys of different types', () => {
    const f = only(
      bind(write(sink, read(orders).join(read(customers), { on: [{ left: 'customer_id', right: 'tier' }] }))),
      'NAP003',
      'join_1',
    );
    assert.match(f.message, /join key customer_id is string on the left and int64 on the right/);
  });

  test('NAP003: columns collide across the join', () => {
    const f = only(bind(write(sink, read(orders).join(read(accounts), { on: 'customer_id' }))), 'NAP003', 'join_1');
    assert.match(f.message, /status/);
    assert.doesNotMatch(f.message, /customer_id/, 'the shared key is not a collision');
  });

  test('NAP004: union inputs with different columns', () => {
    const f = only(
      bind(write(sink, read(orders).select('order_id').union(read(orders).select('order_id', 'status')))),
      'NAP004',
      'union_1',
    );
    assert.match(f.message, /union input 2 has columns \(order_id, status\) but input 1 has \(order_id\)/);
  });

  test('NAP004: union inputs with one column of different types', () => {
    const a = read(orders).select('order_id', { v: col('amount') });
    const c = read(orders).select('order_id', { v: col('status') });
    const f = only(bind(write(sink, a.union(c))), 'NAP004', 'union_1');
    assert.match(f.message, /union column 'v' is float64 in input 1 but string in input 2/);
  });

  describe('NAP005: writing into a contract', () => {
    const target = dataset('mart.coupons', {
      owner: 'bi',
      contract: contract({ fields: { order_id: t.string(), coupon: t.string(), note: t.string().optional() } }),
    });

    test('a nullable column into a required field', () => {
      const f = only(bind(write(target, read(orders).select('order_id', 'coupon'))), 'NAP005', 'write_mart_coupons');
      assert.equal(f.dataset, 'mart.coupons');
      assert.match(f.message, /'coupon' is string\? but the contract says string/);
    });

    test('no finding once a filter proves the column is not null, or a coalesce fills it', () => {
      const filtered = read(orders).filter(col('coupon').isNotNull()).select('order_id', 'coupon');
      assert.deepEqual(bind(write(target, filtered)).findings, []);
      const filled = read(orders).select('order_id', { coupon: col('coupon').coalesce('') });
      assert.deepEqual(bind(write(target, filled)).findings, []);
    });

    test('a missing required column (a missing optional one is fine)', () => {
      const f = only(bind(write(target, read(orders).select('order_id'))), 'NAP005', 'write_mart_coupons');
      assert.match(f.message, /required column 'coupon' is not produced/);
      assert.doesNotMatch(f.message, /note/);
    });

    test('an extra column in a closed contract, not in an open one', () => {
      const rel = read(orders).filter(col('coupon').isNotNull()).select('order_id', 'coupon', 'status');
      const f = only(bind(write(target, rel)), 'NAP005', 'write_mart_coupons');
      assert.match(f.message, /column\(s\) status are not in the contract/);
      const open = dataset('mart.coupons', {
        owner: 'bi',
        contract: contract({ content: 'open', fields: { order_id: t.string(), coupon: t.string() } }),
      });
      assert.deepEqual(bind(write(open, rel)).findings, []);
    });

    test('a type the contract does not accept, and a widening it does', () => {
      const typed = dataset('mart.typed', {
        owner: 'bi',
        contract: contract({ fields: { order_id: t.int64(), qty: t.float64() } }),
      });
      const f = only(bind(write(typed, read(orders).select('order_id', 'qty'))), 'NAP005', 'write_mart_typed');
      assert.match(f.message, /'order_id' is string but the contract says int64/);
      assert.doesNotMatch(f.message, /qty/, 'int64 widens into float64');
    });

    test('every problem is in one finding', () => {
      const f = only(bind(write(target, read(orders).select('coupon', 'status'))), 'NAP005', 'write_mart_coupons');
      assert.match(f.message, /required column 'order_id' is not produced/);
      assert.match(f.message, /'coupon' is string\?/);
      assert.match(f.message, /column\(s\) status are not in the contract/);
      assert.match(f.message, /breaks its contract v1/);
    });
  });

  test('NAP011: reading a dataset without a contract', () => {
    const raw = dataset('shop.raw', { owner: 'ops', storage: csv('raw.csv') });
    const f = only(bind(write(sink, read(raw).select('x'))), 'NAP011', 'read_1');
    assert.equal(f.dataset, 'shop.raw');
    assert.match(f.message, /shop\.raw/);
  });

  test('NAP016: two stages with one id', () => {
    const a = read(orders).filter(col('status').eq('paid')).stage('x');
    const b = bind(write(sink, a.select('order_id').stage('x')));
    const f = only(b, 'NAP016', 'x');
    assert.equal(f.message, "two stages are named 'x'");
    assert.equal(new Set(ids(b)).size, b.stages.length, 'the second stage still gets a distinct id');
  });

  test('NAP016: two outputs with one id', () => {
    const f = only(
      bind(write(sink, read(orders), { id: 'out' }), write(sink2, read(customers), { id: 'out' })),
      'NAP016',
      'out',
    );
    assert.match(f.message, /'out'/);
  });

  test('NAP021: an unknown groupBy key', () => {
    const f = only(
      bind(write(sink, read(orders).groupBy('customer', 'status').agg({ n: count() }))),
      'NAP021',
      'aggregate_1',
    );
    assert.match(f.message, /groupBy names unknown column\(s\) customer;/);
  });

  test('NAP021: an unknown dedupe key', () => {
    const f = only(bind(write(sink, read(orders).dedupe('order'))), 'NAP021', 'dedupe_1');
    assert.match(f.message, /dedupe names unknown column\(s\) order;/);
  });

  test('NAP020: map reads an unknown column', () => {
    const rel = read(orders).map(() => ({ y: 1 }), { reads: ['amount', 'amnt'], writes: { y: t.int64() } });
    const f = only(bind(write(sink, rel)), 'NAP020', 'map_1');
    assert.match(f.message, /map reads unknown column\(s\) amnt;/);
    assert.doesNotMatch(f.message, /column\(s\) amount/);
  });
});
