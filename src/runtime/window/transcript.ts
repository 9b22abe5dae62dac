import type { Value } from '../../expr/types.ts';
import { unreachable } from '../../time/invalid.ts';
import { type CombineFn, count, list, sum } from './combine.ts';
import { WindowedAggregation } from './stage.ts';
import type { Transcript, TranscriptPane } from './transcript-parse.ts';
import type { StageOutput } from './types.ts';

/**
 * Transcripts (spec §10): one JSON file drives one keyed, windowed aggregation stage with a scripted input and lists
 * the panes it must emit. {@link parseTranscript} validates a file, {@link runTranscript} replays it and
 * {@link comparePanes} checks the result.
 */
export { comparePanes, type PaneComparison } from './transcript-diff.ts';
export {
  parseTranscript,
  type Step,
  type Transcript,
  type TranscriptCombine,
  TranscriptError,
  type TranscriptPane,
} from './transcript-parse.ts';

/** Replays the transcript's steps through a fresh stage and returns what it emitted, in emission order. */
export function runTranscript(t: Transcript): TranscriptPane[] {
  switch (t.combine) {
    case 'sum':
      return replay(t, numeric(sum));
    case 'count':
      return replay(t, count);
    case 'list':
      return replay(t, list);
    default:
      return unreachable(t.combine);
  }
}

function replay<A, O extends Value>(t: Transcript, combine: CombineFn<Value, A, O>): TranscriptPane[] {
  const out: TranscriptPane[] = [];
  const stage = new WindowedAggregation<Value, A, O>({
    windowing: t,
    combine,
    emit: (o) => out.push(toTranscriptPane(o)),
  });
  for (const step of t.steps) {
    switch (step.kind) {
      case 'watermark':
        stage.onWatermark(step.at);
        break;
      case 'processingTime':
        stage.onProcessingTime(step.at);
        break;
      case 'elements':
        stage.onBundle(step.elements);
        break;
      default:
        unreachable(step);
    }
  }
  return out;
}

/** A stage output as transcripts write it, fields in the order of §10. */
export function toTranscriptPane<O extends Value>(o: StageOutput<O>): TranscriptPane {
  const window = o.window.kind === 'global' ? 'global' : ([o.window.start, o.window.end] as const);
  if (o.kind === 'retraction') return { key: o.key, window, retraction: o.retraction };
  return {
    key: o.key,
    window,
    value: o.value,
    ...(o.retraction === undefined ? {} : { retraction: o.retraction }),
    timestamp: o.timestamp,
    timing: o.timing,
    index: o.index,
    onTimeIndex: o.onTimeIndex,
    isFirst: o.isFirst,
    isLast: o.isLast,
  };
}

/** Adapts a numeric combine function to transcript values, which parsing has already checked to be numbers. */
function numeric<A, O>(fn: CombineFn<number, A, O>): CombineFn<Value, A, O> {
  return {
    create: fn.create,
    add: (acc, v) => {
      if (typeof v !== 'number') throw new TypeError(`a numeric combine function got ${JSON.stringify(v)}`);
      return fn.add(acc, v);
    },
    merge: fn.merge,
    extract: fn.extract,
  };
}
