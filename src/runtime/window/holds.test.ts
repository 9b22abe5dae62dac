import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { HoldSet } from './holds.ts';

describe('HoldSet', () => {
  it('keeps the minimum of a multiset of holds under adds and removes (property)', () => {
    const op = fc.oneof(
      fc.integer({ min: 0, max: 20 }).map((v) => ({ add: true, v })),
      fc.nat().map((i) => ({ add: false, v: i })),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const set = new HoldSet();
        const model: number[] = [];
        for (const o of ops) {
          if (o.add) {
            set.add(o.v);
            model.push(o.v);
          } else if (model.length > 0) {
            const [v] = model.splice(o.v % model.length, 1);
            set.remove(v);
          }
          assert.equal(set.min(), model.length === 0 ? undefined : Math.min(...model));
        }
      }),
    );
  });

  it('refuses to release a hold it does not have', () => {
    assert.throws(() => new HoldSet().remove(5), /no watermark hold at 5/);
  });
});
