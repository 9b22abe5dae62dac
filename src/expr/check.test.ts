import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ExprNode } from './ast.ts';
import { avg, coalesce, col, concat, count, countDistinct, lit, max, min, sum, typedLit, when } from './builders.ts';
import { checkAgg, checkExpr } from './check.ts';
import { createRegistry } from './functions.ts';
import { exprLineage, predicateColumns } from './lineage.ts';
import type { Schema } from './types.ts';

const registry = createRegistry();

const schema: Schema = {
  fields: [
    { name: 'order_id', type: { kind: 'string' }, nullable: false },
    { name: 'amount', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: false },
    { name: 'qty', type: { kind: 'int64' }, nullable: false },
    { name: 'rate', type: { kind: 'float64' }, nullable: true },
    { name: 'name', type: { kind: 'string' }, nullable: true },
    { name: 'placed_at', type: { kind: 'timestamp' }, nullable: false },
    { name: 'day', type: { kind: 'date' }, nullable: false },
    { name: 'status', type: { kind: 'enum', name: 'status', symbols: ['OPEN', 'PAID'] }, nullable: false },
    { name: 'tags', type: { kind: 'list', item: { type: { kind: 'string' }, nullable: false } }, nullable: true },
  ],
};

function messages(node: ExprNode): string[] {
  return checkExpr(node, schema, registry).errors.map((e) => e.message);
}

function typeOf(node: ExprNode): string {
  const r = checkExpr(node, schema, registry);
  assert.deepEqual(r.errors, []);
  const t = r.type!;
  return `${JSON.stringify(t.type)}${t.nullable ? '?' : ''}`;
}

test('an unknown column suggests the closest name and lists the available ones', () => {
  assert.deepEqual(messages(col('amout').node), [
    "unknown column 'amout'; did you mean 'amount'? available: order_id, amount, qty, rate, name, placed_at, day, status, tags",
  ]);
  assert.match(messages(col('Qty').node)[0], /did you mean 'qty'\?/);
  assert.doesNotMatch(messages(col('zzzzzz').node)[0], /did you mean/);
});

test('every unknown column of an expression is reported, with its path', () => {
  const r = checkExpr(col('amout').add(col('qtty')).node, schema, registry);
  assert.deepEqual(
    r.errors.map((e) => e.path),
    ['/args/0', '/args/1'],
  );
  assert.equal(r.type, undefined);
});

