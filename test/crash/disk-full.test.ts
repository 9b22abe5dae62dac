// Crash suite, a full disk (spec reliability §2.9, §3 "Disk full", check 9), with real processes on a real small
// file system: the project lives on a tmpfs, a filler file leaves only K bytes free, and the next run (two more input
// files to ingest, an epoch to commit) must fail with a clear one-line error and no partial commit: what the earlier
// run committed still reads back exactly. Once the filler is deleted, the run completes and passes every check.
// Mounting needs root (CI runs as root); without it the test is skipped, saying so.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { napkin, show } from '../helpers.ts';
import { capture, compare, describeFailures, readEpochRecords } from './checks.ts';
import { runOnce } from './harness.ts';
import { BATCH_FLOW, boundedData, newProject, removeProject, writeBoundedFiles } from './project.ts';
import { boundedScenario } from './scenarios.ts';
import { disposeReference, type Reference, referenceRun } from './trials.ts';

/** Mounts a tmpfs of `mib` MiB at a new folder; undefined (with why) when mounting is not permitted. */
function mountTmpfs(mib: number): { dir: string } | { why: string } {
  const dir = mkdtempSync(join(tmpdir(), 'napkin-crash-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    const err = e as { stderr?: Buffer; message: string };
    return { why: (err.stderr?.toString() || err.message).trim().split('\n')[0] };
  }
}

function unmount(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
  rmSync(dir, { recursive: true, force: true });
}

const free = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

/** Free bytes left for the failing run: from nearly nothing to about what the step needs. */
const LEFT = [16, 512, 1536, 2048, 2112, 2176, 2240, 2304, 3072].map((kib) => kib * 1024);

const probe = mountTmpfs(1);
const skip =
  'dir' in probe ? false : `mounting a tmpfs is not permitted here (${probe.why}); run as root to test a full disk`;
if ('dir' in probe) unmount(probe.dir);

describe('crash suite: a full disk', { skip }, () => {
  const input = boundedData();
  const scenario = boundedScenario();
  let ref: Reference;
  let mount: string;
  before(async () => {
    ref = await referenceRun(scenario);
    const m = mountTmpfs(64);
    if (!('dir' in m)) throw new Error(`mounting a tmpfs failed: ${m.why}`);
    mount = m.dir;
  });
  after(() => {
    disposeReference(ref);
    if (mount !== undefined) unmount(mount);
  });

  for (const left of LEFT) {
    it(`with ${Math.round(left / 1024)} KiB free the run fails cleanly, and after space is freed it completes exactly once`, async (t) => {
      // The project on the tmpfs: a copy of a fresh project (node_modules is a link back to the repository).
      const staged = newProject();
      const dir = join(mount, `p${left}`);
      mkdirSync(dir);
      cpSync(staged, dir, { recursive: true, verbatimSymlinks: true });
      removeProject(staged);
      const filler = join(mount, `filler-${left}`);
      try {
        writeBoundedFiles(dir, input, 2);
        const first = napkin(dir, 'run', 'batch_events');
        assert.equal(first.status, 0, show(first));
        writeBoundedFiles(dir, input, 4);
        writeFileSync(filler, Buffer.alloc(Math.max(0, free(mount) - left)));

        const full = await runOnce(dir, ['run', 'batch_events', '--json'], undefined);
        assert.equal(full.signal, null, full.stderr);
        if (full.code === 0) {
          // Enough room after all: the step completed, and must be right.
          t.diagnostic(`${left} bytes free were enough: the run completed`);
          const got = await capture(dir, BATCH_FLOW, full);
          // DuckDB could not fold its write-ahead log into the database file at close (no room): it keeps it, which
          // loses nothing.
          const leaks = got.leaks.filter((l) => l !== 'write-ahead log out/warehouse.duckdb.wal');
          const failed = describeFailures(
            compare(ref.snapshots[1][0], { ...got, leaks }, BATCH_FLOW, scenario.steps[1].expect),
          );
          assert.equal(failed, '', failed);
          return;
        }
        assert.equal(full.code, 1, full.stderr);
        const lines = full.stderr.trim().split('\n');
        t.diagnostic(`with ${left} bytes free: ${lines.join(' ⏎ ')}`);
        assert.equal(lines.length, 1, `a one-line error:\n${full.stderr}`);
        assert.match(lines[0], /ENOSPC|No space left on device/i, lines[0]);
        // No partial commit: the epoch records are consistent and every committed output still reads back.
        const records = readEpochRecords(dir, 'batch_events');
        const [o, c] = [records.offsets.at(-1) ?? 0, records.commits.at(-1) ?? 0];
        assert.ok(c === o || c === o - 1, `latest commit ${c}, latest offset ${o}`);

        rmSync(filler);
        const again = await runOnce(dir, ['run', 'batch_events', '--json'], undefined);
        assert.equal(again.code, 0, again.stderr);
        const got = await capture(dir, BATCH_FLOW, again);
        const failed = describeFailures(compare(ref.snapshots[1][0], got, BATCH_FLOW, scenario.steps[1].expect));
        assert.equal(failed, '', failed);
      } finally {
        rmSync(filler, { force: true });
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
