import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { acquireFlowLock, FlowLockedError } from './flow-lock.ts';

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
