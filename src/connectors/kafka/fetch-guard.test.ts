import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Consumer, IS_CONTROL, kGetApi } from '@platformatic/kafka';
import { guardFetches } from './fetch.ts';

/** A control batch: an abort marker (type 0) or a commit marker (type 1) of `producerId` at `offset`. */
function marker(producerId: bigint, offset: bigint, type: 0 | 1) {
  const key = Buffer.alloc(4);
  key.writeInt16BE(0, 0);
  key.writeInt16BE(type, 2);
  return { attributes: IS_CONTROL, producerId, firstOffset: offset, records: [{ key }] };
}

/** A consumer whose Fetch API answers `response`: what the guard wraps, without a broker. */
function fakeConsumer(response: unknown): Consumer {
  const fetchApi = (...args: unknown[]) => (args[args.length - 1] as (e: null, r: unknown) => void)(null, response);
  return {
    [kGetApi]: (_name: string, callback: (e: null, api: unknown) => void) => callback(null, fetchApi),
  } as unknown as Consumer;
}

function fetchThrough(consumer: Consumer): Promise<unknown> {
  type GetApi = (n: string, cb: (e: Error | null, api: unknown) => void) => void;
  const c = consumer as unknown as Record<typeof kGetApi, GetApi>;
  return new Promise((resolve) =>
    c[kGetApi]('Fetch', (_e, api) =>
      (api as (...a: unknown[]) => void)('connection', 0, (_x: null, r: unknown) => resolve(r)),
    ),
  );
}

describe('guardFetches: the client filter never meets an abort marker it cannot place', () => {
  test('an abort marker of a producer the aborted list does not name gets an empty listed range at the marker', async () => {
    const partition = {
      abortedTransactions: [{ producerId: 7n, firstOffset: 10n }],
      records: [marker(7n, 12n, 0), marker(9n, 15n, 0), marker(11n, 16n, 1)],
    };
    await fetchThrough(guardFetches(fakeConsumer({ responses: [{ partitions: [partition] }] })));
    assert.deepEqual(partition.abortedTransactions, [
      { producerId: 7n, firstOffset: 10n },
      { producerId: 9n, firstOffset: 15n },
    ]);
  });

  test('a response with no aborted list is left alone (the client filters nothing then)', async () => {
    const partition = { abortedTransactions: [], records: [marker(9n, 15n, 0)] };
    await fetchThrough(guardFetches(fakeConsumer({ responses: [{ partitions: [partition] }] })));
    assert.deepEqual(partition.abortedTransactions, []);
  });
});
