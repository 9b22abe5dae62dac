// `napkin status` while a live flow runs (a followed JSON Lines file fed by this test, a real `napkin run` process):
// it reads the running flow's epochs, topic and watermarks without locks, again and again, as the process replaces
// them; shows the process, its checkpoint, the lag and the watermark delay, OK against the SLA while fed; and turns
// BREACHED once the SLA is made tiny and the feed stops. After SIGTERM the counts cover every line fed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FlowStatus, type ProjectStatus, projectStatus } from '../src/workspace/status.ts';
import { openWorkspace } from '../src/workspace/workspace.ts';
import { BIN, type CliResult, napkin, removeDir, show, tempProject, writeFiles } from './helpers.ts';

const dir = tempProject('napkin-status-live-');
let child: ChildProcess | undefined;
after(() => {
  child?.kill('SIGKILL');
  removeDir(dir);
});

const config = (sla: string) => `
import { boundedOutOfOrderness, col, contract, dataset, defineProject, flow, jsonl, read, t, write } from 'napkin';

const click = contract({ eventTime: 'at', fields: { id: t.string(), page: t.string(), at: t.timestamp() } });
const clicks = dataset('ev.clicks', {
  owner: 'o',
  storage: jsonl('data/live.jsonl', { follow: true, pollInterval: '50ms', stopAfterIdle: '5m' }),
  contract: click,
});
const seen = dataset('ev.seen', { owner: 'o', storage: jsonl('out/seen.jsonl'), contract: click });

export default defineProject({
  name: 'live',
  warehouse: 'out/warehouse.duckdb',
  flows: [
    flow({
      name: 'live',
      owner: 'o',
      sla: '${sla}',
      outputs: [write(seen, read(clicks, { watermark: boundedOutOfOrderness('0s') }).filter(col('page').ne('')))],
    }),
  ],
});
`;

writeFiles(dir, { 'napkin.config.ts': config('20s'), 'data/live.jsonl': '' });

/** The CLI without blocking this process (the feed goes on meanwhile). */
function napkinAsync(...args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [BIN, '--project', dir, ...args], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.on('error', fail);
    p.on('close', (status) => done({ status, stdout, stderr }));
  });
}

async function cliStatus(): Promise<FlowStatus> {
  const r = await napkinAsync('status', '--json');
  assert.equal(r.status, 0, show(r));
  const s = JSON.parse(r.stdout) as ProjectStatus;
  return s.flows[0];
}

let fed = 0;
function feed(): void {
  fed++;
  appendFileSync(
    join(dir, 'data', 'live.jsonl'),
    `${JSON.stringify({ id: `c${fed}`, page: `/p${fed % 3}`, at: new Date().toISOString() })}\n`,
  );
}

/** Every file under .napkin with its size and modification time. */
function tree(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string): void => {
    for (const n of readdirSync(p)) {
      const f = join(p, n);
      const s = statSync(f);
      if (s.isDirectory()) walk(f);
      else out[f] = `${s.size}@${s.mtimeMs}`;
    }
  };
  walk(join(dir, '.napkin'));
  return out;
}

