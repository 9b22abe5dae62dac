// Damaged files while the log is stopped (spec reliability §3, "Damaged files"): a torn tail is truncated and logged
// with nothing acknowledged lost; damage to committed data fails the open with the file, byte offset and check, and
// leaves every byte of the directory as it was.
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { LogCorruptionError } from './errors.ts';
import { COMMIT_FRAME_BYTES, decodeFrame, encodeBatch } from './frame.ts';
import { Log, type LogOptions } from './log.ts';
import { rng, snapshot } from './testing.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'napkin-log-damage-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const batch = (n: number, size: number) =>
  Array.from({ length: size }, (_, i) => ({
    key: `k${i % 5}`,
    value: `batch ${n} record ${i}`,
    timestamp: n * 100 + i,
  }));

/** Writes `batches` batches and closes; returns the byte position where each batch ends in the one segment. */
async function fill(batches: number, options: LogOptions = {}): Promise<number[]> {
  const log = await Log.open(dir, { partitions: 1, ...options });
  const ends: number[] = [];
  let end = 0;
  for (let n = 0; n < batches; n++) {
    const records = batch(n, 1 + (n % 7));
    const r = await log.append(0, records);
    end += encodeBatch(records, r.firstOffset).length;
    ends.push(end);
  }
  await log.close();
  return ends;
}

const segments = (): string[] =>
  readdirSync(join(dir, 'partition-0'))
    .filter((n) => n.endsWith('.seg'))
    .sort()
    .map((n) => join(dir, 'partition-0', n));
const lastSegment = (): string => segments()[segments().length - 1];

async function reopen(): Promise<{ log: Log; warnings: string[] }> {
  const warnings: string[] = [];
  const log = await Log.open(dir, { logger: { warn: (m) => warnings.push(m) } });
  return { log, warnings };
}

/** Checks that exactly batches 0…n-1 are in the log, each record intact. */
async function expectBatches(log: Log, n: number): Promise<void> {
  const expected = Array.from({ length: n }, (_, b) => batch(b, 1 + (b % 7))).flat();
  assert.equal(log.endOffset(0), expected.length);
  const got = await log.read(0, 0, expected.length + 1);
  assert.deepEqual(
    got.map((r) => [r.offset, Buffer.from(r.value ?? []).toString(), r.timestamp]),
    expected.map((e, i) => [i, e.value, e.timestamp]),
  );
}

/** Start of every frame in a segment file. */
function frameStarts(path: string): number[] {
  const buf = readFileSync(path);
  const starts: number[] = [];
  for (let at = 0; at < buf.length; ) {
    const f = decodeFrame(buf, at, buf.length);
    assert.ok(f.kind === 'record' || f.kind === 'commit');
    starts.push(at);
    at += f.size;
  }
  return starts;
}

function flipBit(path: string, byte: number, bit: number): void {
  const buf = readFileSync(path);
  buf[byte] ^= 1 << bit;
  writeFileSync(path, buf);
}

describe('log recovery: torn tails are truncated and logged', () => {
  it('truncating the last segment at a random byte keeps every batch before the cut', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 30 }), fc.double({ min: 0, max: 1, noNaN: true }), async (n, at) => {
        rmSync(dir, { recursive: true, force: true });
        const ends = await fill(n);
        const cut = Math.floor(at * ends[ends.length - 1]);
        truncateSync(lastSegment(), cut);
        const kept = ends.filter((e) => e <= cut).length;
        const boundary = kept === 0 ? 0 : ends[kept - 1];
        const { log, warnings } = await reopen();
        await expectBatches(log, kept);
        if (cut === boundary) assert.deepEqual(warnings, []);
        else {
          assert.equal(warnings.length, 1);
          assert.ok(warnings[0].includes(`${lastSegment()} at byte ${boundary}: dropped ${cut - boundary} bytes`));
        }
        await log.append(0, batch(kept, 1 + (kept % 7)));
        await expectBatches(log, kept + 1);
        await log.close();
      }),
      { numRuns: 40, seed: 11 },
    );
  });

  it('garbage appended to the last segment is dropped, random bytes or zeros alike', async () => {
    const ends = await fill(12);
    for (const [i, garbage] of [randomBytes(1, 1), randomBytes(2, 5000), Buffer.alloc(4096)].entries()) {
      appendFileSync(lastSegment(), garbage);
      const { log, warnings } = await reopen();
      await expectBatches(log, 12);
      assert.equal(warnings.length, 1, `garbage ${i}`);
      assert.ok(warnings[0].includes(`at byte ${ends[11]}: dropped ${garbage.length} bytes`));
      await log.close();
    }
  });

  it('a flipped bit in records after the last commit frame (never acknowledged) is truncated', async () => {
    const ends = await fill(5);
    const r = rng(3);
    for (let trial = 0; trial < 20; trial++) {
      const records = batch(99, 6);
      const uncommitted = encodeBatch(records, 0).subarray(0, -COMMIT_FRAME_BYTES);
      const byte = Math.floor(r() * uncommitted.length);
      appendFileSync(lastSegment(), uncommitted);
      flipBit(lastSegment(), ends[4] + byte, Math.floor(r() * 8));
      const { log, warnings } = await reopen();
      await expectBatches(log, 5);
      assert.equal(warnings.length, 1);
      assert.ok(warnings[0].includes(`at byte ${ends[4]}: dropped ${uncommitted.length} bytes`), warnings[0]);
      await log.close();
    }
  });

  it('a damaged final commit frame cannot be told from a torn write: that last batch goes, logged', async () => {
    const ends = await fill(5);
    flipBit(lastSegment(), ends[4] - 10, 2);
    const { log, warnings } = await reopen();
    await expectBatches(log, 4);
    assert.match(warnings[0], /CRC32C expected/);
    await log.close();
  });
});

