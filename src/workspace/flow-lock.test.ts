import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { acquireFlowLock, FlowLockedError, removeLockTemporaries } from './flow-lock.ts';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const dirs: string[] = [];
const stateDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'napkin-lock-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A real second process that stays alive until killed. */
function otherProcess(): { pid: number; kill: () => Promise<void> } {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  return {
    pid: child.pid as number,
    kill: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

describe('flow lock and ownership epochs (reliability §2.6, §2.7)', () => {
  test('a live process running another version is refused, naming both fingerprints', async () => {
    const dir = stateDir();
    const other = otherProcess();
    try {
      acquireFlowLock(dir, 'revenue', A, other.pid);
      assert.throws(
        () => acquireFlowLock(dir, 'revenue', B),
        (e: unknown) =>
          e instanceof FlowLockedError &&
          new RegExp(`pid ${other.pid} has fingerprint aaaaaaaaaaaa, this process has bbbbbbbbbbbb`).test(e.message),
      );
      assert.throws(() => acquireFlowLock(dir, 'revenue', A), /already running \(pid \d+, fingerprint aaaaaaaaaaaa/);
    } finally {
      await other.kill();
    }
  });

  test("a dead holder's lock is taken over with a higher ownership epoch, and moved aside", async () => {
    const dir = stateDir();
    const other = otherProcess();
    const first = acquireFlowLock(dir, 'revenue', A, other.pid);
    await other.kill();
    const second = acquireFlowLock(dir, 'revenue', B);
    assert.equal(second.replaced?.pid, other.pid);
    assert.ok(second.owner.ownershipEpoch > first.owner.ownershipEpoch);
    assert.ok(readdirSync(join(dir, 'flows', 'revenue')).some((f) => f.startsWith('owner.stale-')));
    second.release();
    assert.equal(existsSync(join(dir, 'flows', 'revenue', 'owner.json')), false);
  });

  test('a refused process writes nothing: neither the counter nor a temporary file', async () => {
    const dir = stateDir();
    const other = otherProcess();
    try {
      const held = acquireFlowLock(dir, 'revenue', A, other.pid);
      const flowDir = join(dir, 'flows', 'revenue');
      const before = readdirSync(flowDir).map((f) => [f, readFileSync(join(flowDir, f), 'utf8')]);
      assert.throws(() => acquireFlowLock(dir, 'revenue', B), FlowLockedError);
      assert.throws(() => acquireFlowLock(dir, 'revenue', A), FlowLockedError);
      assert.deepEqual(
        readdirSync(flowDir).map((f) => [f, readFileSync(join(flowDir, f), 'utf8')]),
        before,
      );
      assert.equal(readFileSync(join(flowDir, 'ownership-epoch'), 'utf8'), `${held.owner.ownershipEpoch}\n`);
    } finally {
      await other.kill();
    }
  });

  test('an epoch a dead holder took but never recorded in the counter is not handed out again', async () => {
    const dir = stateDir();
    const other = otherProcess();
    acquireFlowLock(dir, 'revenue', A, other.pid);
    await other.kill();
    // The holder died between creating its lock (epoch 2) and raising the counter, which still says 1.
    const flowDir = join(dir, 'flows', 'revenue');
    const lock = JSON.parse(readFileSync(join(flowDir, 'owner.json'), 'utf8'));
    writeFileSync(join(flowDir, 'owner.json'), JSON.stringify({ ...lock, ownershipEpoch: 2 }));
    const next = acquireFlowLock(dir, 'revenue', A);
    assert.equal(next.owner.ownershipEpoch, 3);
    assert.equal(readFileSync(join(flowDir, 'ownership-epoch'), 'utf8'), '3\n');
    assert.equal(JSON.parse(readFileSync(join(flowDir, 'owner.json'), 'utf8')).ownershipEpoch, 3);
    next.release();
  });

  test('the temporary files a killed holder left are removed, and only those', () => {
    const dir = stateDir();
    const l = acquireFlowLock(dir, 'revenue', A);
    const flowDir = join(dir, 'flows', 'revenue');
    writeFileSync(join(flowDir, '.ownership-epoch.4242.tmp'), '9\n');
    writeFileSync(join(flowDir, '.owner.json.4242.tmp'), '{}');
    writeFileSync(join(flowDir, 'notes.tmp'), 'not ours');
    assert.deepEqual(removeLockTemporaries(dir, 'revenue').sort(), [
      join(flowDir, '.owner.json.4242.tmp'),
      join(flowDir, '.ownership-epoch.4242.tmp'),
    ]);
    assert.ok(existsSync(join(flowDir, 'notes.tmp')));
    assert.ok(existsSync(join(flowDir, 'owner.json')));
    assert.deepEqual(removeLockTemporaries(dir, 'revenue'), []);
    l.release();
  });

  test('ownership epochs only grow, across releases; other flows are independent', () => {
    const dir = stateDir();
    const epochs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const l = acquireFlowLock(dir, 'revenue', A);
      epochs.push(l.owner.ownershipEpoch);
      l.release();
    }
    assert.deepEqual(epochs, [1, 2, 3, 4, 5]);
    const other = acquireFlowLock(dir, 'clicks', B);
    assert.equal(other.owner.ownershipEpoch, 1);
    other.release();
  });
});
