// The crash suite's scenarios over the DuckDB-and-files fixture, shared by its test files.
import {
  BATCH_FLOW,
  boundedData,
  boundedSubset,
  LIVE_FLOW,
  LIVE_GAP_MS,
  liveData,
  newProject,
  writeBoundedFiles,
} from './project.ts';
import { plainProject, type Scenario } from './trials.ts';

/** Rows per generated CSV file. */
export const ROWS = 4000;

/** The bounded flow: files delivered in two steps (two of four, then all four). */
export function boundedScenario(): Scenario {
  const input = boundedData();
  return {
    suite: 'bounded DuckDB+files',
    specs: [BATCH_FLOW],
    steps: [2, 4].map((files) => ({
      prepare: (dir: string) => writeBoundedFiles(dir, input, files),
      expect: { bad: boundedSubset(input, files).bad, sourceRecords: files * ROWS },
    })),
    newProject: async () => plainProject(newProject()),
  };
}

/** The live flow: a followed file fed batch by batch, 200 ms apart. */
export function liveScenario(): Scenario {
  const input = liveData();
  return {
    suite: 'live DuckDB+files',
    specs: [LIVE_FLOW],
    steps: [
      { prepare: () => undefined, expect: { bad: input.bad, sourceRecords: input.good.length + input.bad.length } },
    ],
    newProject: async () => plainProject(newProject()),
    live: { batches: input.batches, gapMs: LIVE_GAP_MS },
  };
}
