// `napkin replay` (issue 5, Kappa): a logic fix is rolled out by reprocessing the log into a new version of every
// output, switched in once built; the old version stays as name__vN. Real processes, the real CLI, real files and
// a real DuckDB warehouse; a replay cut by SIGKILL at each of its steps ends exactly as an uncut one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BIN, type CliResult, napkin, openDuck, removeDir, show, tempProject, writeFiles } from './helpers.ts';

/** A flow that scales `amount` by FACTOR (the "logic" a fix changes) into a warehouse table and a CSV file. */
function config(factor: number, source: 'files' | 'live'): string {
  const storage =
    source === 'files'
      ? `csv('data/in*.csv')`
      : `jsonl('data/live.jsonl', { follow: true, pollInterval: '50ms', stopAfterIdle: '10m' })`;
  return `import { col, contract, csv, dataset, defineProject, flow, jsonl, read, t, write } from 'napkin';
const c = contract({ key: ['id'], fields: { id: t.int64(), amount: t.int64() } });
const input = dataset('in', { owner: 'tests', storage: ${storage}, contract: c });
const out = dataset('out', { owner: 'tests', contract: c });
const outFile = dataset('out_file', { owner: 'tests', storage: csv('out/out.csv'), contract: c });
const rel = read(input).select({ id: col('id'), amount: col('amount').mul(${factor}) });
export default defineProject({ name: 'rp', warehouse: 'out/warehouse.duckdb',
  flows: [flow({ name: 'f', owner: 'tests', sla: '10s', outputs: [write(out, rel), write(outFile, rel)] })] });
`;
}

const FILES = { 'data/in1.csv': 'id,amount\n1,10\n2,20\n', 'data/in2.csv': 'id,amount\n3,30\n4,40\n' };

function ok(r: CliResult): CliResult {
  assert.equal(r.status, 0, show(r));
  return r;
}

async function table(dir: string, name: string): Promise<string> {
  const db = await openDuck(join(dir, 'out', 'warehouse.duckdb'));
  try {
    const rows = await db.query(`SELECT id, amount FROM ${name} ORDER BY id`);
    return rows.map((r) => `${r.id}:${r.amount}`).join(' ');
  } finally {
    db.close();
  }
}

/** The CSV output as the same `id:amount` list. */
function csvFile(dir: string, file = 'out.csv'): string {
  return readFileSync(join(dir, 'out', file), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.replace(',', ':'))
    .join(' ');
}

