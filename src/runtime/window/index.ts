/**
 * The event-time runner: executes the descriptions of `time/` for one keyed, windowed aggregation stage.
 * - `stage.ts`: {@link WindowedAggregation}, the reference algorithm of the dataflow-semantics spec (§8).
 * - `triggers.ts` and `triggers/`: trigger descriptions compiled into per-(key, window) state machines.
 * - `combine.ts`: the combine-function interface and the built-ins.
 * - `transcript.ts`: the transcript format (§10) used by `napkin transcript` and the conformance vectors.
 */
export {
  avg,
  BUILTIN_COMBINE,
  type BuiltinCombineName,
  type CombineFn,
  compareValues,
  count,
  list,
  max,
  min,
  sum,
} from './combine.ts';
export { WindowedAggregation, type WindowedAggregationOptions, type WindowView } from './stage.ts';
export {
  comparePanes,
  type PaneComparison,
  parseTranscript,
  runTranscript,
  type Transcript,
  TranscriptError,
  type TranscriptPane,
} from './transcript.ts';
export { compileTrigger, type TriggerContext, type TriggerMachine, type TriggerState } from './triggers.ts';
export type { DropCounters, Element, MergeRetraction, Pane, StageOutput, WindowState } from './types.ts';
