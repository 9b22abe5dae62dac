import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../time/timestamps.ts';
import { boundedOutOfOrderness } from '../time/watermarks.ts';
import type { Batch } from './batch.ts';
import { newMetrics, type Output } from './operator.ts';
import { joinOperator } from './ops/join.ts';
import { unionOperator } from './ops/union.ts';
import { SourceWatermark } from './source-watermark.ts';
import { MinWatermark } from './watermark.ts';

/** Everything an operator sends downstream, in order: `wm:<n>`, `idle`, `active` or `rows:<n>`. */
function recorder(): { out: Output; log: string[] } {
  const log: string[] = [];
  return {
    out: {
      push: (b: Batch) => log.push(`rows:${b.length}`),
      watermark: (wm: number) => log.push(wm === MAX_TIMESTAMP ? 'wm:inf' : `wm:${wm}`),
      idle: (idle: boolean) => log.push(idle ? 'idle' : 'active'),
    },
    log,
  };
}

describe('MinWatermark with idle inputs (M7)', () => {
  test('M7.3: an idle input is left out of the minimum', () => {
    const w = new MinWatermark(2);
    w.set(0, 10);
    w.set(1, 5);
    assert.equal(w.current, 5);
    w.setIdle(1, true);
    assert.equal(w.current, 10);
    w.set(0, 20);
    assert.equal(w.current, 20);
    assert.equal(w.isIdle(1), true);
    assert.equal(w.allIdle, false);
  });

  test('M7.4: an input active again rejoins only once its watermark has caught up', () => {
    const w = new MinWatermark(2);
    w.set(0, 20);
    w.set(1, 5);
    w.setIdle(1, true);
    w.setIdle(1, false);
    assert.equal(w.isIdle(1), false);
    assert.equal(w.current, 20, 'port 1 at 5 is behind: it does not pull the minimum back');
    w.set(0, 30);
    assert.equal(w.current, 30, 'still catching up, still left out');
    w.set(1, 25);
    assert.equal(w.current, 30, '25 has not caught up with 30');
    w.set(1, 30);
    w.set(0, 50);
    assert.equal(w.current, 30, 'caught up: counted again, it holds the minimum');
    w.set(1, 40);
    assert.equal(w.current, 40);
  });

  test('M7.5: all inputs idle gives the largest of their last watermarks, never lower than before', () => {
    const w = new MinWatermark(3);
    w.set(0, 30);
    w.set(1, 40);
    w.set(2, 10);
    w.setIdle(2, true);
    w.setIdle(0, true);
    assert.equal(w.current, 40, 'only port 1 is counted');
    w.setIdle(1, true);
    assert.equal(w.allIdle, true);
    assert.equal(w.current, 40, 'max(30, 40, 10)');
    w.set(2, 35);
    assert.equal(w.current, 40, 'a watermark below the combined one on an idle input changes nothing');
    w.set(2, 45);
    assert.equal(w.current, 45, 'all idle: the maximum moves with it');
  });

  test('a complete input does not carry the combined watermark to +∞ past an idle one', () => {
    const w = new MinWatermark(2);
    w.set(0, 100);
    w.set(1, 5);
    w.setIdle(1, true);
    assert.equal(w.current, 100);
    w.set(0, MAX_TIMESTAMP);
    assert.equal(w.current, 100, 'port 1 is idle, not complete (M5); and the combined value never decreases');
    assert.equal(w.allIdle, true, 'what is left of the input is idle');
    w.setIdle(1, false);
    w.set(1, MAX_TIMESTAMP);
    assert.equal(w.current, MAX_TIMESTAMP);
    assert.equal(w.allIdle, false);
  });

  test('property: never decreases, +∞ only when every input is complete, the plain minimum without idleness', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('wm' as const), port: fc.nat(2), to: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ kind: fc.constant('end' as const), port: fc.nat(2) }),
      fc.record({ kind: fc.constant('idle' as const), port: fc.nat(2), idle: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const w = new MinWatermark(3);
        const ports = [MIN_TIMESTAMP, MIN_TIMESTAMP, MIN_TIMESTAMP];
        let everIdle = false;
        let last = w.current;
        for (const o of ops) {
          if (o.kind === 'idle') {
            w.setIdle(o.port, o.idle);
            everIdle ||= o.idle;
          } else {
            const to = o.kind === 'end' ? MAX_TIMESTAMP : o.to;
            w.set(o.port, to);
            ports[o.port] = Math.max(ports[o.port], to);
          }
          assert.ok(w.current >= last, 'M1: never decreases');
          last = w.current;
          const complete = ports.every((p) => p === MAX_TIMESTAMP);
          assert.equal(w.current === MAX_TIMESTAMP, complete, '+∞ means every input is complete (M5)');
          if (!everIdle) assert.equal(w.current, Math.min(...ports), 'M2');
          assert.ok(w.current <= Math.max(...ports));
        }
      }),
    );
  });
});

