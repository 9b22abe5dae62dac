import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_TIMESTAMP } from '../../time/timestamps.ts';
import { comparePanes, parseTranscript, runTranscript, TranscriptError, type TranscriptPane } from './transcript.ts';

/** The example of spec §10. */
const EXAMPLE = {
  name: 'early-ontime-late-accumulating',
  description: 'optional free text',
  window: { type: 'fixed', size: 120000, offset: 0 },
  trigger: {
    type: 'afterWatermark',
    early: { type: 'afterProcessingTime', delay: 60000 },
    late: { type: 'afterCount', count: 1 },
  },
  allowedLateness: 86400000000,
  accumulation: 'accumulating',
  timestampCombiner: 'end',
  combine: 'sum',
  steps: [
    { watermark: 43200000 },
    { processingTime: 43499000 },
    { elements: [{ key: 'TeamX', value: 5, time: 43226000 }] },
    { processingTime: 43560000 },
    { watermark: 'inf' },
  ],
  expect: [
    {
      key: 'TeamX',
      window: [43200000, 43320000],
      value: 5,
      timestamp: 43319999,
      timing: 'EARLY',
      index: 0,
      onTimeIndex: -1,
      isFirst: true,
      isLast: false,
    },
    {
      key: 'TeamX',
      window: [43200000, 43320000],
      value: 5,
      timestamp: 43319999,
      timing: 'ON_TIME',
      index: 1,
      onTimeIndex: 0,
      isFirst: false,
      isLast: true,
    },
  ],
};

const MINIMAL = { name: 'm', window: { type: 'fixed', size: 10 }, combine: 'sum', steps: [], expect: [] };

/** Asserts that the transcript is invalid, naming `field`. */
function invalid(json: unknown, field: string): void {
  assert.throws(
    () => parseTranscript(json),
    (e: unknown) => {
      assert.ok(e instanceof TranscriptError, String(e));
      assert.equal(e.field, field, e.message);
      return true;
    },
  );
}

describe('parseTranscript', () => {
  it('reads the example of §10, from text or a value, with defaults', () => {
    const t = parseTranscript(JSON.stringify(EXAMPLE));
    assert.deepEqual(parseTranscript(EXAMPLE), t);
    assert.equal(t.ordered, false);
    assert.deepEqual(t.window, { kind: 'fixed', size: 120_000, offset: 0 });
    assert.deepEqual(t.steps.at(-1), { kind: 'watermark', at: MAX_TIMESTAMP });
    const m = parseTranscript(MINIMAL);
    assert.deepEqual(
      [m.trigger, m.allowedLateness, m.accumulation, m.timestampCombiner],
      [{ kind: 'default' }, 0, 'discarding', 'end'],
    );
  });

  it('names the field that breaks a rule (exit 2 class)', () => {
    invalid('{', '(file)');
    invalid([], '(file)');
    invalid({ ...MINIMAL, name: undefined }, 'name');
    invalid({ ...MINIMAL, allowedLatenes: 5 }, 'allowedLatenes');
    invalid({ ...MINIMAL, window: { type: 'fixed', size: 10, offset: 10 } }, 'window.offset');
    invalid({ ...MINIMAL, window: { type: 'fixed', size: '10s' } }, 'window.size');
    invalid({ ...MINIMAL, window: { type: 'sliding', size: 10 } }, 'window.period');
    invalid({ ...MINIMAL, window: { type: 'session', gap: 0 } }, 'window.gap');
    invalid({ ...MINIMAL, window: { type: 'hopping' } }, 'window.type');
    invalid({ ...MINIMAL, allowedLateness: -1 }, 'allowedLateness');
    invalid({ ...MINIMAL, accumulation: 'summing' }, 'accumulation');
    invalid({ ...MINIMAL, combine: 'median' }, 'combine');
    invalid(
      { ...MINIMAL, trigger: { type: 'afterWatermark', late: { type: 'afterCount', count: 0 } } },
      'trigger.late.count',
    );
    invalid({ ...MINIMAL, trigger: { type: 'afterAll', triggers: [] } }, 'trigger.triggers');
    invalid({ ...MINIMAL, trigger: { type: 'repeatedly' } }, 'trigger.trigger');
  });

  it('rejects steps that lower a time or are malformed', () => {
    const steps = (...s: unknown[]) => ({ ...MINIMAL, steps: s });
    invalid(steps({ watermark: 10 }, { watermark: 'inf' }, { watermark: 20 }), 'steps[2].watermark');
    invalid(steps({ processingTime: 10 }, { processingTime: 9 }), 'steps[1].processingTime');
    invalid(steps({ processingTime: -1 }), 'steps[0].processingTime');
    invalid(steps({ watermark: 1, processingTime: 1 }), 'steps[0]');
    invalid(steps({ sleep: 1 }), 'steps[0].sleep');
    invalid(steps({ elements: [{ key: 'k', value: 1, time: 1.5 }] }), 'steps[0].elements[0].time');
    invalid(steps({ elements: [{ key: 'k', value: 1, time: MAX_TIMESTAMP }] }), 'steps[0].elements[0].time');
    invalid(steps({ elements: [{ key: 'k', value: 'x', time: 1 }] }), 'steps[0].elements[0].value');
    invalid(steps({ elements: [{ key: null, value: 1, time: 1 }] }), 'steps[0].elements[0].key');
  });

  it('checks the fields an expected pane has', () => {
    const expect = (...e: unknown[]) => ({ ...MINIMAL, expect: e });
    invalid(expect({ timing: 'PUNCTUAL' }), 'expect[0].timing');
    invalid(expect({ window: [10, 10] }), 'expect[0].window');
    invalid(expect({ onTimeIndex: -2 }), 'expect[0].onTimeIndex');
    invalid(expect({ pane: 1 }), 'expect[0].pane');
    assert.deepEqual(parseTranscript(expect({ window: 'global' })).expect, [{ window: 'global' }]);
  });
});

