// Knight Capital, as a test (reliability §2.7): while one process runs a flow, a second process whose flow definition
// differs is refused before it reads a record, with both fingerprints named; the same definition is refused too (one
// writer per flow). Real processes, the real CLI, the live clicks example.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, copyProject, napkin, removeDir } from './helpers.ts';

const dir = copyProject(join(import.meta.dirname, '..', 'examples', 'clicks'));
after(() => removeDir(dir));

test('a second process running another version of a live flow is refused, naming both fingerprints', async () => {
  writeFileSync(join(dir, 'data', 'live.jsonl'), '');
  // The live flow tails an empty file until it is stopped (SIGTERM ends it gracefully), however slow the machine.
  const datasets = join(dir, 'datasets.ts');
  writeFileSync(datasets, readFileSync(datasets, 'utf8').replace("stopAfterIdle: '3s'", "stopAfterIdle: '10m'"));
  const first = spawn(process.execPath, [BIN, '--project', dir, 'run', 'live_clicks', '--json'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  first.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  const exited = new Promise<number | null>((done) => first.on('exit', (code) => done(code)));
  const owner = join(dir, '.napkin', 'flows', 'live_clicks', 'owner.json');
  for (let i = 0; i < 600 && !existsSync(owner); i++) await sleep(50);
  assert.ok(existsSync(owner), 'the first run holds the flow');
  const running = JSON.parse(readFileSync(owner, 'utf8')) as { fingerprint: string; pid: number };

  const same = napkin(dir, 'run', 'live_clicks');
  assert.equal(same.status, 1);
  assert.match(same.stderr, /flow live_clicks is already running/);

  // The same flow with one changed setting: another version.
  const flowFile = join(dir, 'flows', 'clicks.ts');
  writeFileSync(flowFile, readFileSync(flowFile, 'utf8').replace("allowedLateness: '5m'", "allowedLateness: '6m'"));
  const skewed = napkin(dir, 'run', 'live_clicks');
  assert.equal(skewed.status, 1);
  const m = /pid (\d+) has fingerprint ([0-9a-f]{12}), this process has ([0-9a-f]{12})/.exec(skewed.stderr);
  assert.ok(m !== null, skewed.stderr);
  assert.equal(Number(m[1]), running.pid);
  assert.equal(m[2], running.fingerprint.slice(0, 12));
  assert.notEqual(m[3], m[2]);
  assert.equal(existsSync(join(dir, 'out', 'live-panes.jsonl.tmp')), false);

  first.kill('SIGTERM');
  assert.equal(await exited, 0);
  const result = JSON.parse(stdout) as { fingerprint: string }[];
  assert.equal(result[0].fingerprint, running.fingerprint, 'the run that wrote is the version that held the flow');
  assert.equal(existsSync(owner), false, 'the lock is released at the end');
});
