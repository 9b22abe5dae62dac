import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WindowingError } from './invalid.ts';
import {
  afterAll,
  afterCount,
  afterEach,
  afterFirst,
  afterProcessingTime,
  afterWatermark,
  defaultTrigger,
  formatTrigger,
  hasWatermarkPart,
  never,
  orFinally,
  repeatedly,
} from './triggers.ts';
import { resolveWindowing, WINDOWING_DEFAULTS } from './windowing.ts';
import { fixed, global } from './windows.ts';

function rejects(make: () => unknown, field: string): void {
  assert.throws(make, (e: unknown) => e instanceof WindowingError && e.field === field);
}

describe('trigger descriptions', () => {
  it('are plain data', () => {
    const t = afterWatermark({ early: afterProcessingTime('1m'), late: afterCount(1) });
    assert.deepEqual(JSON.parse(JSON.stringify(t)), {
      kind: 'afterWatermark',
      early: { kind: 'afterProcessingTime', delay: 60_000, alignOffset: 0 },
      late: { kind: 'afterCount', count: 1 },
    });
    assert.deepEqual(afterWatermark(), { kind: 'afterWatermark' });
  });

  it('validate their fields (G8, G9, G11–G13)', () => {
    rejects(() => afterCount(0), 'count');
    rejects(() => afterCount(1.5), 'count');
    rejects(() => afterProcessingTime(-1), 'delay');
    rejects(() => afterProcessingTime(0, { alignSize: 0 }), 'alignSize');
    rejects(() => afterProcessingTime(0, { alignOffset: 5 }), 'alignOffset');
    rejects(() => afterEach(), 'triggers');
    rejects(() => afterFirst(), 'triggers');
    rejects(() => afterAll(), 'triggers');
    assert.deepEqual(afterProcessingTime('1m', { alignSize: '1m', alignOffset: '10s' }), {
      kind: 'afterProcessingTime',
      delay: 60_000,
      alignSize: 60_000,
      alignOffset: 10_000,
    });
  });

  it('know whether they contain a watermark part (§8)', () => {
    assert.equal(hasWatermarkPart(defaultTrigger()), true);
    assert.equal(hasWatermarkPart(repeatedly(afterCount(3))), false);
    assert.equal(hasWatermarkPart(orFinally(afterCount(2), afterWatermark())), true);
    assert.equal(hasWatermarkPart(afterEach(never(), afterFirst(afterCount(1), defaultTrigger()))), true);
  });

  it('print as code', () => {
    assert.equal(
      formatTrigger(orFinally(repeatedly(afterCount(2)), afterWatermark({ late: never() }))),
      'orFinally(repeatedly(afterCount(2)), afterWatermark({ late: never() }))',
    );
  });
});

describe('windowing strategy', () => {
  it('has Beam’s defaults, written down once', () => {
    assert.deepEqual(resolveWindowing(), WINDOWING_DEFAULTS);
    assert.deepEqual(resolveWindowing({ window: fixed('1m'), allowedLateness: '1h' }), {
      window: fixed(60_000),
      trigger: defaultTrigger(),
      allowedLateness: 3_600_000,
      accumulation: 'discarding',
      timestampCombiner: 'end',
    });
    assert.deepEqual(WINDOWING_DEFAULTS.window, global());
  });

  it('names invalid fields (L1)', () => {
    rejects(() => resolveWindowing({ allowedLateness: -1 }), 'allowedLateness');
    rejects(() => resolveWindowing({ allowedLateness: 'later' }), 'allowedLateness');
  });
});
