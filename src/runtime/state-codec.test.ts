import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deserialize, serialize } from 'node:v8';
import { GroupIndex } from '../state/group-index.ts';
import { decodeState, encodeState, restoreFields, StateNotCapturable } from './state-codec.ts';
import { MinWatermark } from './watermark.ts';

/** Through the bytes a snapshot stores. */
const roundTrip = (v: unknown): unknown => decodeState(deserialize(serialize(encodeState(v, 'test'))));

describe('state codec', () => {
  it('gives known class instances their class back, with their fields', () => {
    const g = new GroupIndex(2);
    const out = new Int32Array(3);
    g.assign(
      [
        ['a', 'b', 'a'],
        [1, 2, 1],
      ],
      3,
      out,
    );
    const back = roundTrip(g) as GroupIndex;
    assert.ok(back instanceof GroupIndex);
    assert.equal(back.size, 2);
    // The restored index goes on numbering as the original does.
    const next = new Int32Array(2);
    back.assign(
      [
        ['b', 'c'],
        [2, 3],
      ],
      2,
      next,
    );
    assert.deepEqual([...next], [1, 2]);
  });

  it('keeps shared references shared and maps, sets and typed arrays whole', () => {
    const shared = { n: 1 };
    const state = {
      a: shared,
      b: [shared],
      m: new Map([['k', shared]]),
      s: new Set([1, 2]),
      f: new Float64Array([1.5]),
    };
    const back = roundTrip(state) as typeof state;
    assert.equal(back.a, back.b[0]);
    assert.equal(back.m.get('k'), back.a);
    assert.deepEqual([...back.s], [1, 2]);
    assert.deepEqual([...back.f], [1.5]);
  });

  it('never mistakes user data for a tagged instance', () => {
    const tricky = { '\u0000class': 'MinWatermark', fields: { x: 1 } };
    assert.deepEqual(roundTrip({ v: tricky }), { v: tricky });
  });

  it('refuses functions and unknown classes, naming where', () => {
    assert.throws(
      () => encodeState({ acc: { f: () => 1 } }, 'stage s'),
      (e: Error) => {
        assert.ok(e instanceof StateNotCapturable);
        assert.match(e.message, /stage s: state holds a function at acc\.f; it cannot be snapshotted/);
        return true;
      },
    );
    class Mine {
      x = 1;
    }
    assert.throws(() => encodeState([new Mine()], 'stage s'), /an instance of Mine/);
  });

  it('restores fields onto a live instance, and refuses a field it does not have', () => {
    const wm = new MinWatermark(2);
    wm.set(0, 5);
    wm.set(1, 7);
    const fresh = new MinWatermark(2);
    restoreFields(fresh, roundTrip(wm), 'union');
    assert.equal(fresh.current, 5);
    assert.throws(() => restoreFields(fresh, { nope: 1 }, 'union'), /union: the snapshot has a field nope/);
  });
});
