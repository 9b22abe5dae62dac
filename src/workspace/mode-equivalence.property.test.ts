import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { col, count, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { testIO } from '../runtime/testing.ts';
import { boundedOutOfOrderness } from '../time/watermarks.ts';
import { fixed } from '../time/windows.ts';
import { EpochRunner, topicInputs } from './epoch-run.ts';
import { EpochStore } from './epochs.ts';
import { Topic } from './topic-log.ts';

// Mode equivalence over one log (issue 5): the same flow, run over the same topic as one batch epoch, as
// micro-batches of several ingested chunks, and streaming (an epoch per chunk), commits the same rows; so does a run
// stopped after any epoch and started again by a new process (state rebuilt by replaying the committed epochs).

const events = dataset('t.events', {
  contract: contract({ eventTime: 'at', fields: { key: t.string(), value: t.int64(), at: t.timestamp() } }),
});
const sums = dataset('t.sums', { owner: 'o', contract: contract({ content: 'open', fields: { key: t.string() } }) });
const kept = dataset('t.kept', { owner: 'o', contract: contract({ content: 'open', fields: { key: t.string() } }) });

function windowed() {
  const src = read(events, { watermark: boundedOutOfOrderness(2_000) });
  const agg = src
    .window(fixed(10_000), { allowedLateness: 3_000, accumulation: 'accumulating' })
    .groupBy('key')
    .agg({ total: sum(col('value')), n: count() })
    .stage('win');
  const big = src.filter(col('value').gt(50)).stage('big');
  return flow({ name: 'f', owner: 'o', sla: '30s', outputs: [write(sums, agg), write(kept, big)] });
}

type Event = { key: string; value: number; at: number };
/** How the log was ingested: chunks of events, in order. */
type Chunks = Event[][];

const event = fc.record({
  key: fc.constantFrom('a', 'b', 'c'),
  value: fc.integer({ min: 0, max: 100 }),
  at: fc.integer({ min: 0, max: 60_000 }),
});
const chunks = fc.array(fc.array(event, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 12 });

/** Epoch plans: after which chunks an epoch ends (the last one always ends the input). */
type Plan = { readonly name: string; readonly cuts: (n: number) => number[] };
const batch: Plan = { name: 'batch', cuts: (n) => [n] };
const streaming: Plan = { name: 'streaming', cuts: (n) => Array.from({ length: n }, (_, i) => i + 1) };
const microBatch = (k: number): Plan => ({
  name: `micro-batch of ${k}`,
  cuts: (n) => [...Array.from({ length: Math.floor(n / k) }, (_, i) => (i + 1) * k).filter((c) => c < n), n],
});

async function withTopic<T>(
  input: Chunks,
  body: (topic: Topic, ends: number[], dir: string) => Promise<T>,
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'napkin-modes-'));
  const topic = await Topic.open(join(dir, 'log'), 't.events', { fsync: 'unsafe-none' });
  try {
    await topic.startGeneration(['key', 'value', 'at']);
    const ends: number[] = [];
    for (const c of input) {
      const columns = [c.map((e) => e.key), c.map((e) => e.value), c.map((e) => e.at)];
      await topic.appendChunk({ batch: { length: c.length, columns }, rejected: [] }, 2, 0, {
        kind: 'chunk',
        file: 'x',
      });
      ends.push(topic.state.end);
    }
    return await body(topic, ends, dir);
  } finally {
    await topic.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the flow over the topic with epochs ending at `cuts`; `restartAfter`: a new runner takes over after it. */
async function run(topic: Topic, ends: number[], dir: string, cuts: number[], restartAfter?: number) {
  const registry = createRegistry();
  const bound = bindFlow(windowed(), registry);
  const { io, rows } = testIO(bound.stages, []);
  const store = new EpochStore(join(dir, `epochs-${Math.random()}`), 'f');
  const ctx = {
    bound,
    registry,
    io,
    store,
    inputs: topicInputs(new Map([['t.events', topic]]), bound),
    fingerprint: 'x',
    quarantine: async () => {},
    // Without snapshots: a restart rebuilds the state by replay (snapshot.property.test.ts restores them).
    snapshotEveryMs: Number.POSITIVE_INFINITY,
  };
  let runner = new EpochRunner(ctx);
  await runner.start();
  const collected: Record<string, unknown[]> = { 't.sums': [], 't.kept': [] };
  const harvest = () => {
    for (const [k, v] of rows) collected[k].push(...v.splice(0));
  };
  for (let i = 0; i < cuts.length; i++) {
    const final = i === cuts.length - 1;
    await runner.epoch({ final, upTo: new Map([['t.events', ends[cuts[i] - 1]]]) });
    harvest();
    if (i === restartAfter && !final) {
      await runner.close();
      runner = new EpochRunner(ctx);
      await runner.start();
      assert.equal(runner.replayed, i + 1, 'the restart replays every committed epoch');
    }
  }
  return collected;
}

const canon = (rows: Record<string, unknown[]>) =>
  Object.fromEntries(Object.entries(rows).map(([k, v]) => [k, v.map((r) => JSON.stringify(r)).sort()]));

test('batch, micro-batch and streaming epochs over one log commit the same rows', async () => {
  await fc.assert(
    fc.asyncProperty(chunks, fc.integer({ min: 2, max: 4 }), async (input, k) => {
      await withTopic(input, async (topic, ends, dir) => {
        const n = input.length;
        const reference = canon(await run(topic, ends, dir, batch.cuts(n)));
        assert.ok(reference['t.kept'].length === input.flat().filter((e) => e.value > 50).length);
        for (const plan of [streaming, microBatch(k)]) {
          assert.deepEqual(canon(await run(topic, ends, dir, plan.cuts(n))), reference, plan.name);
        }
      });
    }),
    { numRuns: 40 },
  );
});

test('a run stopped after any epoch and started again commits the same rows as one that never stopped', async () => {
  await fc.assert(
    fc.asyncProperty(chunks, fc.nat(), async (input, at) => {
      await withTopic(input, async (topic, ends, dir) => {
        const n = input.length;
        const cuts = streaming.cuts(n);
        const reference = canon(await run(topic, ends, dir, cuts));
        const restartAfter = at % n;
        assert.deepEqual(canon(await run(topic, ends, dir, cuts, restartAfter)), reference);
      });
    }),
    { numRuns: 40 },
  );
});
