// Minimal reproductions of napkin bugs the crash suite found. Each is fixed; its test keeps it from coming back (a new
// finding goes here marked `todo` until it is fixed, then the mark goes).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openTailSource } from '../../src/connectors/files/tail-source.ts';
import { contract, t } from '../../src/index.ts';
import { napkin, removeDir, show, tempProject, writeFiles } from '../helpers.ts';
import { capture, scanFiles } from './checks.ts';
import { runOnce } from './harness.ts';
import { BATCH_FLOW, boundedData, newProject, removeProject, writeBoundedFiles } from './project.ts';

describe('known napkin bugs (crash suite findings)', () => {
  it('a followed file that stalls past stopAfterIdle still hands on every line already in the file', async () => {
    // The stall comes between the source's last read and its idleness check: a consumer slow to take a chunk (a
    // slow fsync of the log append, a SIGSTOP, a long pause). Lines appended meanwhile are in the file when the
    // source decides the input ended, yet never read: the run's final epoch takes the watermark to +∞ without them.
    const dir = mkdtempSync(join(tmpdir(), 'napkin-tail-idle-'));
    try {
      const file = join(dir, 'live.jsonl');
      writeFileSync(file, '{"id":1}\n');
      let clock = 0;
      const reader = openTailSource({
        file,
        display: 'live.jsonl',
        contract: contract({ fields: { id: t.int64() } }),
        follow: { pollMs: 10, stopAfterIdleMs: 1000 },
        now: () => clock,
      });
      let rows = 0;
      for await (const chunk of reader.chunks()) {
        rows += chunk.batch.length;
        if (rows === 1 && clock === 0) {
          // The consumer stalls for 5 s; two lines arrive meanwhile.
          appendFileSync(file, '{"id":2}\n{"id":3}\n');
          clock = 5000;
        }
      }
      assert.equal(rows, 3, 'lines in the file when the source ended were never read');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a run killed mid-epoch leaves no temporary data file beside a file sink’s output, nor a DuckDB staging table', async () => {
    const dir = newProject();
    try {
      writeBoundedFiles(dir, boundedData(), 2);
      // Killed after the epoch's rows are staged and before its sinks commit.
      const killed = await runOnce(dir, ['run', 'batch_events'], { kind: 'point', point: 'epoch-checkpoint', k: 1 });
      assert.equal(killed.signal, 'SIGKILL');
      const again = napkin(dir, 'run', 'batch_events');
      assert.equal(again.status, 0, show(again));
      const snap = await capture(dir, BATCH_FLOW, { ...killed, stdout: '[]' });
      const leftovers = [...snap.leaks, ...scanFiles(dir).filter((l) => l.includes('.tmp'))];
      assert.deepEqual([...new Set(leftovers)], []);
      // Each thing removed is said, on a line of its own (spec §2.2).
      const removed = again.stderr.split('\n').filter((l) => l.includes('removed'));
      assert.ok(
        removed.some((l) =>
          /sink write_crash_big_events's temporary file .*\/out\/\.big-events\.csv\.[0-9a-f]{12}\.tmp/.test(l),
        ),
        again.stderr,
      );
      for (const sink of ['write_crash_events_clean', 'write_crash_per_key', 'write_crash_per_minute'])
        assert.ok(
          removed.some((l) => l.includes(`sink ${sink}'s staging table napkin_staging.stage_`)),
          `${sink}:\n${again.stderr}`,
        );
    } finally {
      removeProject(dir);
    }
  });

  it('a text sink on a full disk fails the run rather than publish a short file', {
    skip: process.getuid?.() === 0 ? false : 'needs root to mount a tmpfs',
  }, () => {
    const dir = tempProject('napkin-short-write-');
    const small = join(dir, 'small');
    mkdirSync(small);
    // The sink's folder is a 128 KiB file system: the first output (1,500 rows, 68 KB) fits; the second (4,000
    // rows, 180 KB) does not, yet renaming it over the first frees room for the manifest.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', small]);
    const input = (n: number) =>
      `id,name\n${Array.from({ length: n }, (_, i) => `${i},name number ${i} padded to make it longer`).join('\n')}\n`;
    try {
      writeFiles(dir, {
        'napkin.config.ts': `import { contract, csv, dataset, defineProject, flow, read, t, write } from 'napkin';
const c = contract({ fields: { id: t.int64(), name: t.string() } });
const input = dataset('in', { owner: 'tests', storage: csv('data/in.csv'), contract: c });
const output = dataset('out', { owner: 'tests', storage: csv('small/out.csv'), contract: c });
export default defineProject({ name: 'short', warehouse: 'out/warehouse.duckdb',
  flows: [flow({ name: 'copy', owner: 'tests', sla: '1d', outputs: [write(output, read(input))] })] });
`,
        'data/in.csv': input(1500),
      });
      const first = napkin(dir, 'run', 'copy');
      assert.equal(first.status, 0, show(first));
      writeFiles(dir, { 'data/in.csv': input(4000) });
      const r = napkin(dir, 'run', 'copy');
      if (r.status === 0) {
        const lines = readFileSync(join(small, 'out.csv'), 'utf8')
          .split('\n')
          .filter((l) => l !== '');
        assert.equal(lines.length - 1, 4000, `the run succeeded but published ${lines.length - 1} of 4000 rows`);
      } else {
        // A one-line error naming the file; nothing published: the output is the first run's, and no temporary file
        // of the failed epoch is left.
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, show(r));
        assert.match(lines[0], /small\/out\.csv: no space left on device \(ENOSPC\)/, show(r));
        const kept = readFileSync(join(small, 'out.csv'), 'utf8')
          .split('\n')
          .filter((l) => l !== '');
        assert.equal(kept.length - 1, 1500, 'the committed output is untouched');
        assert.deepEqual(
          readdirSync(small).filter((n) => n.endsWith('.tmp')),
          [],
        );
      }
    } finally {
      execFileSync('umount', [small]);
      removeDir(dir);
    }
  });

  it('a run killed while DuckDB creates the warehouse does not leave the project unable to run', () => {
    // DuckDB creates a database file in place: a process killed before DuckDB wrote to it left an empty file that
    // DuckDB refused from then on ("not a valid DuckDB database file"), and every later run failed. The warehouse is
    // now made under a temporary name and linked into place; what a killed creation leaves is that temporary file.
    for (const left of ['out/warehouse.duckdb', 'out/.warehouse.duckdb.999999.tmp']) {
      const dir = newProject();
      try {
        writeBoundedFiles(dir, boundedData(), 2);
        mkdirSync(join(dir, 'out'), { recursive: true });
        writeFileSync(join(dir, left), '');
        const r = napkin(dir, 'run', 'batch_events');
        assert.equal(r.status, 0, show(r));
        assert.match(r.stderr, new RegExp(`removed .*${left.replaceAll('.', '\\.')}`), show(r));
        assert.deepEqual(
          scanFiles(dir).filter((l) => l.includes('.tmp')),
          [],
        );
      } finally {
        removeProject(dir);
      }
    }
  });

  it('a temporary ownership-epoch file left by a killed run is removed when the flow is next taken', () => {
    const dir = newProject();
    try {
      writeBoundedFiles(dir, boundedData(), 2);
      const first = napkin(dir, 'run', 'batch_events');
      assert.equal(first.status, 0, show(first));
      // What a run killed inside writeAtomically leaves (the crash suite's random kills hit it).
      const left = join(dir, '.napkin', 'flows', 'batch_events', '.ownership-epoch.999999.tmp');
      writeFileSync(left, '7\n');
      const again = napkin(dir, 'run', 'batch_events');
      assert.equal(again.status, 0, show(again));
      assert.deepEqual(
        scanFiles(dir).filter((l) => l.includes('.tmp')),
        [],
      );
      assert.match(again.stderr, /removed the flow lock's temporary file .*\.ownership-epoch\.999999\.tmp/);
    } finally {
      removeProject(dir);
    }
  });
});
