import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UpstreamProgress } from './progress.ts';

const at = (from: number, watermark: number, time: number, idle = false) => ({ from, watermark, idle, at: time });

describe('UpstreamProgress: a repartition topic partition’s watermark from its upstream tasks', () => {
  test('the minimum over the upstream partitions, −∞ until each has said where it is (M2)', () => {
    const u = new UpstreamProgress(3, undefined);
    u.take(at(0, 100, 1));
    u.take(at(1, 50, 2));
    assert.equal(u.watermark, undefined);
    u.take(at(2, 70, 3));
    assert.equal(u.watermark, 50);
    u.take(at(1, 200, 4));
    assert.equal(u.watermark, 70);
  });

  test('an upstream task that says it is idle is left out; back, it rejoins once caught up (M7.3, M7.4)', () => {
    const u = new UpstreamProgress(2, undefined);
    u.take(at(0, 100, 1));
    u.take(at(1, 10, 2, true));
    assert.equal(u.watermark, 100);
    u.take(at(1, 20, 3));
    u.take(at(0, 150, 4));
    assert.equal(u.watermark, 150, 'upstream 1 is behind: not counted yet');
    u.take(at(1, 160, 5));
    u.take(at(0, 300, 6));
    assert.equal(u.watermark, 160);
  });

  test('one that says nothing for idleMs of the others’ record time is idle; so is one never heard from', () => {
    const u = new UpstreamProgress(3, 1000);
    u.take(at(0, 100, 10_000));
    u.take(at(1, 120, 10_500));
    assert.equal(u.watermark, undefined, 'upstream 2 has said nothing yet, but only for 500 ms');
    u.take(at(0, 130, 11_000));
    assert.equal(u.watermark, undefined, 'exactly the timeout: not yet');
    u.take(at(1, 140, 11_001));
    assert.equal(u.watermark, 130, 'upstream 2 never heard from, 1001 ms on: idle');
    u.take(at(0, 150, 12_001));
    assert.equal(u.watermark, 140);
    u.take(at(0, 400, 12_002));
    assert.equal(u.watermark, 400, 'upstream 1 silent for 1001 ms: idle too, 0 alone counts');
  });

  test('the same records give the same watermarks, however they are read (the judgement is on their time)', () => {
    const records = [at(0, 5, 1), at(1, 9, 2), at(0, 12, 3000), at(1, 20, 3001), at(0, 40, 6000)];
    const run = () => {
      const u = new UpstreamProgress(2, 2000);
      return records.map((r) => {
        u.take(r);
        return u.watermark;
      });
    };
    assert.deepEqual(run(), run());
    assert.deepEqual(run(), [undefined, 5, 12, 12, 40]);
  });
});
