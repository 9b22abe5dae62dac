// Crash suite, bounded flow (spec reliability §3): CSV files with poison records → DuckDB replace and merge tables, a
// Parquet file (a windowed aggregate) and a CSV file. Files are delivered in two steps (two of four, then all four:
// the second run replaces the first's output). Each trial faults one step, from the reference's state before it: it
// kills napkin at a named crash point × k or at random times, restarting until the step completes; the outputs must
// then equal the fault-free run's exactly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { boundedProblems } from './expected.ts';
import { CONCURRENCY, planTrials, trialsFor } from './harness.ts';
import { boundedData } from './project.ts';
import { boundedScenario } from './scenarios.ts';
import { disposeReference, referenceRun, runTrials } from './trials.ts';

/**
 * The named crash points a bounded run reaches, with the k each reaches in one process: ingestion appends (a chunk
 * and a marker per file), one epoch, two file sinks (Parquet, CSV).
 */
const POINTS = {
  'ingest-append': [1, 2, 3],
  'epoch-offsets': [1],
  'epoch-checkpoint': [1],
  'file-sink-published': [1, 2],
  'epoch-sinks': [1],
  'epoch-quarantine': [1],
  'epoch-commit': [1],
};

const input = boundedData();
const scenario = boundedScenario();

describe('crash suite: bounded flow into DuckDB, Parquet and CSV', () => {
  const trials = trialsFor('bounded');
  it(`${trials} trials: named crash points × k, then random SIGKILLs; outputs equal the fault-free run's`, async (t) => {
    const ref = await referenceRun(scenario);
    const wrong = boundedProblems(ref.snapshots[1][0].sinks, input.good);
    assert.deepEqual(wrong, [], 'the reference output matches the generator');
    const plans = planTrials(trials, POINTS);
    const { tally, failures } = await runTrials(scenario, ref, plans, CONCURRENCY).finally(() => disposeReference(ref));
    const line = tally.line('bounded (DuckDB, Parquet, CSV)');
    tally.record('bounded (DuckDB replace and merge, Parquet, CSV)', ['DuckDB', 'files']);
    t.diagnostic(line);
    console.log(`# ${line}`);
    assert.equal(failures.length, 0, `${line}\n${failures.join('\n\n')}`);
  });
});
