import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { col, combine, count, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import type { Value } from '../expr/types.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { jsonl } from '../flow/storage.ts';
import { fixed } from '../time/windows.ts';
import { bindFlow } from './bind.ts';
import { canonical, flowFingerprint, shortFingerprint } from './fingerprint.ts';

const orders = (version = 1, amount = t.float64()) =>
  dataset('shop.orders', {
    storage: jsonl('data/orders.jsonl'),
    contract: contract({ version, eventTime: 'at', fields: { id: t.int64(), amount, at: t.timestamp() } }),
  });
const out = dataset('shop.out', { owner: 'o', storage: jsonl('out/out.jsonl') });

/** The reference flow; every option changes one thing about it. */
function version(o: { threshold?: number; window?: string; version?: number; stageId?: string; sla?: string } = {}) {
  const rel = read(orders(o.version ?? 1))
    .filter(col('amount').gt(o.threshold ?? 10))
    .window(fixed(o.window ?? '1m'))
    .groupBy('id')
    .agg({ n: count(), total: sum(col('amount')) })
    .stage(o.stageId ?? 'per_minute');
  return bindFlow(flow({ name: 'f', owner: 'o', sla: o.sla ?? '1d', outputs: [write(out, rel)] }), createRegistry());
}

describe('flow fingerprints (reliability §2.7)', () => {
  test('the same definition, built twice, has the same fingerprint', () => {
    assert.equal(flowFingerprint(version()), flowFingerprint(version()));
    assert.match(flowFingerprint(version()), /^[0-9a-f]{64}$/);
    assert.equal(shortFingerprint(flowFingerprint(version())).length, 12);
  });

  test('any change of logic, contract, stage id or mode changes it', () => {
    const base = flowFingerprint(version());
    const changed = [
      version({ threshold: 11 }),
      version({ window: '2m' }),
      version({ version: 2 }),
      version({ stageId: 'per_min' }),
      version({ sla: '30s' }),
    ].map(flowFingerprint);
    for (const f of changed) assert.notEqual(f, base);
    assert.equal(new Set(changed).size, changed.length);
  });

  test("a user combine function's code is part of it, not only its name", () => {
    const fingerprintOf = (extract: (acc: number) => Value) => {
      const total = {
        name: 'total',
        result: t.float64(),
        create: () => 0,
        add: (a: number, v: Value) => a + (v as number),
        merge: (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0),
        extract,
      };
      const rel = read(orders())
        .groupBy('id')
        .agg({ x: combine(total, col('amount')) });
      return flowFingerprint(
        bindFlow(flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(out, rel)] }), createRegistry()),
      );
    };
    assert.equal(
      fingerprintOf((a) => a),
      fingerprintOf((a) => a),
    );
    assert.notEqual(
      fingerprintOf((a) => a),
      fingerprintOf((a) => a * 2),
    );
  });

  test('canonical form: key order and undefined do not matter; ±∞ and functions are tagged', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        assert.equal(canonical(o), canonical(reversed));
      }),
    );
    assert.equal(canonical({ b: 1, a: undefined, c: Number.POSITIVE_INFINITY }), '{"b":1,"c":"#Infinity"}');
    assert.match(
      canonical(() => 1),
      /^"#fn:[0-9a-f]{64}"$/,
    );
  });
});
