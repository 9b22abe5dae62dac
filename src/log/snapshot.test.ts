// The read-only view observers use (napkin status): it reads a log another holder has open and is appending to,
// without its lock and without writing a byte, and sees exactly the records acknowledged when it was taken.
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Log } from './log.ts';
import { type ModelRecord, toModel } from './log-test-helpers.ts';
import { LogSnapshot } from './snapshot.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'napkin-snapshot-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const batch = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: null, value: `v${from + i}`, timestamp: 1000 + from + i }));

/** Every file of the log folder with its size and modification time: what "wrote nothing" is checked against. */
function files(d: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string): void => {
    for (const n of readdirSync(p)) {
      const f = join(p, n);
      const s = statSync(f);
      if (s.isDirectory()) walk(f);
      else out[f.slice(d.length)] = `${s.size}@${s.mtimeMs}`;
    }
  };
  walk(d);
  return out;
}

async function all(s: LogSnapshot): Promise<ModelRecord[]> {
  const out: ModelRecord[] = [];
  for (let from = s.startOffset(0); from < s.endOffset(0); ) {
    const got = await s.read(0, from, 7);
    if (got.length === 0) break;
    out.push(...got.map(toModel));
    from = got[got.length - 1].offset + 1;
  }
  return out;
}

describe('log snapshot', () => {
  it('reads a log its writer holds open, across sealed segments, and ends where the snapshot was taken', async () => {
    const log = await Log.open(dir, { partitions: 1, segmentBytes: 400, fsync: 'unsafe-none' });
    try {
      for (let i = 0; i < 10; i++) await log.append(0, batch(i * 5, 5));
      assert.ok(readdirSync(join(dir, 'partition-0')).filter((n) => n.endsWith('.seg')).length > 2, 'rolled');
      const before = files(dir);
      const s = (await LogSnapshot.open(dir)) as LogSnapshot;
      assert.equal(s.endOffset(0), 50);
      const seen = await all(s);
      assert.deepEqual(
        seen.map((r) => r.offset),
        Array.from({ length: 50 }, (_, i) => i),
      );
      assert.equal(Buffer.from(seen[37].value as string, 'hex').toString(), 'v37');
      assert.equal(seen[37].timestamp, 1037);
      await s.close();
      assert.deepEqual(files(dir), before, 'the snapshot wrote nothing');
      // Appended (and rolled) after the snapshot was taken: not seen by it, seen by the next one.
      const s2 = (await LogSnapshot.open(dir)) as LogSnapshot;
      await log.append(0, batch(50, 5));
      assert.deepEqual(
        (await s2.read(0, 48, 10)).map((r) => r.offset),
        [48, 49],
      );
      await s2.close();
      const later = (await LogSnapshot.open(dir)) as LogSnapshot;
      assert.equal(later.endOffset(0), 55);
      assert.equal((await all(later)).length, 55);
      await later.close();
      // The writer still holds its lock and goes on appending.
      assert.deepEqual(await log.append(0, batch(55, 1)), { firstOffset: 55, lastOffset: 55 });
    } finally {
      await log.close();
    }
  });

  it('leaves out bytes after the last commit frame (an append in progress) without truncating them', async () => {
    const log = await Log.open(dir, { partitions: 1, fsync: 'unsafe-none' });
    await log.append(0, batch(0, 3));
    await log.close();
    const seg = join(dir, 'partition-0', `${'0'.repeat(20)}.seg`);
    appendFileSync(seg, Buffer.from([0x12, 0x34, 0x56, 0x78, 0x20, 0, 0, 0, 0x52]));
    const size = statSync(seg).size;
    const s = (await LogSnapshot.open(dir)) as LogSnapshot;
    assert.equal(s.endOffset(0), 3);
    assert.deepEqual(
      (await all(s)).map((r) => r.offset),
      [0, 1, 2],
    );
    await s.close();
    assert.equal(statSync(seg).size, size, 'the torn tail is left for the writer to settle');
    assert.equal(existsSync(join(dir, 'LOCK')), false, 'no lock taken');
  });

  it('is undefined where there is no log', async () => {
    assert.equal(await LogSnapshot.open(join(dir, 'nothing-here')), undefined);
  });
});