describe('runTranscript', () => {
  it('replays the example of §10', () => {
    const t = parseTranscript(EXAMPLE);
    assert.deepEqual(runTranscript(t), t.expect);
  });

  it('writes retractions beside values, and merge retractions without pane fields', () => {
    const t = parseTranscript({
      ...MINIMAL,
      window: { type: 'session', gap: 10 },
      trigger: { type: 'repeatedly', trigger: { type: 'afterCount', count: 1 } },
      accumulation: 'retracting',
      steps: [
        { elements: [{ key: 'k', value: 1, time: 0 }] },
        { elements: [{ key: 'k', value: 2, time: 5 }] },
        { elements: [{ key: 'k', value: 4, time: 30 }] },
        { elements: [{ key: 'k', value: 8, time: 25 }] },
      ],
    });
    assert.deepEqual(
      runTranscript(t).map((p) => [p.window, p.value, p.retraction]),
      [
        [[0, 10], 1, undefined],
        [[0, 10], undefined, 1],
        [[0, 15], 3, undefined],
        [[30, 40], 4, undefined],
        [[30, 40], undefined, 4],
        [[25, 40], 12, undefined],
      ],
    );
  });
});

describe('comparePanes', () => {
  const a: TranscriptPane = { key: 'k', window: [0, 10], value: 1, timing: 'ON_TIME' };
  const b: TranscriptPane = { key: 'k', window: [10, 20], value: 2, timing: 'ON_TIME' };

  it('compares as a multiset unless ordered', () => {
    assert.equal(comparePanes([a, b], [b, a], false).equal, true);
    const ordered = comparePanes([a, b], [b, a], true);
    assert.equal(ordered.equal, false);
    assert.match(ordered.text, /pane #0:/);
  });

  it('compares only the fields an expected pane has', () => {
    assert.equal(comparePanes([{ window: [0, 10] }], [a], false).equal, true);
    assert.equal(comparePanes([{ window: [0, 10], retraction: 1 }], [a], false).equal, false);
  });

  it('matches loose and strict expectations so that both find a pane', () => {
    assert.equal(comparePanes([{ key: 'k' }, { value: 1 }], [a, b], false).equal, true);
  });

  it('explains a difference next to the closest emitted pane', () => {
    const c = comparePanes([{ ...a, value: 15 }], [a, b], false);
    assert.equal(c.equal, false);
    assert.deepEqual(c.missing, [{ ...a, value: 15 }]);
    assert.deepEqual(c.unexpected, [a, b]);
    assert.match(c.text, /1 expected pane\(s\) not emitted:/);
    assert.match(c.text, /closest emitted: \{"key":"k","window":\[0,10\],"value":1/);
    assert.match(c.text, /differs in value: expected 15, got 1/);
    assert.match(c.text, /2 emitted pane\(s\) not expected:/);
  });
});
