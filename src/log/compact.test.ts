import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { Log } from './log.ts';
import { appendRecord, fromAppend, type ModelRecord, readAll } from './log-test-helpers.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'napkin-log-compact-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** What compaction must leave: keyless records, and of each key its last record unless that is a tombstone. */
function compacted(history: readonly ModelRecord[]): ModelRecord[] {
  const last = new Map<string, number>();
  for (const r of history) if (r.key !== null) last.set(r.key, r.offset);
  return history.filter((r) => r.key === null || (last.get(r.key) === r.offset && r.value !== null));
}

describe('log: compaction keeps exactly the last value per key', () => {
  it('after any history of appends and compactions, and after reopening with or without index files', async () => {
    const step = fc.oneof(
      { weight: 5, arbitrary: fc.array(appendRecord(6), { minLength: 1, maxLength: 25 }) },
      { weight: 1, arbitrary: fc.constant('compact' as const) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 20 }), fc.integer({ min: 200, max: 3000 }), async (steps, seg) => {
        rmSync(dir, { recursive: true, force: true });
        const options = { segmentBytes: seg, indexIntervalBytes: 100, fsync: 'unsafe-none' } as const;
        let log = await Log.open(dir, { partitions: 1, ...options });
        const history: ModelRecord[] = [];
        let expected: ModelRecord[] = [];
        for (const s of [...steps, 'compact' as const]) {
          if (s === 'compact') {
            const result = await log.compact(0);
            const before = expected.length;
            expected = compacted(history);
            assert.equal(result.recordsRemoved, before - expected.length);
            assert.deepEqual(await readAll(log, 0, 7), expected);
          } else {
            const r = await log.append(0, s);
            s.forEach((rec, i) => {
              history.push(fromAppend(rec, r.firstOffset + i));
              expected.push(fromAppend(rec, r.firstOffset + i));
            });
          }
        }
        assert.equal(log.endOffset(0), history.length, 'compaction never changes offsets');
        await log.close();
        log = await Log.open(dir, options);
        assert.deepEqual(await readAll(log, 0), expected);
        await log.close();
        for (const f of readdirSync(join(dir, 'partition-0')).filter((n) => n.endsWith('.idx')))
          rmSync(join(dir, 'partition-0', f));
        log = await Log.open(dir, options);
        assert.deepEqual(await readAll(log, 0), expected);
        assert.equal((await log.compact(0)).recordsRemoved, 0, 'compacting twice removes nothing more');
        await log.close();
      }),
      { numRuns: 40, seed: 19 },
    );
  });

  it('removes a deleted key entirely and leaves no temporary files', async () => {
    const log = await Log.open(dir, { partitions: 1 });
    await log.append(0, [
      { key: 'a', value: '1', timestamp: 1 },
      { key: 'b', value: '1', timestamp: 2 },
      { key: 'a', value: '2', timestamp: 3 },
      { key: 'b', value: null, timestamp: 4 },
      { key: null, value: 'keyless', timestamp: 5 },
    ]);
    const r = await log.compact(0);
    assert.deepEqual([r.segmentsRewritten, r.recordsRemoved], [1, 3]);
    assert.ok(r.bytesAfter < r.bytesBefore);
    const got = await log.read(0, 0);
    assert.deepEqual(
      got.map((x) => [x.offset, x.key && Buffer.from(x.key).toString(), x.value && Buffer.from(x.value).toString()]),
      [
        [2, 'a', '2'],
        [4, null, 'keyless'],
      ],
    );
    assert.equal(await log.offsetForTimestamp(0, 0), 2);
    assert.deepEqual((await log.append(0, [{ key: 'b', value: 'back', timestamp: 6 }])).firstOffset, 5);
    await log.close();
    assert.deepEqual(
      readdirSync(join(dir, 'partition-0')).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });
});
