import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LogLockedError } from './errors.ts';
import { Log } from './log.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'napkin-log-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('log: one writer per directory', () => {
  it('refuses a second open in the same process, and allows one after close', async () => {
    const log = await Log.open(dir, { partitions: 1 });
    await assert.rejects(Log.open(dir), /already open in this process/);
    await log.close();
    assert.equal(existsSync(join(dir, 'LOCK')), false);
    await (await Log.open(dir)).close();
  });

  it('removes the temporary file a process killed while taking the lock left, and says so', async () => {
    await (await Log.open(dir, { partitions: 1 })).close();
    // A pid no process has (above the kernel's pid_max).
    const left = join(dir, 'LOCK.99999999.tmp');
    writeFileSync(left, '99999999\n');
    const warnings: string[] = [];
    const log = await Log.open(dir, { logger: { warn: (m) => warnings.push(m) } });
    await log.close();
    assert.equal(existsSync(left), false);
    assert.deepEqual(warnings, [`napkin log: removed ${left}, left by a process killed while it took the log's lock`]);
  });

  it('names the pid of another process that holds it, and takes over once that process is killed', async () => {
    await (await Log.open(dir, { partitions: 1 })).close();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'crash-writer.ts'), dir, '1', '1'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    assert.equal((await lines.next()).value, 'ready');
    await assert.rejects(Log.open(dir), (e: Error) => {
      assert.ok(e instanceof LogLockedError);
      assert.equal(e.pid, child.pid);
      assert.match(e.message, new RegExp(`locked by pid ${child.pid} \\(.*LOCK\\); stop that process first`));
      return true;
    });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const log = await Log.open(dir, { logger: { warn: () => undefined } });
    assert.ok(log.endOffset(0) >= 0);
    await log.close();
  });

  it('takes over a lock whose pid is not alive', async () => {
    await (await Log.open(dir, { partitions: 1 })).close();
    writeFileSync(join(dir, 'LOCK'), '2147483646\n');
    await (await Log.open(dir)).close();
    assert.equal(existsSync(join(dir, 'LOCK')), false);
  });
});
