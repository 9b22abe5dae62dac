import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kafka } from './kafka-storage.ts';

const base = { topic: 'shop.orders', brokers: 'env:NAPKIN_KAFKA_BROKERS' } as const;

describe('kafka() options', () => {
  test('defaults: JSON, from the earliest record, 200 ms polls, a partition idle after a minute', () => {
    const s = kafka(base);
    assert.equal(s.format, 'json');
    assert.equal(s.startFrom, 'earliest');
    assert.equal(s.pollMs, 200);
    assert.equal(s.partitionIdleMs, 60_000);
  });

  test("partitionIdleTimeout: a duration, or 'never' for no partition ever idle", () => {
    assert.equal(kafka({ ...base, partitionIdleTimeout: '30s' }).partitionIdleMs, 30_000);
    assert.equal('partitionIdleMs' in kafka({ ...base, partitionIdleTimeout: 'never' }), false);
    assert.throws(
      () => kafka({ ...base, partitionIdleTimeout: 'soon' }),
      /kafka\(\{ topic: 'shop.orders' \}\): partitionIdleTimeout must be a duration such as '30s' or 'never'/,
    );
    assert.throws(() => kafka({ ...base, partitionIdleTimeout: '0s' }), /partitionIdleTimeout must be positive/);
  });

  test('an address for brokers is refused without echoing it', () => {
    assert.throws(
      () => kafka({ ...base, brokers: 'user:secret@10.0.0.1:9092' }),
      (e: Error) => /brokers must be a reference/.test(e.message) && !e.message.includes('secret'),
    );
  });

  test('topics: Kafka names only, not the brokers’ or napkin’s own', () => {
    assert.throws(() => kafka({ ...base, topic: 'a/b' }), /must be 1 to 249 letters/);
    assert.throws(() => kafka({ ...base, topic: '__consumer_offsets' }), /Kafka's and napkin's own/);
  });

  test('startFrom: earliest, latest, an offset (per partition) or a time with a zone', () => {
    assert.deepEqual(kafka({ ...base, startFrom: { offset: { '0': 4 } } }).startFrom, { offset: { '0': 4 } });
    assert.throws(() => kafka({ ...base, startFrom: { offset: -1 } }), /startFrom.offset must be an offset/);
    assert.throws(() => kafka({ ...base, startFrom: { time: '2026-01-01' } }), /startFrom.time must be an ISO 8601/);
  });
});
