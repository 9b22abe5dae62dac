import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PaneInfo } from '../../time/panes.ts';
import { describePane } from './pane.ts';

const MAX_TS = 99;
const pane = (timing: PaneInfo['timing'], index: number, onTimeIndex: number): PaneInfo => ({
  timing,
  index,
  onTimeIndex,
  isFirst: index === 0,
  isLast: false,
});

describe('describePane (P2)', () => {
  it('a first pane before the end of the window is EARLY with onTimeIndex −1', () => {
    assert.deepEqual(describePane(MAX_TS, null, false, 50, 50), pane('EARLY', 0, -1));
  });

  it('the first pane after EARLY ones and past the end is ON_TIME with onTimeIndex 0', () => {
    assert.deepEqual(describePane(MAX_TS, pane('EARLY', 1, -1), false, 100, 99), pane('ON_TIME', 2, 0));
  });

  it('every pane after an ON_TIME pane is LATE, counting on from it', () => {
    assert.deepEqual(describePane(MAX_TS, pane('ON_TIME', 2, 0), false, 100, 100), pane('LATE', 3, 1));
  });

  it('a window behind the output watermark gets LATE, even for its first pane (P4)', () => {
    assert.deepEqual(describePane(MAX_TS, null, true, 200, 100), { ...pane('LATE', 0, 0), isLast: true });
  });

  it('at maxTs = outputWM the window is not behind: ON_TIME', () => {
    assert.equal(describePane(MAX_TS, null, true, 200, 99).timing, 'ON_TIME');
  });
});
