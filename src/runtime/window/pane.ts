import type { PaneInfo, PaneTiming } from '../../time/panes.ts';

/**
 * The pane info of a pane about to be produced for a window (P2, after Beam's `PaneInfoTracker`). `prev` is the
 * window's last *emitted* pane (P3); `outputWM` is the stage-wide output watermark of the round (H6, P4), so a window
 * already behind it gets `LATE` panes, even for its first pane.
 */
export function describePane(
  maxTs: number,
  prev: PaneInfo | null,
  isFinal: boolean,
  inputWM: number,
  outputWM: number,
): PaneInfo {
  const isFirst = prev === null;
  const index = prev === null ? 0 : prev.index + 1;
  const onTimeIndex = prev === null ? 0 : prev.onTimeIndex + 1;
  const behindOutput = maxTs < outputWM;
  const onlyEarly = prev === null || prev.timing === 'EARLY';
  let timing: PaneTiming;
  if (behindOutput || !onlyEarly) timing = 'LATE';
  else if (inputWM <= maxTs) timing = 'EARLY';
  else timing = 'ON_TIME';
  return { timing, index, onTimeIndex: timing === 'EARLY' ? -1 : onTimeIndex, isFirst, isLast: isFinal };
}
