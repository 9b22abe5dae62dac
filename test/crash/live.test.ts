// Crash suite, live flow (spec reliability §3): a followed JSON Lines file that the harness appends to in known
// batches while napkin runs, with poison lines → a windowed aggregate into a DuckDB merge table and a JSON Lines file.
// Each trial kills napkin at a named crash point × k or at random times (and sometimes stops it with SIGTERM, after
// which the next run goes on from its last epoch), restarting until a run ends by itself after the last batch; the
// outputs must then equal the fault-free run's exactly.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveProblems } from './expected.ts';
import { CONCURRENCY, planTrials, trialsFor } from './harness.ts';
import { liveData } from './project.ts';
import { liveScenario } from './scenarios.ts';
import { disposeReference, referenceRun, runTrials } from './trials.ts';

/** The named crash points a live run reaches, several times each: chunks appended, epochs, the JSONL sink. */
const POINTS = {
  'ingest-append': [1, 2, 3],
  'epoch-offsets': [1, 2, 3],
  'epoch-checkpoint': [1, 2, 3],
  'file-sink-published': [1, 2, 3],
  'epoch-sinks': [1, 2, 3],
  'epoch-quarantine': [1, 2, 3],
  'epoch-snapshot': [1, 2, 3],
  'epoch-commit': [1, 2, 3],
};

const input = liveData();
const scenario = liveScenario();

describe('crash suite: live flow into a DuckDB merge table and a JSON Lines file', () => {
  const trials = trialsFor('live');
  it(`${trials} trials: named crash points × k, then random SIGKILLs and SIGTERMs; outputs equal the fault-free run's`, async (t) => {
    const ref = await referenceRun(scenario);
    const wrong = liveProblems(ref.snapshots[0][0].sinks, input.good, [
      'write_crash_live_windows',
      'write_crash_live_panes',
    ]);
    assert.deepEqual(wrong, [], 'the reference output matches the generator');
    const plans = planTrials(trials, POINTS);
    const { tally, failures } = await runTrials(scenario, ref, plans, CONCURRENCY).finally(() => disposeReference(ref));
    const line = tally.line('live (DuckDB merge, JSONL)');
    tally.record('live (DuckDB merge, JSON Lines)', ['DuckDB', 'files']);
    t.diagnostic(line);
    console.log(`# ${line}`);
    assert.equal(failures.length, 0, `${line}\n${failures.join('\n\n')}`);
  });
});
