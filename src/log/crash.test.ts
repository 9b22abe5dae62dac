// Crash tests with real processes (spec reliability §3): a child appends seeded batches and reports each
// acknowledged one; it is SIGKILLed at a seeded moment, or tears its own k-th write in half and SIGKILLs itself.
// After a restart every acknowledged record must be there, intact, and at most the one batch in flight beyond them.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import type { AppendRecord, LogRecord } from './frame.ts';
import { Log } from './log.ts';
import { crashBatch, rng, snapshot } from './testing.ts';

const TRIALS = 30;
const WRITER = join(import.meta.dirname, 'crash-writer.ts');

interface Ack {
  readonly partition: number;
  readonly first: number;
  readonly last: number;
}

interface Trial {
  readonly seed: number;
  readonly partitions: number;
  /** Kill after this many acknowledgements… */
  readonly killAfter?: number;
  /** …or let the child tear this write (1-based) and kill itself. */
  readonly tear?: { readonly at: number; readonly fraction: number };
}

function trial(i: number): Trial {
  const seed = 7000 + i;
  const r = rng(seed);
  const partitions = 1 + Math.floor(r() * 3);
  if (i % 3 === 2) return { seed, partitions, tear: { at: 1 + Math.floor(r() * 60), fraction: 0.02 + r() * 0.96 } };
  return { seed, partitions, killAfter: Math.floor(r() * 60) };
}

/** Runs the child until it is killed; returns the acknowledgements it printed. */
async function runChild(dir: string, t: Trial): Promise<Map<number, Ack>> {
  const args = [WRITER, dir, String(t.seed), String(t.partitions)];
  if (t.tear !== undefined) args.push(String(t.tear.at), String(t.tear.fraction));
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  // A guard against a child that never stops, not a timing assertion: the checks below would then fail.
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const acks = new Map<number, Ack>();
  const exited = exit(child);
  for await (const line of createInterface({ input: child.stdout! })) {
    const m = /^ack (\d+) (\d+) (\d+) (\d+)$/.exec(line);
    if (m !== null) acks.set(Number(m[1]), { partition: Number(m[2]), first: Number(m[3]), last: Number(m[4]) });
    else assert.equal(line, 'ready');
    if (t.killAfter !== undefined && acks.size === t.killAfter) child.kill('SIGKILL');
  }
  const signal = await exited;
  clearTimeout(guard);
  assert.equal(signal, 'SIGKILL', 'the child must die by SIGKILL, not exit on its own');
  return acks;
}

const exit = (child: ChildProcess): Promise<NodeJS.Signals | null> =>
  new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));

async function readAll(log: Log, p: number): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  while (out.length < log.endOffset(p)) out.push(...(await log.read(p, out.length, 500)));
  return out;
}

const text = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('utf8'));
const same = (r: LogRecord, a: AppendRecord): boolean =>
  text(r.value) === a.value && text(r.key) === (a.key ?? null) && r.timestamp === a.timestamp;

/** Checks partition `p` against the seeded batches: every acknowledged one in place, plus at most the one in flight. */
function checkPartition(records: readonly LogRecord[], t: Trial, p: number, acks: Map<number, Ack>): void {
  const lastAck = Math.max(-1, ...acks.keys());
  let at = 0;
  for (let n = 0; n <= lastAck + 1; n++) {
    const batch = crashBatch(t.seed, n, t.partitions);
    if (batch.partition !== p) continue;
    const ack = acks.get(n);
    if (n <= lastAck) assert.ok(ack !== undefined, `batch ${n} was acknowledged before a later one`);
    if (ack !== undefined) assert.deepEqual([ack.first, ack.last], [at, at + batch.records.length - 1]);
    if (n === lastAck + 1 && at === records.length) return; // the batch in flight did not make it: fine
    for (let i = 0; i < batch.records.length; i++) {
      const r = records[at + i];
      assert.ok(r !== undefined, `batch ${n} record ${i} (offset ${at + i}) of partition ${p} is missing`);
      assert.equal(r.offset, at + i);
      assert.ok(same(r, batch.records[i]), `batch ${n} record ${i} (offset ${at + i}) of partition ${p} differs`);
    }
    at += batch.records.length;
  }
  assert.equal(records.length, at, `partition ${p} holds records beyond the batch in flight`);
}

async function verify(dir: string, t: Trial, acks: Map<number, Ack>): Promise<void> {
  const warnings: string[] = [];
  const log = await Log.open(dir, { logger: { warn: (m) => warnings.push(m) } });
  for (let p = 0; p < t.partitions; p++) checkPartition(await readAll(log, p), t, p, acks);
  if (t.tear !== undefined) {
    assert.equal(warnings.length, 1, 'a torn write leaves exactly one torn tail');
    assert.match(warnings[0], /truncated the torn tail of .*\.seg at byte \d+: dropped \d+ bytes/);
  }
  await log.close();
  // Recovery left a clean log: opening it again truncates nothing and changes no byte.
  const before = snapshot(dir);
  const again = await Log.open(dir, { logger: { warn: (m) => warnings.push(`second open: ${m}`) } });
  const end = again.endOffset(0);
  await again.close();
  assert.deepEqual(snapshot(dir), before);
  assert.equal(warnings.filter((w) => w.startsWith('second open')).length, 0);
  // And it takes appends again where it stopped.
  const log2 = await Log.open(dir);
  assert.deepEqual(await log2.append(0, [{ value: 'after', timestamp: 1 }]), { firstOffset: end, lastOffset: end });
  assert.equal(text((await log2.read(0, end, 1))[0].value), 'after');
  await log2.close();
}

describe('log: SIGKILL at random moments loses no acknowledged record', () => {
  for (let i = 0; i < TRIALS; i++) {
    const t = trial(i);
    const how = t.tear !== undefined ? `tears write ${t.tear.at}` : `killed after ${t.killAfter} acks`;
    it(`trial ${i} (seed ${t.seed}, ${t.partitions} partitions, ${how})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'napkin-log-crash-'));
      try {
        const acks = await runChild(dir, t);
        if (t.killAfter !== undefined) assert.ok(acks.size >= t.killAfter);
        await verify(dir, t, acks);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
