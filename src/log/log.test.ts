import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { LogOffsetOutOfRangeError } from './errors.ts';
import { Log } from './log.ts';
import { appendRecord, fromAppend, type ModelRecord, readAll, toModel } from './log-test-helpers.ts';
import { faultyIO } from './testing.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'napkin-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fresh = (): string => {
  rmSync(dir, { recursive: true, force: true });
  return dir;
};

describe('log: appends read back by offset', () => {
  it('random appends across partitions and segment rolls, with reopens, read back identically', async () => {
    const op = fc.record({
      partition: fc.integer({ min: 0, max: 2 }),
      records: fc.array(appendRecord(8), { minLength: 1, maxLength: 30 }),
      reopen: fc.integer({ min: 0, max: 6 }).map((x) => x === 0),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(op, { minLength: 1, maxLength: 25 }),
        fc.integer({ min: 200, max: 4096 }),
        fc.integer({ min: 16, max: 1024 }),
        fc.integer({ min: 1, max: 50 }),
        async (ops, segmentBytes, indexIntervalBytes, chunk) => {
          const options = { segmentBytes, indexIntervalBytes, fsync: 'unsafe-none' } as const;
          let log = await Log.open(fresh(), { partitions: 3, ...options });
          const model: ModelRecord[][] = [[], [], []];
          for (const o of ops) {
            const r = await log.append(o.partition, o.records);
            const m = model[o.partition];
            assert.deepEqual(r, { firstOffset: m.length, lastOffset: m.length + o.records.length - 1 });
            for (const [i, rec] of o.records.entries()) m.push(fromAppend(rec, r.firstOffset + i));
            if (o.reopen) {
              await log.close();
              log = await Log.open(dir, options);
            }
          }
          for (let p = 0; p < 3; p++) {
            assert.equal(log.endOffset(p), model[p].length);
            assert.deepEqual(await readAll(log, p, chunk), model[p]);
            for (const from of [0, Math.floor(model[p].length / 3), model[p].length - 1].filter((x) => x >= 0)) {
              const got = (await log.read(p, from, chunk)).map(toModel);
              assert.deepEqual(got, model[p].slice(from, from + chunk));
            }
          }
          await log.close();
        },
      ),
      { numRuns: 40, seed: 42 },
    );
  });

  it('acknowledges with fsync: one fdatasync per append, none with unsafe-none', async () => {
    const io = faultyIO();
    const log = await Log.open(fresh(), { partitions: 1, io });
    const before = io.datasyncs;
    for (let i = 0; i < 5; i++)
      await log.append(0, [
        { value: 'a', timestamp: i },
        { value: 'b', timestamp: i },
      ]);
    assert.equal(io.datasyncs - before, 5);
    await log.close();
    const unsafe = faultyIO();
    const log2 = await Log.open(dir, { io: unsafe, fsync: 'unsafe-none' });
    await log2.append(0, [{ value: 'c', timestamp: 1 }]);
    assert.equal(unsafe.datasyncs, 0);
    await log2.close();
  });

  it('keeps null keys and values apart from empty ones', async () => {
    const log = await Log.open(fresh(), { partitions: 1 });
    await log.append(0, [
      { key: null, value: null, timestamp: 0 },
      { key: '', value: '', timestamp: 1 },
      { key: new Uint8Array([0, 255]), value: 'é', timestamp: -5 },
    ]);
    const got = await log.read(0, 0);
    assert.deepEqual(
      got.map((r) => [r.key && Buffer.from(r.key).toString('hex'), r.value && Buffer.from(r.value).toString()]),
      [
        [null, null],
        ['', ''],
        ['00ff', 'é'],
      ],
    );
    assert.equal(got[2].timestamp, -5);
    await log.close();
  });

  it('rejects bad input before writing anything', async () => {
    const log = await Log.open(fresh(), { partitions: 2 });
    await log.append(0, [{ value: 'ok', timestamp: 1 }]);
    await assert.rejects(
      log.append(0, [
        { value: 'x', timestamp: 1 },
        { value: 'y', timestamp: 1.5 },
      ]),
      /record 1 .*1\.5/,
    );
    assert.equal(log.endOffset(0), 1);
    assert.deepEqual(await log.append(0, []), { firstOffset: 1, lastOffset: 0 });
    await assert.rejects(log.append(2, []), /partition 2 is not in log .*partitions 0…1/);
    await assert.rejects(log.read(0, 0, 0), /maxRecords must be a positive integer, got 0/);
    await assert.rejects(log.read(0, 2), /offset 2 of partition 0 is past the log end offset 1/);
    assert.deepEqual(await log.read(0, 1), []);
    await log.close();
    assert.throws(() => log.endOffset(0), /is closed/);
    await assert.rejects(Log.open(dir, { partitions: 3 }), /has 2 partitions, not 3/);
    await assert.rejects(Log.open(join(dir, 'none')), /no log in .*none: give the number of partitions/);
  });
});

