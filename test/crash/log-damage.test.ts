// Crash suite, damaged files at process level (spec reliability §2.9, G5; §3 "Damaged files", check 8), through the
// CLI: a torn tail of a topic segment (half a batch after the last commit frame, as a write cut by a crash leaves it)
// is truncated, logged on stderr with the file, byte offset and bytes dropped, and the run goes on to the fault-free
// output; a flipped bit in committed log data, in a checkpoint manifest or a damaged sink manifest stops the run with
// a one-line error naming the file, and leaves the log and outputs untouched.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeFrame } from '../../src/log/frame.ts';
import { napkin, show } from '../helpers.ts';
import { capture, changedFiles, compare, describeFailures, treeHashes } from './checks.ts';
import { History, Prng, runOnce, runToCompletion, startNapkin } from './harness.ts';
import {
  Appender,
  BATCH_FLOW,
  boundedData,
  LIVE_FLOW,
  LIVE_GAP_MS,
  liveData,
  newProject,
  removeProject,
  writeBoundedFiles,
} from './project.ts';
import { boundedScenario, liveScenario } from './scenarios.ts';
import { disposeReference, type Reference, referenceRun } from './trials.ts';

/** Commit-log entries of a flow so far. */
function commits(dir: string, flow: string): number {
  const d = join(dir, '.napkin', 'flows', flow, 'commits');
  return existsSync(d) ? readdirSync(d).filter((n) => n.endsWith('.json')).length : 0;
}