describe('log recovery: damaged committed data stops with a clear error and changes nothing', () => {
  it('a flipped bit anywhere before the last commit frame fails the open and leaves every byte', async () => {
    const ends = await fill(20);
    const path = lastSegment();
    const starts = frameStarts(path);
    const r = rng(5);
    for (let trial = 0; trial < 40; trial++) {
      const byte = Math.floor(r() * (ends[19] - COMMIT_FRAME_BYTES));
      const frame = starts.filter((s) => s <= byte).pop();
      const original = readFileSync(path);
      flipBit(path, byte, Math.floor(r() * 8));
      const before = snapshot(dir);
      await assert.rejects(Log.open(dir), (e: Error) => {
        assert.ok(e instanceof LogCorruptionError, e.message);
        assert.equal(e.file, path);
        assert.equal(e.byteOffset, frame);
        assert.match(e.message, /CRC32C expected 0x[0-9a-f]{8}, found 0x[0-9a-f]{8}|frame length|past the end/);
        assert.match(e.message, /a valid commit frame follows at byte \d+, so this data was acknowledged/);
        assert.match(e.message, /napkin did not modify the log/);
        return true;
      });
      assert.deepEqual(snapshot(dir), before, 'a failed open must not change the directory');
      writeFileSync(path, original);
    }
  });

  it('damage in a sealed segment: found at open when its index is gone, on read when not', async () => {
    await fill(60, { segmentBytes: 2048 });
    const [first] = segments();
    assert.ok(segments().length > 3);
    flipBit(first, 100, 4);
    const log = await Log.open(dir);
    await assert.rejects(log.read(0, 0, 1000), (e: Error) => {
      assert.ok(e instanceof LogCorruptionError);
      assert.equal(e.file, first);
      assert.match(e.message, /at byte \d+: CRC32C expected .* found on read/);
      return true;
    });
    await log.close();
    rmSync(first.replace(/\.seg$/, '.idx'));
    const before = snapshot(dir);
    await assert.rejects(Log.open(dir), /corrupt log data in .*00000000000000000000\.seg at byte \d+: CRC32C/);
    assert.deepEqual(snapshot(dir), before);
  });
});

describe('log recovery: indexes are rebuilt from their segments', () => {
  it('missing or damaged index files give the same reads', async () => {
    await fill(60, { segmentBytes: 2048, indexIntervalBytes: 128 });
    const idx = readdirSync(join(dir, 'partition-0')).filter((n) => n.endsWith('.idx'));
    assert.ok(idx.length > 3);
    rmSync(join(dir, 'partition-0', idx[0]));
    writeFileSync(join(dir, 'partition-0', idx[1]), 'not an index');
    const { log } = await reopen();
    await expectBatches(log, 60);
    for (const from of [0, 7, 55, 123, 200]) assert.equal((await log.read(0, from, 1))[0].offset, from);
    await log.close();
    const rebuilt = readdirSync(join(dir, 'partition-0')).filter((n) => n.endsWith('.idx'));
    assert.deepEqual(rebuilt, idx);
  });
});

function randomBytes(seed: number, n: number): Buffer {
  const r = rng(seed);
  return Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
}
