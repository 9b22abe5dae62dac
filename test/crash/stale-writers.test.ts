// Crash suite, stale writers (spec reliability §2.6, §2.7, §3 "Zombie" and "Version skew"), with real processes: a
// live run paused with SIGSTOP still holds its flow, so a second process is refused naming the holder's pid and
// fingerprint, and so is one running another version of the flow; neither writes anything. After SIGCONT the paused
// run finishes, and its output equals the fault-free run's exactly.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { napkin, show } from '../helpers.ts';
import { capture, changedFiles, compare, describeFailures, treeHashes } from './checks.ts';
import { Prng, startNapkin } from './harness.ts';
import { Appender, LIVE_FLOW, LIVE_GAP_MS, liveData, newProject, removeProject } from './project.ts';
import { liveScenario } from './scenarios.ts';
import { disposeReference, type Reference, referenceRun } from './trials.ts';

async function waitFor(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

const commitsOf = (dir: string) => {
  const d = join(dir, '.napkin', 'flows', 'live_events', 'commits');
  return existsSync(d) ? readdirSync(d).filter((n) => n.endsWith('.json')).length : 0;
};

describe('crash suite: stale writers against the embedded flow lock', () => {
  const scenario = liveScenario();
  const input = liveData();
  let ref: Reference;
  before(async () => {
    ref = await referenceRun(scenario);
  });
  after(() => disposeReference(ref));

  it('a SIGSTOPped run keeps its flow: the same and another version are refused and write nothing; after SIGCONT it finishes exactly once', async () => {
    const dir = newProject();
    let kept = true;
    try {
      // The pause outlasts the followed file's idle timeout (1 s): on waking, the run reads the lines appended
      // meanwhile before its input ends (known-bugs.test.ts has the minimal case).
      const appender = new Appender(dir, input.batches, LIVE_GAP_MS, new Prng(5));
      const a = startNapkin(dir, ['run', 'live_events', '--json']);
      await waitFor('the run to commit two epochs', () => commitsOf(dir) >= 2);
      process.kill(a.pid, 'SIGSTOP');
      let ownership: string[] = [];
      try {
        const owner = JSON.parse(readFileSync(join(dir, '.napkin', 'flows', 'live_events', 'owner.json'), 'utf8')) as {
          pid: number;
          fingerprint: string;
        };
        assert.equal(owner.pid, a.pid, 'the paused run holds the flow');
        const fp = owner.fingerprint.slice(0, 12);
        const before = treeHashes(dir);

        const same = napkin(dir, 'run', 'live_events');
        assert.equal(same.status, 1, show(same));
        assert.match(same.stderr, new RegExp(`flow live_events is already running \\(pid ${a.pid}, fingerprint ${fp}`));
        assert.equal(same.stderr.trim().split('\n').length, 1, `one line: ${same.stderr}`);

        // Another version of the flow: the same code with another error budget.
        const flowFile = join(dir, 'flows', 'live.ts');
        const code = readFileSync(flowFile, 'utf8');
        writeFileSync(flowFile, code.replace('errorBudget: 1000', 'errorBudget: 999'));
        const skewed = napkin(dir, 'run', 'live_events');
        writeFileSync(flowFile, code);
        assert.equal(skewed.status, 1, show(skewed));
        const m = new RegExp(
          `is running a different version: pid ${a.pid} has fingerprint ${fp}, this process has ([0-9a-f]{12})`,
        ).exec(skewed.stderr);
        assert.ok(m !== null, skewed.stderr);
        assert.notEqual(m[1], fp);

        // Neither refused process wrote: state folder, warehouse and outputs are as the paused run left them. The
        // ownership-epoch counter is compared apart (see the next test).
        const changed = changedFiles(before, treeHashes(dir));
        ownership = changed.filter((c) => c.endsWith('/ownership-epoch'));
        assert.deepEqual(
          changed.filter((c) => !c.endsWith('/ownership-epoch')),
          [],
          'the refused processes wrote nothing',
        );
        // Let the input end while the run is paused: it then finds every line when it wakes.
        await appender.done;
      } finally {
        process.kill(a.pid, 'SIGCONT');
      }
      const exit = await a.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, a.stderr());
      const got = await capture(dir, LIVE_FLOW, {
        args: [],
        fault: undefined,
        code: 0,
        signal: null,
        ms: 0,
        stdout: a.stdout(),
        stderr: a.stderr(),
        faulted: false,
        hung: false,
      });
      const failed = describeFailures(compare(ref.snapshots[0][0], got, LIVE_FLOW, scenario.steps[0].expect));
      assert.equal(failed, '', `the resumed run's output:\n${failed}`);
      refusedBumps = ownership;
      kept = false;
    } finally {
      if (!kept) removeProject(dir);
    }
  });

  let refusedBumps: string[] | undefined;
  it('a refused process does not raise the flow’s ownership epoch', () => {
    assert.ok(refusedBumps !== undefined, 'the previous test ran');
    assert.deepEqual(refusedBumps, [], 'the refused processes changed the ownership-epoch counter');
  });
});