describe('log: offsetForTimestamp', () => {
  it('finds the first offset whose timestamp is at or after the one asked, in any order of timestamps', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fc.integer({ min: 0, max: 500 }), { minLength: 1, maxLength: 40 }), { maxLength: 15 }),
        fc.array(fc.integer({ min: -5, max: 505 }), { minLength: 1, maxLength: 20 }),
        fc.boolean(),
        async (batches, queries, reopen) => {
          const options = { segmentBytes: 600, indexIntervalBytes: 64, fsync: 'unsafe-none' } as const;
          let log = await Log.open(fresh(), { partitions: 1, ...options });
          const ts = batches.flat();
          for (const b of batches)
            await log.append(
              0,
              b.map((t) => ({ value: 'v', timestamp: t })),
            );
          if (reopen) {
            await log.close();
            log = await Log.open(dir, options);
          }
          for (const q of queries) {
            const i = ts.findIndex((t) => t >= q);
            assert.equal(await log.offsetForTimestamp(0, q), i < 0 ? ts.length : i, `timestamp ${q}`);
          }
          await log.close();
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });
});

describe('log: retention deletes whole old segments', () => {
  it('by size: sealed segments stay within the bound and the rest reads back; below the start is an error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 300, max: 2000 }),
        fc.integer({ min: 1, max: 6000 }),
        async (sizes, segmentBytes, bytes) => {
          const log = await Log.open(fresh(), {
            partitions: 1,
            fsync: 'unsafe-none',
            segmentBytes,
            retention: { bytes },
          });
          const model: ModelRecord[] = [];
          for (const n of sizes) {
            const records = Array.from({ length: n }, (_, i) => ({ value: `v${model.length + i}`, timestamp: 0 }));
            const r = await log.append(0, records);
            for (const [i, rec] of records.entries()) model.push(fromAppend(rec, r.firstOffset + i));
          }
          const start = log.startOffset(0);
          const files = readdirSync(join(dir, 'partition-0')).filter((f) => f.endsWith('.seg'));
          const sealed = files.sort().slice(0, -1);
          const sealedBytes = sealed.reduce((n, f) => n + statSync(join(dir, 'partition-0', f)).size, 0);
          assert.ok(sealedBytes <= bytes, `sealed segments hold ${sealedBytes} bytes, over ${bytes}`);
          assert.equal(files[0], `${String(start).padStart(20, '0')}.seg`);
          assert.deepEqual(await readAll(log, 0), model.slice(start));
          if (start > 0) {
            await assert.rejects(log.read(0, start - 1), (e: Error) => {
              assert.ok(e instanceof LogOffsetOutOfRangeError);
              assert.match(e.message, new RegExp(`below the log start offset ${start} .*read from ${start} or later`));
              return true;
            });
          }
          await log.close();
          const reopened = await Log.open(dir);
          assert.equal(reopened.startOffset(0), start);
          await reopened.close();
        },
      ),
      { numRuns: 40, seed: 3 },
    );
  });

  it('by time: a sealed segment goes once its newest record is older than the bound', async () => {
    let now = 10_000;
    const log = await Log.open(fresh(), {
      partitions: 1,
      segmentBytes: 300,
      retention: { ms: 1000 },
      clock: () => now,
    });
    for (let t = 0; t < 40; t++) await log.append(0, [{ value: 'x'.repeat(50), timestamp: 10_000 + t * 100 }]);
    assert.equal(log.startOffset(0), 0, 'nothing is old yet');
    // Two records per segment (118 bytes per append, 300 per segment): segment [2k, 2k+1] is newest at 10,000 + 100(2k+1).
    now = 12_000;
    assert.equal(await log.enforceRetention(), 5);
    assert.equal(log.startOffset(0), 10, 'segments whose newest record is before 11,000 are gone');
    now = 1_000_000;
    await log.enforceRetention();
    assert.equal(log.startOffset(0), 38, 'only the active segment is left, never deleted');
    assert.deepEqual(
      (await log.read(0, 38)).map((r) => r.offset),
      [38, 39],
    );
    await assert.rejects(log.read(0, 0), /below the log start offset/);
    await log.close();
  });
});