describe('napkin replay', () => {
  it('builds version 2 from the log with the fixed logic, switches both outputs, keeps version 1', async () => {
    const dir = tempProject('napkin-replay-');
    try {
      writeFiles(dir, { 'napkin.config.ts': config(1, 'files'), ...FILES });
      ok(napkin(dir, 'run', 'f'));
      writeFiles(dir, { 'napkin.config.ts': config(2, 'files') });
      const r = ok(napkin(dir, 'replay', 'f'));
      assert.match(r.stdout, /duckdb out is version 2 \(version 1 kept as out__v1\)/);
      assert.match(r.stdout, /csv out\/out\.csv is version 2 \(version 1 kept as out\/out__v1\.csv\)/);
      assert.equal(await table(dir, 'out'), '1:20 2:40 3:60 4:80');
      assert.equal(await table(dir, 'out__v1'), '1:10 2:20 3:30 4:40');
      assert.equal(csvFile(dir), '1:20 2:40 3:60 4:80');
      assert.equal(csvFile(dir, 'out__v1.csv'), '1:10 2:20 3:30 4:40');
      // The next run of the same version writes the same output over the switched-in one.
      ok(napkin(dir, 'run', 'f'));
      assert.equal(await table(dir, 'out'), '1:20 2:40 3:60 4:80');
      assert.equal(csvFile(dir), '1:20 2:40 3:60 4:80');
      const versions = JSON.parse(readFileSync(join(dir, '.napkin', 'flows', 'f', 'versions.json'), 'utf8'));
      assert.equal(versions.active, 2);
      assert.equal(versions.building, undefined);
      const listed = ok(napkin(dir, 'versions', 'f'));
      assert.equal(listed.stdout, 'v1  kept      out__v1, out_file__v1\nv2  active    out, out_file\n');
      const active = napkin(dir, 'versions', 'f', '--drop', '2');
      assert.equal(active.status, 1, show(active));
      assert.match(active.stderr, /version 2 is the active version of flow f; only older versions can be dropped/);
      assert.match(
        ok(napkin(dir, 'versions', 'f', '--drop', '1')).stdout,
        /dropped duckdb out__v1\n {2}dropped csv out\/out__v1\.csv/,
      );
      assert.equal(existsSync(join(dir, 'out', 'out__v1.csv')), false);
      assert.equal(existsSync(join(dir, 'out', '.out__v1.csv.napkin-commits.json')), false);
      assert.equal(ok(napkin(dir, 'versions', 'f')).stdout, 'v2  active    out, out_file\n');
    } finally {
      removeDir(dir);
    }
  });

  it('--from an offset starts on the chunk holding it, and later runs of that version keep that start', async () => {
    const dir = tempProject('napkin-replay-from-');
    try {
      writeFiles(dir, { 'napkin.config.ts': config(1, 'files'), ...FILES });
      ok(napkin(dir, 'run', 'f'));
      // Offsets: 0 the generation marker, 1–2 in1's rows, 3 their chunk marker, 4 its file-done marker, 5–6 in2's
      // rows, 7–8 its markers. Offset 6 is inside in2's chunk: the replay starts at that chunk, at 5.
      const r = ok(napkin(dir, 'replay', 'f', '--from', '6'));
      assert.match(r.stdout, /from in@5/);
      assert.equal(await table(dir, 'out'), '3:30 4:40');
      ok(napkin(dir, 'run', 'f'));
      assert.equal(await table(dir, 'out'), '3:30 4:40');
      const early = ok(napkin(dir, 'replay', 'f', '--from', '2000-01-01T00:00:00Z'));
      assert.match(early.stdout, /from in@0/);
      assert.equal(await table(dir, 'out'), '1:10 2:20 3:30 4:40');
      assert.equal(await table(dir, 'out__v2'), '3:30 4:40');
      const bad = napkin(dir, 'replay', 'f', '--from', 'yesterday');
      assert.equal(bad.status, 2, show(bad));
      assert.match(bad.stderr, /--from takes an offset .* got 'yesterday'/);
    } finally {
      removeDir(dir);
    }
  });

  for (const point of ['epoch-sinks', 'replay-switching', 'replay-switched-one']) {
    it(`a replay killed at ${point} is refused by napkin run, then finished by napkin replay, exactly once`, async () => {
      const dir = tempProject('napkin-replay-crash-');
      try {
        writeFiles(dir, { 'napkin.config.ts': config(1, 'files'), ...FILES });
        ok(napkin(dir, 'run', 'f'));
        writeFiles(dir, { 'napkin.config.ts': config(3, 'files') });
        const killed = await cli(dir, ['replay', 'f'], { NAPKIN_CRASH_AT: `${point}:1` });
        assert.equal(killed.signal, 'SIGKILL', killed.stderr);
        const refused = napkin(dir, 'run', 'f');
        assert.equal(refused.status, 1, show(refused));
        assert.match(refused.stderr, /a replay is building version 2 .* finish it with `napkin replay f`/);
        ok(napkin(dir, 'replay', 'f'));
        assert.equal(await table(dir, 'out'), '1:30 2:60 3:90 4:120');
        assert.equal(await table(dir, 'out__v1'), '1:10 2:20 3:30 4:40');
        assert.equal(csvFile(dir), '1:30 2:60 3:90 4:120');
        assert.equal(csvFile(dir, 'out__v1.csv'), '1:10 2:20 3:30 4:40');
        assert.deepEqual(
          readdirSync(join(dir, 'out')).filter((f) => f.includes('__v2') || f.endsWith('.tmp')),
          [],
          'nothing of the build is left beside the outputs',
        );
      } finally {
        removeDir(dir);
      }
    });
  }

  it('a live flow changed mid-stream is refused by napkin run, replayed into version 2, then goes on live', async () => {
    const dir = tempProject('napkin-replay-live-');
    try {
      writeFiles(dir, {
        'napkin.config.ts': config(1, 'live'),
        'data/live.jsonl': '{"id":1,"amount":10}\n{"id":2,"amount":20}\n{"id":3,"amount":30}\n',
      });
      await runLiveUntil(dir, 3);
      writeFiles(dir, { 'napkin.config.ts': config(2, 'live') });
      const refused = napkin(dir, 'run', 'f');
      assert.equal(refused.status, 1, show(refused));
      assert.match(refused.stderr, /state is never restored into another version\. Reprocess with `napkin replay f`/);
      ok(napkin(dir, 'replay', 'f'));
      assert.equal(await table(dir, 'out'), '1:20 2:40 3:60');
      assert.equal(await table(dir, 'out__v1'), '1:10 2:20 3:30');
      appendFileSync(join(dir, 'data', 'live.jsonl'), '{"id":4,"amount":40}\n{"id":5,"amount":50}\n');
      await runLiveUntil(dir, 5);
      assert.equal(await table(dir, 'out'), '1:20 2:40 3:60 4:80 5:100');
      assert.equal(csvFile(dir), '1:20 2:40 3:60 4:80 5:100');
    } finally {
      removeDir(dir);
    }
  });
});

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

function cli(dir: string, args: readonly string[], env: Record<string, string> = {}): Promise<Exit> {
  const child = spawn(process.execPath, [BIN, '--project', dir, ...args], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((done) => child.on('exit', (code, signal) => done({ code, signal, stderr })));
}

/**
 * Runs the live flow until a committed checkpoint shows `rows` records written by its table sink, then stops it
 * with SIGTERM (a last epoch that leaves the input open).
 */
async function runLiveUntil(dir: string, rows: number): Promise<void> {
  const child = spawn(process.execPath, [BIN, '--project', dir, 'run', 'f'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  const checkpoints = join(dir, '.napkin', 'flows', 'f', 'checkpoints');
  let seen = -1;
  for (let i = 0; i < 600 && seen < rows && child.exitCode === null; i++) {
    await sleep(50);
    if (!existsSync(checkpoints)) continue;
    for (const f of readdirSync(checkpoints).filter((n) => n.endsWith('.json'))) {
      try {
        const m = JSON.parse(readFileSync(join(checkpoints, f), 'utf8')) as {
          metrics: Record<string, { in: number }>;
        };
        seen = Math.max(seen, m.metrics.write_out?.in ?? -1);
      } catch {
        // replaced while read: the next poll sees it
      }
    }
  }
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.equal(seen, rows, `the live run committed ${seen} of ${rows} rows before it was stopped`);
}
