import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { count } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { type Flow, flow, write } from '../flow/flow.ts';
import { type Rel, read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import type { Stage } from '../plan/stage.ts';
import { boundedOutOfOrderness, monotonic, type WatermarkStrategy } from '../time/watermarks.ts';
import { fixed } from '../time/windows.ts';
import type { Batch } from './batch.ts';
import { type FlowIO, RunError, runFlow, type SourceChunk } from './execute.ts';
import { newMetrics } from './operator.ts';
import { SourceRun } from './source-run.ts';
import { SourceWatermark } from './source-watermark.ts';
import { runTest, TestClock, type TestRow, type TestStream, testIO, testStream } from './testing.ts';

const fields = { page: t.string(), at: t.timestamp() };
const left = dataset('t.left', { contract: contract({ eventTime: 'at', fields }) });
const right = dataset('t.right', { contract: contract({ eventTime: 'at', fields }) });
const rowsOut = dataset('t.rows', { owner: 'o', contract: contract({ content: 'open', fields }) });
const counts = dataset('t.counts', {
  owner: 'o',
  contract: contract({ content: 'open', fields: { page: t.string() } }),
});

const click = (page: string, at: number): TestRow => ({ page, at });
const flowOf = (rel: Rel, to = rowsOut): Flow => flow({ name: 'f', owner: 'o', sla: '1m', outputs: [write(to, rel)] });

describe('sources run concurrently', () => {
  test('two live sources interleave: the lower watermark goes first, neither waits for the other to end', async () => {
    const rel = read(left, { watermark: monotonic() }).union(read(right, { watermark: monotonic() }));
    const a = testStream(left)
      .addElements(click('a', 1_000))
      .addElements(click('a', 3_000))
      .addElements(click('a', 5_000));
    const b = testStream(right)
      .addElements(click('b', 2_000))
      .addElements(click('b', 4_000))
      .addElements(click('b', 6_000));
    const r = await runTest(flowOf(rel), [a, b]);
    assert.deepEqual(
      (r.rows.get('t.rows') ?? []).map((x) => x.at),
      [1_000, 2_000, 3_000, 4_000, 5_000, 6_000],
    );
  });

  test('streams interleave in processing-time order on the test clock', async () => {
    const rel = read(left).union(read(right));
    const a = testStream(left).addElements(click('a', 1)).advanceProcessingTime('10s').addElements(click('a', 2));
    const b = testStream(right)
      .advanceProcessingTime('5s')
      .addElements(click('b', 1))
      .advanceProcessingTime('10s')
      .addElements(click('b', 2));
    const r = await runTest(flowOf(rel), [a, b]);
    assert.deepEqual(
      (r.rows.get('t.rows') ?? []).map((x) => `${x.page}${x.at}`),
      ['a1', 'b1', 'a2', 'b2'],
    );
  });

  test('an error in one source aborts the run, closes the other source and aborts the sinks', async () => {
    const registry = createRegistry();
    const bound = bindFlow(flowOf(read(left).union(read(right))), registry);
    assert.deepEqual(bound.findings, []);
    const { io } = testIO(bound.stages, []);
    let closed = false;
    let aborted = false;
    const failing = async function* (): AsyncGenerator<SourceChunk> {
      yield { batch: { length: 1, columns: [['a'], [1]] }, rejected: [] };
      throw new Error('disk gone');
    };
    const failingIO: FlowIO = {
      ...io,
      async openSource(s) {
        if (s.dataset?.name === 't.left') return { unbounded: true, chunks: failing };
        return { unbounded: true, chunks: () => ({ [Symbol.asyncIterator]: () => silent(() => (closed = true)) }) };
      },
      async openSink(s) {
        const sink = await io.openSink(s);
        return {
          ...sink,
          async abort() {
            aborted = true;
          },
        };
      },
    };
    await assert.rejects(
      runFlow(bound, registry, failingIO),
      (e) => e instanceof RunError && /disk gone/.test(e.message),
    );
    assert.equal(closed, true, 'the other source was closed with return()');
    assert.equal(aborted, true);
  });
});

describe('which sources run when', () => {
  test("a bounded source feeding a join's build side is drained before a live source starts", async () => {
    const registry = createRegistry();
    const rel = read(left).join(read(right).select('page'), { on: 'page' });
    const bound = bindFlow(flowOf(rel), registry);
    assert.deepEqual(bound.findings, []);
    const { io, rows } = testIO(bound.stages, []);
    const log: string[] = [];
    const chunk = (page: string): SourceChunk => ({ batch: { length: 1, columns: [[page], [1]] }, rejected: [] });
    const logged: FlowIO = {
      ...io,
      async openSource(s) {
        const build = s.dataset?.name === 't.right';
        const name = build ? 'build' : 'probe';
        async function* chunks(): AsyncGenerator<SourceChunk> {
          for (const page of ['a', 'b']) {
            log.push(`${name}:${page}`);
            yield chunk(page);
          }
          log.push(`${name}:end`);
        }
        return build ? { chunks } : { unbounded: true, chunks };
      },
    };
    await runFlow(bound, registry, logged);
    assert.deepEqual(log, ['build:a', 'build:b', 'build:end', 'probe:a', 'probe:b', 'probe:end']);
    assert.equal(rows.get('t.rows')?.length, 2);
  });

  test('a bounded source never goes idle, whatever its idle timeout (M7)', () => {
    const strategy = new SourceWatermark(boundedOutOfOrderness(0, { idleTimeout: 10 }));
    const out = { push: () => undefined, watermark: () => undefined, idle: () => assert.fail('went idle') };
    const spec = { out, metrics: newMetrics(), strategy, timeCol: 1, flow: 'f' };
    const io = testIO([], []).io;
    const bounded = new SourceRun(0, { id: 's' } as Stage, { ...spec, io });
    bounded.arm({ chunks: nothingToRead }, true);
    bounded.probe(0);
    bounded.probe(1_000_000);
    assert.equal(bounded.idle, false);
    const live = new SourceRun(0, { id: 's' } as Stage, {
      ...spec,
      io,
      out: { ...out, idle: () => undefined },
    });
    live.arm({ unbounded: true, chunks: nothingToRead }, true);
    live.probe(0);
    live.probe(1_000_000);
    assert.equal(live.idle, true);
  });
});

async function* nothingToRead(): AsyncGenerator<SourceChunk> {}

/** A live source that never has data: `next()` waits until `return()` closes it. */
function silent(onClose: () => void): AsyncIterator<SourceChunk> {
  let release: ((r: IteratorResult<SourceChunk>) => void) | undefined;
  return {
    next: () =>
      new Promise<IteratorResult<SourceChunk>>((resolve) => {
        release = resolve;
      }),
    async return() {
      onClose();
      release?.({ done: true, value: undefined });
      return { done: true, value: undefined };
    },
  };
}

describe('idle inputs (M7) across a union', () => {
  const IDLE = 30_000;
  const perMinute = (strategy: WatermarkStrategy): Rel =>
    read(left, { watermark: strategy })
      .union(read(right, { watermark: strategy }))
      .window(fixed('1m'))
      .groupBy('page')
      .agg({ views: count() })
      .stage('win');
  // The left stream moves on in event time and, every 10 s, in processing time; the right one sends one view and
  // falls silent for 5 minutes, then sends a view from the first minute.
  const busy = testStream(left)
    .addElements(click('p', 1_000))
    .advanceProcessingTime('10s')
    .addElements(click('p', 61_000))
    .advanceProcessingTime('10s')
    .advanceProcessingTime('10s')
    .advanceProcessingTime('10s')
    .advanceProcessingTime('10s')
    .advanceProcessingTime('10s');
  const quiet = testStream(right)
    .addElements(click('p', 2_000))
    .advanceProcessingTime('5m')
    .addElements(click('p', 10_000));

  /** Runs the flow; each output row carries the processing time at which the sink received it. */
  async function run(strategy: WatermarkStrategy, streams: readonly TestStream[]) {
    const registry = createRegistry();
    const bound = bindFlow(flowOf(perMinute(strategy), counts), registry);
    assert.deepEqual(bound.findings, []);
    const clock = new TestClock();
    const { io, rows } = testIO(bound.stages, streams, clock);
    const at: number[] = [];
    const timed: FlowIO = {
      ...io,
      async openSink(s) {
        const sink = await io.openSink(s);
        return {
          ...sink,
          write(b: Batch) {
            for (let i = 0; i < b.length; i++) at.push(clock.now());
            sink.write(b);
          },
        };
      },
    };
    const result = await runFlow(bound, registry, timed);
    const win = result.stages.find((s) => s.stage.id === 'win')?.metrics;
    const panes = (rows.get('t.counts') ?? []).map((x, i) => `${x.window_start}:${x.views}@${at[i]}`);
    return { panes, lateDropped: win?.lateDropped };
  }

  test('without an idle timeout the silent stream holds every window until it speaks again', async () => {
    const r = await run(boundedOutOfOrderness(0), [busy, quiet]);
    assert.deepEqual(r.panes, ['0:3@300000', '60000:1@300000']);
    assert.equal(r.lateDropped, 0);
  });

  test('with one, the other stream’s windows fire once the clock passes the timeout; later rows are late', async () => {
    const r = await run(boundedOutOfOrderness(0, { idleTimeout: IDLE }), [busy, quiet]);
    // The right stream's last record is seen at 0 s; the countdown starts at the next probe without a record (10 s),
    // and the stream is idle at the first probe strictly more than 30 s later (50 s). Its view from 10 s, back at
    // 5 min, is behind the union's watermark (61 s): late, and dropped without allowed lateness.
    assert.deepEqual(r.panes, ['0:2@50000', '60000:1@300000']);
    assert.equal(r.lateDropped, 1);
  });
});