async function waitFor(what: string, ok: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/**
 * The active segment of a dataset's topic: `.napkin/log/<dataset>/partition-0/<base offset, 20 digits>.seg` (the
 * topic is a one-partition log, src/workspace/topic.ts; one segment at these sizes).
 */
function segmentOf(dir: string, dataset: string): string {
  const part = join(dir, '.napkin', 'log', dataset, 'partition-0');
  const segs = readdirSync(part)
    .filter((n) => n.endsWith('.seg'))
    .sort();
  return join(part, segs[segs.length - 1]);
}

/** Byte ranges of the segment's batches: each ends with its commit frame. */
function batches(path: string): { start: number; end: number }[] {
  const buf = readFileSync(path);
  const out: { start: number; end: number }[] = [];
  let start = 0;
  for (let at = 0; at < buf.length; ) {
    const f = decodeFrame(buf, at, buf.length);
    assert.ok(f.kind === 'record' || f.kind === 'commit', `frame at ${at} of ${path}: ${f.kind}`);
    at += f.size;
    if (f.kind === 'commit') {
      out.push({ start, end: at });
      start = at;
    }
  }
  return out;
}

/** Appends the first half of the segment's largest batch again: a write cut short, after the last commit frame. */
function tearTail(seg: string): { size: number; torn: number } {
  const buf = readFileSync(seg);
  const biggest = batches(seg).reduce((a, b) => (b.end - b.start > a.end - a.start ? b : a));
  const torn = buf.subarray(biggest.start, biggest.start + Math.floor((biggest.end - biggest.start) / 2));
  appendFileSync(seg, torn);
  return { size: buf.length, torn: torn.length };
}

/** Hashes of the log, the flows' epoch records and the output files (not the warehouse, which records failed runs). */
function untouchable(dir: string): Map<string, string> {
  const all = treeHashes(dir);
  return new Map(
    [...all].filter(
      ([f]) =>
        (f.startsWith('.napkin/log/') && !f.endsWith('/LOCK')) ||
        /^\.napkin\/flows\/[^/]+\/(offsets|checkpoints|commits)\//.test(f) ||
        (f.startsWith('out/') && !f.startsWith('out/warehouse.duckdb')),
    ),
  );
}

describe('crash suite: damaged log and manifests, through the CLI', () => {
  let bounded: Reference;
  let live: Reference;
  before(async () => {
    bounded = await referenceRun(boundedScenario());
    live = await referenceRun(liveScenario());
  });
  after(() => {
    disposeReference(bounded);
    disposeReference(live);
  });
  const input = boundedData();
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) removeProject(d);
  });

  /** A project after step 1 of the bounded scenario (two files), ready for step 2. */
  function afterStep1(): string {
    const dir = newProject();
    dirs.push(dir);
    writeBoundedFiles(dir, input, 2);
    const r = napkin(dir, 'run', 'batch_events');
    assert.equal(r.status, 0, show(r));
    return dir;
  }

  it('a torn tail of the bounded topic is truncated and logged; the next run gives the fault-free output', async () => {
    const dir = afterStep1();
    const seg = segmentOf(dir, 'crash.events');
    const { size, torn } = tearTail(seg);
    writeBoundedFiles(dir, input, 4);
    const r = await runOnce(dir, ['run', 'batch_events', '--json'], undefined);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`truncated the torn tail of ${seg.replaceAll('.', '\\.')} at byte ${size}: dropped ${torn} bytes`),
    );
    const got = await capture(dir, BATCH_FLOW, r);
    const failed = describeFailures(
      compare(bounded.snapshots[1][0], got, BATCH_FLOW, boundedScenario().steps[1].expect),
    );
    assert.equal(failed, '', failed);
  });

  it('a torn tail of a live topic between two runs is truncated and logged; the flow goes on to the fault-free output', async () => {
    const dir = newProject();
    dirs.push(dir);
    const scenario = liveScenario();
    const history = new History();
    const appender = new Appender(dir, liveData().batches, LIVE_GAP_MS, new Prng(3));
    // Stopped with SIGTERM once it has committed an epoch (a stop at a fixed delay could come before the process had
    // ingested anything, leaving no topic to damage), then its topic gets a torn tail. The run then commits a last
    // epoch and exits 0; on a loaded machine it may instead have read the whole input already and be exiting, its
    // handlers gone, and die of the signal: either way its epochs are committed and its topic is there to tear.
    const stopped = startNapkin(dir, ['run', 'live_events', '--json']);
    try {
      await waitFor('the live run to commit an epoch', () => commits(dir, 'live_events') >= 1);
    } catch (e) {
      stopped.child.kill('SIGKILL');
      throw e;
    }
    stopped.child.kill('SIGTERM');
    const exit = await stopped.exited;
    assert.ok(exit.code === 0 || exit.signal === 'SIGTERM', `${JSON.stringify(exit)}: ${stopped.stderr()}`);
    const seg = segmentOf(dir, 'crash.live_events');
    const { size, torn } = tearTail(seg);
    const r = await runToCompletion(dir, ['run', 'live_events', '--json'], [], history, {
      done: (x) => x.code === 0 && appender.finished,
    });
    await appender.done;
    const first = history.runs[0];
    assert.match(
      first.stderr,
      new RegExp(`truncated the torn tail of ${seg.replaceAll('.', '\\.')} at byte ${size}: dropped ${torn} bytes`),
      history.lines.join('\n'),
    );
    const got = await capture(dir, LIVE_FLOW, r);
    const failed = describeFailures(compare(live.snapshots[0][0], got, LIVE_FLOW, scenario.steps[0].expect));
    assert.equal(failed, '', `${failed}\n${history.lines.join('\n')}`);
  });

  /**
   * Runs the flow again over a damaged project (the same input: nothing new to ingest): it must fail with one line
   * naming `file`. Returns the line and the files the failed run changed in the log, epoch records and outputs.
   */
  async function refuses(dir: string, file: RegExp): Promise<{ line: string; changed: string[] }> {
    const before = untouchable(dir);
    const r = napkin(dir, 'run', 'batch_events');
    assert.equal(r.status, 1, show(r));
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0], file);
    return { line: lines[0], changed: changedFiles(before, untouchable(dir)) };
  }

  it('a flipped bit in committed log data stops the run, naming the file and byte', async () => {
    const dir = afterStep1();
    const seg = segmentOf(dir, 'crash.events');
    const first = batches(seg)[1];
    const at = first.start + Math.floor((first.end - first.start) / 2);
    const buf = readFileSync(seg);
    buf[at] ^= 0x10;
    writeFileSync(seg, buf);
    const { line, changed } = await refuses(
      dir,
      new RegExp(`corrupt log data in ${seg.replaceAll('.', '\\.')} at byte \\d+`),
    );
    assert.match(line, /CRC32C expected (0x)?[0-9a-f]+, found (0x)?[0-9a-f]+/);
    assert.deepEqual(changed, [], 'the log, epoch records and outputs are untouched');
    assert.equal(statSync(seg).size, buf.length, 'the damaged segment was not truncated');
  });

  it('a flipped bit in the checkpoint manifest stops the run, naming the file', async () => {
    const dir = afterStep1();
    const cp = join(dir, '.napkin', 'flows', 'batch_events', 'checkpoints', '000000000001.json');
    const text = readFileSync(cp, 'utf8');
    // "in": 8000 → "in": 8001: still JSON, but not what was written.
    writeFileSync(
      cp,
      text.replace(/"in": (\d+)/, (_m, n: string) => `"in": ${Number(n) ^ 1}`),
    );
    const { changed } = await refuses(dir, new RegExp(`${cp.replaceAll('.', '\\.')} fails its checksum`));
    assert.deepEqual(changed, [], 'the log, epoch records and outputs are untouched');
  });

  let partial: string[] | undefined;
  it('a damaged sink manifest stops the run naming the file; once it is restored, the run completes exactly once', async () => {
    const dir = afterStep1();
    const m = join(dir, 'out', '.big-events.csv.napkin-commits.json');
    const good = readFileSync(m, 'utf8');
    const csv = readFileSync(join(dir, 'out', 'big-events.csv'));
    writeFileSync(m, good.slice(0, 40));
    const { changed } = await refuses(dir, new RegExp(`${m.replaceAll('.', '\\.')}: the sink manifest is damaged`));
    assert.deepEqual(readFileSync(join(dir, 'out', 'big-events.csv')), csv, 'the damaged sink’s file is untouched');
    partial = changed;
    // The operator restores the manifest: the epoch the failed run planned is settled, and the outputs are E.
    writeFileSync(m, good);
    const r = await runOnce(dir, ['run', 'batch_events', '--json'], undefined);
    assert.equal(r.code, 0, r.stderr);
    const got = await capture(dir, BATCH_FLOW, r);
    const failed = describeFailures(
      compare(bounded.snapshots[0][0], got, BATCH_FLOW, boundedScenario().steps[0].expect),
    );
    assert.equal(failed, '', failed);
  });

  it('a damaged sink manifest is found before any sink commits the epoch', () => {
    assert.ok(partial !== undefined, 'the previous test ran');
    assert.deepEqual(
      partial.filter((f) => f.startsWith('changed out/') || f.startsWith('created out/')),
      [],
    );
  });
});