test('type errors name the call, what the function takes and what it got', () => {
  assert.deepEqual(messages(col('name').add(1).node), ["col('name').add(1): add takes numbers, got string and int64"]);
  assert.deepEqual(messages(col('qty').lower().node), ["col('qty').lower(): lower takes a string, got int64"]);
  assert.deepEqual(messages(col('placed_at').eq(col('day')).node), [
    "col('placed_at').eq(col('day')): eq takes two values of the same kind (numbers, text, bool, timestamp or date), got timestamp and date",
  ]);
  assert.match(messages(concat(col('name'), col('qty')).node)[0], /concat takes strings \(convert others with/);
  assert.match(messages(col('rate').mod(2).node)[0], /mod takes two int64 values/);
  assert.match(messages(col('day').hour().node)[0], /hour takes a timestamp, got date/);
  assert.match(messages(coalesce(col('qty'), 'x').node)[0], /coalesce takes values of one type, got int64 and string/);
});

test('arity, literal-only arguments and unknown functions', () => {
  const call = (fn: string, ...args: ExprNode[]): ExprNode => ({ kind: 'call', fn, args });
  assert.match(messages(call('substr', col('name').node))[0], /substr takes 2 to 3 arguments, got 1/);
  assert.match(messages(call('dateTrunc', col('name').node, col('placed_at').node))[0], /unit literal/);
  assert.match(messages(call('dateTrunc', lit('week').node, col('placed_at').node))[0], /got "week"/);
  assert.match(messages(call('in', col('qty').node, col('qty').node))[0], /argument 2 is not one/);
  assert.deepEqual(messages(call('lowr', col('name').node)), ["unknown function 'lowr'; did you mean 'lower'?"]);
});

test('case conditions and branches', () => {
  assert.match(messages(when(col('qty'), 1).otherwise(2).node)[0], /a when condition must be bool, got int64/);
  assert.match(messages(when(col('qty').gt(1), 1).otherwise('x').node)[0], /branches must share one type/);
  assert.equal(typeOf(when(col('qty').gt(1), 1).otherwise(col('rate')).node), '{"kind":"float64"}?');
  assert.equal(typeOf(when(col('qty').gt(1), 'a').node), '{"kind":"string"}?', 'no otherwise means null');
  assert.equal(typeOf(when(col('qty').gt(1), 'a').otherwise('b').node), '{"kind":"string"}');
});

test('result types: arithmetic widening, propagated and intrinsic nullability', () => {
  assert.equal(typeOf(col('qty').add(1).node), '{"kind":"int64"}');
  assert.equal(typeOf(col('qty').add(col('rate')).node), '{"kind":"float64"}?');
  assert.equal(typeOf(col('amount').mul(col('qty')).node), '{"kind":"decimal","precision":38,"scale":2}');
  assert.equal(typeOf(col('qty').div(2).node), '{"kind":"float64"}?', 'division by zero gives null');
  assert.equal(typeOf(col('name').isNull().node), '{"kind":"bool"}');
  assert.equal(typeOf(coalesce(col('name'), 'x').node), '{"kind":"string"}');
  assert.equal(typeOf(coalesce(col('status'), col('name')).node), '{"kind":"string"}');
  assert.equal(typeOf(col('placed_at').dateTrunc('day').node), '{"kind":"timestamp"}');
  assert.equal(typeOf(col('day').dateTrunc('month').node), '{"kind":"date"}');
  assert.equal(typeOf(col('status').eq('PAID').node), '{"kind":"bool"}');
  assert.equal(typeOf(col('rate').gt(1).and(col('qty').gt(1)).node), '{"kind":"bool"}?');
});

test('casts: allowed sources, and nullable when a value may not convert', () => {
  assert.equal(typeOf(col('qty').cast('string').node), '{"kind":"string"}');
  assert.equal(typeOf(col('order_id').cast('int64').node), '{"kind":"int64"}?');
  assert.equal(typeOf(col('qty').cast('float64').node), '{"kind":"float64"}');
  assert.equal(typeOf(col('placed_at').cast('date').node), '{"kind":"date"}');
  assert.equal(typeOf(col('order_id').cast('timestamp').node), '{"kind":"timestamp"}?');
  assert.equal(typeOf(col('tags').cast('string').node), '{"kind":"string"}?');
  assert.equal(typeOf(col('placed_at').cast('int64').node), '{"kind":"int64"}', 'epoch milliseconds');
  assert.match(
    messages(col('day').cast('int64').node)[0],
    /cannot cast date to int64; int64 casts from numbers, strings, bool and timestamps/,
  );
  assert.match(messages(col('day').cast('bool').node)[0], /cannot cast date to bool/);
});

test('typed literals must hold a value of their type', () => {
  assert.match(messages(typedLit('x', { kind: 'int64' }).node)[0], /'x' is not a valid int64 literal/);
  assert.equal(typeOf(typedLit(null, { kind: 'int64' }).node), '{"kind":"int64"}?');
});

test('aggregates: result types and errors', () => {
  const aggType = (a: ReturnType<typeof sum>) => {
    const r = checkAgg(a.node, schema, registry);
    return r.type === undefined ? r.errors.map((e) => e.message).join('; ') : JSON.stringify(r.type);
  };
  assert.equal(aggType(count()), '{"type":{"kind":"int64"},"nullable":false}');
  assert.equal(aggType(count(col('name'))), '{"type":{"kind":"int64"},"nullable":false}');
  assert.equal(aggType(countDistinct(col('name'))), '{"type":{"kind":"int64"},"nullable":false}');
  assert.equal(aggType(sum(col('qty'))), '{"type":{"kind":"int64"},"nullable":true}');
  assert.equal(aggType(sum(col('amount'))), '{"type":{"kind":"decimal","precision":38,"scale":2},"nullable":true}');
  assert.equal(aggType(sum(col('rate'))), '{"type":{"kind":"float64"},"nullable":true}');
  assert.equal(aggType(avg(col('amount'))), '{"type":{"kind":"float64"},"nullable":true}');
  assert.equal(aggType(min(col('placed_at'))), '{"type":{"kind":"timestamp"},"nullable":true}');
  assert.equal(aggType(max(col('name'))), '{"type":{"kind":"string"},"nullable":true}');
  assert.equal(aggType(sum(col('name'))), "sum(col('name')): sum takes numbers, got string");
  assert.match(aggType(max(col('tags'))), /max takes numbers, strings, timestamps or dates, got list<string>/);
  assert.match(aggType(avg(col('amout'))), /unknown column 'amout'/);
  assert.equal(checkAgg(avg(col('qty').add(col('amout'))).node, schema, registry).errors[0].path, '/arg/args/1');
  assert.match(aggType(sum(lit(null))), /sum takes numbers, got null/);
});

test('lineage: identity only for a bare column', () => {
  assert.deepEqual(exprLineage(col('qty').node), { columns: ['qty'], kind: 'identity' });
  assert.deepEqual(exprLineage(col('qty').cast('string').node), { columns: ['qty'], kind: 'transformation' });
  assert.deepEqual(exprLineage(col('qty').mul(col('amount')).add(col('qty')).node), {
    columns: ['qty', 'amount'],
    kind: 'transformation',
  });
  assert.deepEqual(exprLineage(sum(col('amount')).node), { columns: ['amount'], kind: 'aggregation' });
  assert.deepEqual(exprLineage(count().node), { columns: [], kind: 'aggregation' });
  assert.deepEqual(predicateColumns(col('status').eq('PAID').and(col('qty').gt(0)).node), ['status', 'qty']);
  const r = createRegistry();
  r.register({
    name: 'tag',
    description: 'Passes the value through unchanged.',
    example: "call('tag', col('x'))",
    signature: 'tag(a) → a',
    nulls: 'propagate',
    lineage: 'identity',
    infer: (args) => args[0],
    emit: ([a]) => a,
  });
  const tagged: ExprNode = { kind: 'call', fn: 'tag', args: [col('qty').node] };
  assert.equal(exprLineage(tagged, r).kind, 'identity');
  assert.equal(exprLineage(tagged).kind, 'transformation');
});
