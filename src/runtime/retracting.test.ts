import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { col, count, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { type Rel, read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { afterCount, repeatedly } from '../time/triggers.ts';
import { fixed, sessions } from '../time/windows.ts';
import { runTest, type TestRow, testStream } from './testing.ts';

const clicks = dataset('t.clicks', {
  contract: contract({ eventTime: 'at', fields: { user: t.string(), v: t.int64(), at: t.timestamp() } }),
});
const sink = dataset('t.out', { owner: 'o', contract: contract({ content: 'open', fields: { user: t.string() } }) });
const flowOf = (rel: Rel) => flow({ name: 'f', owner: 'o', sla: '1d', outputs: [write(sink, rel.stage('win'))] });
const click = (user: string, v: number, at: number) => ({ user, v, at });
const shape = (rows: readonly TestRow[] | undefined) =>
  (rows ?? []).map((r) => [r.window_start, r.window_end, r.s, r.pane_timing, r.retraction]);

describe('retracting accumulation in flows (A3)', () => {
  test('schema: a last `retraction` column; pane fields are nullable only where sessions merge', () => {
    const fields = (rel: Rel) =>
      (bindFlow(flowOf(rel), createRegistry()).stages.find((s) => s.id === 'win')?.schema?.fields ?? []).map(
        (f) => `${f.name}${f.nullable ? '?' : ''}`,
      );
    const fixedRel = read(clicks).window(fixed('1m'), { accumulation: 'retracting' }).groupBy('user');
    assert.deepEqual(fields(fixedRel.agg({ n: count() })).slice(-5), [
      'pane_timing',
      'pane_index',
      'pane_is_last',
      'event_time',
      'retraction',
    ]);
    const sessionRel = read(clicks).window(sessions('1m'), { accumulation: 'retracting' }).groupBy('user');
    assert.deepEqual(fields(sessionRel.agg({ n: count() })).slice(-5), [
      'pane_timing?',
      'pane_index?',
      'pane_is_last?',
      'event_time?',
      'retraction',
    ]);
  });

  test('every pane after the first is preceded by the retraction of the previous one', async () => {
    const input = testStream(clicks)
      .addElements(click('a', 1, 0))
      .addElements(click('a', 2, 10));
    const rel = read(clicks)
      .window(fixed('1m'), { trigger: repeatedly(afterCount(1)), accumulation: 'retracting' })
      .groupBy('user')
      .agg({ s: sum(col('v')) });
    const r = await runTest(flowOf(rel), [input]);
    assert.deepEqual(shape(r.rows.get('t.out')), [
      [0, 60_000, 1, 'EARLY', false],
      [0, 60_000, 1, 'EARLY', true],
      [0, 60_000, 3, 'EARLY', false],
    ]);
  });

  test('a session merged into another is retracted with no pane fields (Q7)', async () => {
    const input = testStream(clicks)
      .addElements(click('a', 1, 0))
      .advanceWatermark(61_000)
      .addElements(click('a', 2, 30_000));
    const rel = read(clicks)
      .window(sessions('1m'), { allowedLateness: '5m', accumulation: 'retracting' })
      .groupBy('user')
      .agg({ s: sum(col('v')) });
    const rows = (await runTest(flowOf(rel), [input])).rows.get('t.out') ?? [];
    assert.deepEqual(shape(rows), [
      [0, 60_000, 1, 'ON_TIME', false],
      [0, 60_000, 1, null, true],
      [0, 90_000, 3, 'ON_TIME', false],
    ]);
    assert.equal(rows[1].event_time, null);
  });

  test('property: applying rows in order (assert adds, retract removes) leaves exactly the final panes', async () => {
    const element = fc.record({
      user: fc.constantFrom('a', 'b'),
      v: fc.integer({ min: 1, max: 9 }),
      at: fc.integer({ min: 0, max: 600_000 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(element, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 5 }),
        async (rows, size) => {
          let input = testStream(clicks);
          for (let i = 0; i < rows.length; i += size) input = input.addElements(...rows.slice(i, i + size));
          const rel = (accumulation: 'retracting' | 'accumulating') =>
            read(clicks)
              .window(sessions('45s'), { trigger: repeatedly(afterCount(2)), accumulation })
              .groupBy('user')
              .agg({ s: sum(col('v')) });
          const out = (await runTest(flowOf(rel('retracting')), [input])).rows.get('t.out') ?? [];
          const standing = new Map<string, number>();
          for (const r of out) {
            const id = `${r.user}|${r.window_start}|${r.window_end}`;
            if (r.retraction === true) {
              assert.equal(standing.get(id), r.s, `retracts what stands: ${id}`);
              standing.delete(id);
            } else standing.set(id, r.s as number);
          }
          // What stands is one value per final session, the sum of its elements.
          const sessionsOf = naiveSessions(rows, 45_000);
          assert.deepEqual([...standing.entries()].sort(), [...sessionsOf.entries()].sort());
        },
      ),
      { numRuns: 80 },
    );
  });
});

/** Final sessions per user by sorting and cutting at gaps ≥ `gap`: (user|start|end) → sum. */
function naiveSessions(rows: readonly { user: string; v: number; at: number }[], gap: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const user of new Set(rows.map((r) => r.user))) {
    const mine = rows.filter((r) => r.user === user).sort((a, b) => a.at - b.at);
    let start = mine[0].at;
    let end = start + gap;
    let s = 0;
    for (const r of mine) {
      if (r.at >= end) {
        out.set(`${user}|${start}|${end}`, s);
        start = r.at;
        s = 0;
      }
      end = Math.max(end, r.at + gap);
      s += r.v;
    }
    out.set(`${user}|${start}|${end}`, s);
  }
  return out;
}