const row = (k: number): Batch => ({ length: 1, columns: [[k]] });

describe('idle status through multi-input operators', () => {
  test('union: leaves an idle input out, is idle when all inputs are, says so after its last watermark', () => {
    const r = recorder();
    const u = unionOperator([[0], [0]], r.out, newMetrics());
    u.watermark(0, 10);
    u.watermark(1, 5);
    u.idle?.(1, true);
    u.watermark(0, 20);
    u.idle?.(0, true);
    u.idle?.(1, false);
    u.push(1, row(1));
    u.watermark(1, 15);
    u.watermark(1, 25);
    assert.deepEqual(r.log, ['wm:5', 'wm:10', 'wm:20', 'idle', 'active', 'rows:1', 'wm:25']);
  });

  test('join: idle inputs leave the minimum, but left rows waiting for the build side still hold it', () => {
    const r = recorder();
    const j = joinOperator(
      { how: 'inner', leftKeys: [0], rightKeys: [0], rightOutput: [], leftWidth: 1, rightWidth: 1 },
      r.out,
      newMetrics(),
    );
    j.watermark(0, 50);
    j.watermark(1, 10);
    j.idle?.(1, true);
    assert.deepEqual(r.log, ['wm:10', 'wm:50']);
    j.push(0, row(1));
    j.watermark(0, 60);
    j.idle?.(0, true);
    assert.deepEqual(r.log, ['wm:10', 'wm:50', 'idle'], 'a waiting row may be older than 60');
    j.push(1, row(1));
    j.idle?.(1, false);
    j.watermark(1, MAX_TIMESTAMP);
    assert.deepEqual(r.log, ['wm:10', 'wm:50', 'idle', 'active', 'rows:1', 'wm:60', 'idle'], 'the left side is idle');
  });
});

describe('idleness probes (M7.2)', () => {
  const TIMEOUT = 100;
  /** A probe at time `at`, after `records` records since the previous probe. */
  const probes = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 80 }), records: fc.nat(2) }), {
    maxLength: 30,
  });

  test('property: idle iff strictly more than the timeout has passed since the first probe that saw no record', () => {
    fc.assert(
      fc.property(probes, (ps) => {
        const w = new SourceWatermark(boundedOutOfOrderness(0, { idleTimeout: TIMEOUT }));
        let now = 0;
        let countdownFrom: number | undefined;
        for (const p of ps) {
          now += p.gap;
          w.observe(new Array(p.records).fill(now), p.records);
          if (p.records > 0) countdownFrom = undefined;
          else countdownFrom ??= now;
          const expected = countdownFrom !== undefined && now - countdownFrom > TIMEOUT;
          assert.equal(w.probe(now), expected, `probe at ${now}`);
        }
      }),
    );
  });

  test('exactly the timeout after the countdown started is not idle yet; one millisecond more is', () => {
    const w = new SourceWatermark(boundedOutOfOrderness(0, { idleTimeout: TIMEOUT }));
    assert.equal(w.probe(1_000), false, 'the countdown starts at the first probe without a record');
    assert.equal(w.probe(1_000 + TIMEOUT), false);
    assert.equal(w.probe(1_000 + TIMEOUT + 1), true);
  });
});
