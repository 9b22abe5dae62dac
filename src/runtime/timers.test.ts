import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type Timer, TimerQueue } from './timers.ts';

const names = (ts: readonly Timer<string>[]) => ts.map((t) => `${t.key}/${t.id}@${t.at}`);

describe('TimerQueue', () => {
  it('fires event-time timers once the watermark is past them (M4: watermark > at)', () => {
    const q = new TimerQueue<string>();
    q.set('eventTime', 'k', 'eow', 9_999);
    assert.deepEqual(q.popEventTime(9_999), []);
    assert.deepEqual(names(q.popEventTime(10_000)), ['k/eow@9999']);
    assert.equal(q.size, 0);
  });

  it('fires processing-time timers once processing time reaches them (now ≥ at)', () => {
    const q = new TimerQueue<string>();
    q.set('processingTime', 'k', 'p', 100);
    assert.deepEqual(q.popProcessingTime(99), []);
    assert.deepEqual(names(q.popProcessingTime(100)), ['k/p@100']);
  });

  it('keeps the two domains apart, even under the same name', () => {
    const q = new TimerQueue<string>();
    q.set('eventTime', 'k', 't', 1);
    q.set('processingTime', 'k', 't', 2);
    assert.equal(q.size, 2);
    assert.deepEqual(names(q.popProcessingTime(10)), ['k/t@2']);
    assert.deepEqual(names(q.popEventTime(10)), ['k/t@1']);
  });

  it('fires in timestamp order, ties in the order they were set', () => {
    const q = new TimerQueue<string>();
    q.set('eventTime', 'b', 'x', 5);
    q.set('eventTime', 'a', 'x', 3);
    q.set('eventTime', 'a', 'y', 5);
    q.set('eventTime', 'c', 'x', 7);
    assert.deepEqual(names(q.popEventTime(6)), ['a/x@3', 'b/x@5', 'a/y@5']);
    assert.equal(q.peek('eventTime')?.at, 7);
  });

  it('moves a timer set again under the same name, and cancels', () => {
    const q = new TimerQueue<string>();
    q.set('eventTime', 'k', 't', 5);
    q.set('eventTime', 'k', 't', 50);
    assert.equal(q.size, 1);
    assert.deepEqual(q.popEventTime(10), []);
    assert.equal(q.get('eventTime', 'k', 't')?.at, 50);
    q.set('eventTime', 'k', 't', 2);
    assert.equal(q.peek('eventTime')?.at, 2);
    assert.equal(q.cancel('eventTime', 'k', 't'), true);
    assert.equal(q.cancel('eventTime', 'k', 't'), false);
    assert.deepEqual(q.popEventTime(100), []);
  });

  it('takes any key and id type, and round-trips through plain data', () => {
    const q = new TimerQueue<number, number>();
    q.set('eventTime', 1, -10_000, 10);
    q.set('processingTime', 2, 0, 20);
    const copy = TimerQueue.restore(JSON.parse(JSON.stringify(q.timers())) as Timer<number, number>[]);
    assert.deepEqual(copy.timers(), q.timers());
  });

  it('pops exactly the set timers at or before the time, in order, under churn (property)', () => {
    const op = fc.oneof(
      fc.record({
        op: fc.constant('set' as const),
        key: fc.integer({ min: 0, max: 8 }),
        at: fc.integer({ min: 0, max: 50 }),
      }),
      fc.record({ op: fc.constant('cancel' as const), key: fc.integer({ min: 0, max: 8 }) }),
      fc.record({ op: fc.constant('pop' as const), at: fc.integer({ min: 0, max: 60 }) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const q = new TimerQueue<number>();
        const model = new Map<number, number>();
        for (const o of ops) {
          if (o.op === 'set') {
            q.set('processingTime', o.key, 'id', o.at);
            model.set(o.key, o.at);
          } else if (o.op === 'cancel') {
            assert.equal(q.cancel('processingTime', o.key, 'id'), model.delete(o.key));
          } else {
            const got = q.popProcessingTime(o.at).map((t) => t.at);
            const want = [...model.entries()].filter(([, at]) => at <= o.at);
            for (const [k] of want) model.delete(k);
            assert.deepEqual(
              got,
              want.map(([, at]) => at).sort((a, b) => a - b),
            );
          }
          assert.equal(q.size, model.size);
        }
      }),
    );
  });
});