test('status of a live flow while it runs: OK while fed, BREACHED with a tiny SLA and no feed', async () => {
  const never = await cliStatus();
  assert.equal(never.health, 'NEVER RUN');
  assert.deepEqual(never.sources, [{ dataset: 'ev.clicks', state: 'no log yet' }]);

  child = spawn(process.execPath, [BIN, '--project', dir, 'run', 'live'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  child.stdout?.resume();
  const exited = new Promise<number | null>((done) => child?.on('exit', (code) => done(code)));
  const feeder = setInterval(feed, 100);
  try {
    // Read in this process, over and over, while the run plans, checkpoints and commits epochs and appends to the
    // topic: every read succeeds, and what it sees only moves forward.
    const ws = await openWorkspace(dir);
    let last: FlowStatus | undefined;
    let sawLag = false;
    const deadline = Date.now() + 90_000;
    while ((last?.checkpoint?.epoch ?? 0) < 2 || !sawLag) {
      assert.ok(Date.now() < deadline, `no progress: ${JSON.stringify(last)}\n${stderr}`);
      const f = (await projectStatus(ws)).flows[0];
      const src = f.sources[0];
      // Until the run has created the topic there is no log; from then on it is always readable.
      if (src.state === 'no log yet' && last?.sources[0].state !== 'ok') {
        await sleep(100);
        continue;
      }
      assert.equal(src.state, 'ok' as string, JSON.stringify(src));
      if (src.state === 'ok' && last?.sources[0].state === 'ok') {
        assert.ok((f.checkpoint?.epoch ?? 0) >= (last.checkpoint?.epoch ?? 0));
        assert.ok((src.committed ?? 0) >= (last.sources[0].committed ?? 0));
        assert.ok(src.end >= last.sources[0].end);
      }
      if (src.state === 'ok' && src.records > 0 && f.checkpoint !== undefined) {
        assert.ok(src.oldest !== undefined && src.oldest.ageMs >= 0 && src.oldest.ageMs < 60_000, JSON.stringify(src));
        const read = f.stages.find((s) => s.stage === 'read_1');
        assert.equal(read?.lag?.records, src.records);
        assert.ok((read?.counts?.in ?? 0) + src.records <= fed, 'counted once: committed or waiting, never both');
        sawLag = true;
      }
      last = f;
      await sleep(150);
    }

    // The CLI, from another process, while the run goes on.
    const f = await cliStatus();
    assert.equal(f.running?.pid, child.pid);
    assert.equal(f.running?.foreign, false);
    assert.equal(f.running?.fingerprint, f.fingerprint);
    assert.equal(f.health, 'OK', f.reason);
    assert.ok((f.checkpoint?.epoch ?? 0) >= 2);
    assert.equal(f.checkpoint?.current, true);
    assert.ok((f.checkpoint?.ageMs ?? -1) >= 0 && (f.checkpoint?.ageMs ?? 0) < 16_000);
    for (const s of f.stages) {
      assert.equal(s.health, 'OK', `${s.stage}: ${s.reason}`);
      assert.equal(s.countsFrom, 'checkpoint', s.stage);
      assert.ok(s.watermark !== undefined && 'delayMs' in s.watermark, `${s.stage}: ${JSON.stringify(s.watermark)}`);
      assert.ok(s.watermark.delayMs >= 0 && s.watermark.delayMs < 16_000, `${s.stage}: ${s.watermark.delayMs}`);
    }
    const read = f.stages.find((s) => s.stage === 'read_1');
    assert.ok((read?.counts?.in ?? 0) > 0);
    const text = await napkinAsync('status');
    assert.equal(text.status, 0, show(text));
    assert.match(
      text.stdout,
      new RegExp(
        `^live {2}OK {2}.*\\n {2}fingerprint [0-9a-f]{12} {2}running: pid ${child.pid}, ownership epoch 1, fingerprint [0-9a-f]{12}$`,
        'm',
      ),
    );
    assert.match(text.stdout, /^ {2}checkpoint {2}epoch \d+, \d+s ago, written by [0-9a-f]{12}/m);
    // The stage table is aligned: every row has its health where the header has it.
    const lines = text.stdout.split('\n');
    const header = lines.findIndex((l) => /^ {2}stage +mode +sla +health/.test(l));
    const col = lines[header].indexOf('health');
    for (const l of lines.slice(header + 1, header + 4))
      assert.equal(l.slice(col, col + 2), 'OK', `${lines[header]}\n${l}`);

    // A tiny SLA (the same version: the SLA picks the mode, and the mode stays streaming) and no more records: the
    // watermark stops at the last record while processing time goes on.
    writeFileSync(join(dir, 'napkin.config.ts'), config('2s'));
    clearInterval(feeder);
    let breached: FlowStatus | undefined;
    for (const until = Date.now() + 60_000; breached === undefined; await sleep(200)) {
      assert.ok(Date.now() < until, 'never BREACHED');
      const g = await cliStatus();
      assert.equal(g.running?.foreign, false, 'changing the SLA kept the fingerprint');
      if (g.health === 'BREACHED') breached = g;
    }
    const readBreached = breached.stages.find((s) => s.stage === 'read_1');
    assert.equal(readBreached?.health, 'BREACHED');
    assert.match(readBreached?.reason ?? '', /^watermark \d+s behind, SLA 2s$/);
    assert.equal(breached.sla, '2s');
    assert.match(breached.reason, /SLA 2s$/);
    assert.ok(breached.running !== undefined, 'still running: the health is about the flow, not the process');
  } finally {
    clearInterval(feeder);
  }

  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  const done = await cliStatus();
  assert.equal(done.running, undefined);
  assert.equal(done.inFlight, undefined);
  const src = done.sources[0];
  assert.ok(src.state === 'ok' && src.records === 0 && src.committed === src.end, JSON.stringify(src));
  assert.deepEqual(
    done.stages.map((s) => [s.stage, s.counts?.in]),
    [
      ['read_1', fed],
      ['filter_1', fed],
      ['write_ev_seen', fed],
    ],
  );
  assert.equal(
    readFileSync(join(dir, 'out', 'seen.jsonl'), 'utf8')
      .trim()
      .split('\n').length,
    fed,
  );

  // Nothing the status reads is written by it, and it leaves no lock behind.
  const before = tree();
  assert.equal(napkin(dir, 'status').status, 0);
  assert.deepEqual(tree(), before);
  assert.equal(existsSync(join(dir, '.napkin', 'log', 'ev.clicks', 'LOCK')), false);
  assert.equal(existsSync(join(dir, '.napkin', 'flows', 'live', 'owner.json')), false);
});
