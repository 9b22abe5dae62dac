import { createRegistry, type Registry } from '../expr/functions.ts';
import type { Value } from '../expr/types.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { Flow } from '../flow/flow.ts';
import { bindFlow } from '../plan/bind.ts';
import { formatFinding } from '../plan/findings.ts';
import type { Stage } from '../plan/stage.ts';
import { type Duration, durationMs } from '../time/invalid.ts';
import { isTime, MAX_TIMESTAMP } from '../time/timestamps.ts';
import type { Batch } from './batch.ts';
import { type FlowIO, runFlow, type SourceChunk } from './execute.ts';
import type { StageMetrics } from './operator.ts';
import { checkValue } from './value-check.ts';

/** A row as tests write it: runtime values (timestamps in ms since the epoch, decimals as numbers). */
export type TestRow = Readonly<Record<string, Value>>;

/** One step of a {@link TestStream}. */
export type TestEvent =
  | { readonly kind: 'elements'; readonly rows: readonly TestRow[] }
  | { readonly kind: 'watermark'; readonly to: number }
  | { readonly kind: 'processingTime'; readonly by: number };

/**
 * A scripted input for tests, in place of a dataset's storage: bundles of rows, watermark advances and
 * processing-time advances, in order. Each `addElements` call is one bundle (one batch). A test stream is a live
 * (unbounded) input: the test streams of a run are read concurrently, one read with an idle timeout can go idle
 * (M7), and after its last step the stream ends with its watermark at +∞ (the input is complete). Builders return
 * new values.
 * @example
 * testStream(clicks).addElements({ user: 'a', at: 1_000 }).advanceWatermark(60_000).advanceProcessingTime('1m')
 */
export class TestStream {
  /** @internal */
  constructor(
    readonly dataset: Dataset,
    readonly events: readonly TestEvent[],
  ) {}

  addElements(...rows: TestRow[]): TestStream {
    const fields = this.dataset.contract?.schema.fields ?? [];
    for (const [i, row] of rows.entries()) {
      for (const f of fields) {
        const problem = checkValue(row[f.name] ?? null, f);
        if (problem !== null)
          throw new Error(`testStream(${this.dataset.name}).addElements: row ${i + 1}, '${f.name}': ${problem}`);
      }
    }
    return this.then({ kind: 'elements', rows });
  }

  /** Promises no later row has an event time below `t` (ms, M1). A step back is an error in the test. */
  advanceWatermark(t: number): TestStream {
    if (!isTime(t)) throw new RangeError(`advanceWatermark: give integer ms; got ${t}`);
    const last = this.watermark();
    if (t < last)
      throw new RangeError(`advanceWatermark(${t}): the watermark is already ${last} and never goes back (M1)`);
    return this.then({ kind: 'watermark', to: t });
  }

  advanceWatermarkToInfinity(): TestStream {
    return this.advanceWatermark(MAX_TIMESTAMP);
  }

  /**
   * Moves this stream's processing time on by `by` (ms or duration text): its next steps come once the run's
   * {@link TestClock} has reached that time, and the executor sees the clock move. Nothing sleeps.
   */
  advanceProcessingTime(by: Duration): TestStream {
    const ms = durationMs('advanceProcessingTime', by);
    if (ms < 0) throw new RangeError(`advanceProcessingTime: processing time never goes back; got ${ms}`);
    return this.then({ kind: 'processingTime', by: ms });
  }

  private watermark(): number {
    let wm = -Number.MAX_SAFE_INTEGER;
    for (const e of this.events) if (e.kind === 'watermark') wm = e.to;
    return wm;
  }

  private then(e: TestEvent): TestStream {
    return new TestStream(this.dataset, [...this.events, e]);
  }
}

/** A scripted input for `dataset`; with no steps it is an empty bounded input. */
export function testStream(dataset: Dataset): TestStream {
  return new TestStream(dataset, []);
}

/**
 * A processing-time clock that only test streams move (ms, starting at `t`). It is a discrete-event clock: a test
 * stream that advances processing time waits for the clock, and the clock moves on once every test stream of the run
 * waits, to the earliest time one of them waits for. So several streams interleave in processing-time order, and a
 * stream can stay silent for a while without anything sleeping.
 */
export class TestClock {
  private readonly waiters: { readonly at: number; readonly wake: () => void }[] = [];
  private streams = 0;

  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  /** Moves the clock on by hand; streams waiting for a time now reached go on. */
  advance(by: number): void {
    this.t += by;
    this.wakeDue();
  }

  /** @internal A test stream starts: the clock now also waits for it before moving on. */
  join(): void {
    this.streams++;
  }

  /** @internal A test stream ended. */
  leave(): void {
    this.streams--;
    this.step();
  }

  /** @internal Resolves once the clock has reached `t`. */
  until(t: number): Promise<void> {
    if (t <= this.t) return Promise.resolve();
    return new Promise((wake) => {
      this.waiters.push({ at: t, wake });
      this.step();
    });
  }

  /** Every stream waits: nothing else can happen before the earliest time waited for. */
  private step(): void {
    if (this.waiters.length === 0 || this.waiters.length < this.streams) return;
    let next = Number.POSITIVE_INFINITY;
    for (const w of this.waiters) if (w.at < next) next = w.at;
    if (next > this.t) this.t = next;
    this.wakeDue();
  }

  private wakeDue(): void {
    const due = this.waiters.filter((w) => w.at <= this.t);
    if (due.length === 0) return;
    const rest = this.waiters.filter((w) => w.at > this.t);
    this.waiters.length = 0;
    this.waiters.push(...rest);
    for (const w of due) w.wake();
  }
}

/** What a test run produced: the rows each output dataset received, and every stage's counts. */
export interface TestRunResult {
  readonly rows: ReadonlyMap<string, readonly TestRow[]>;
  readonly metrics: ReadonlyMap<string, StageMetrics>;
}

/**
 * An in-memory {@link FlowIO}: sources replay test streams (a dataset without one reads as empty), sinks collect
 * rows by dataset name, and processing time comes from `clock`.
 */
export function testIO(
  stages: readonly Stage[],
  streams: readonly TestStream[],
  clock: TestClock = new TestClock(),
): { io: FlowIO; rows: Map<string, TestRow[]> } {
  const rows = new Map<string, TestRow[]>();
  const io: FlowIO = {
    async openSource(s) {
      const stream = streams.find((x) => x.dataset.name === s.dataset?.name);
      if (stream === undefined) return { chunks: nothing };
      return {
        unbounded: true,
        chunks: () => {
          // Counted when the executor creates the reader, so the clock waits for a stream that has not run yet.
          clock.join();
          return replay(stream, clock);
        },
      };
    },
    async openSink(s) {
      const fields = stages.find((x) => x.id === s.inputs[0])?.schema?.fields ?? [];
      const got: TestRow[] = [];
      return {
        write(b: Batch) {
          for (let i = 0; i < b.length; i++)
            got.push(Object.fromEntries(fields.map((f, c) => [f.name, b.columns[c][i]])));
        },
        async commit() {
          rows.set(s.dataset?.name ?? s.id, got);
          return 'memory';
        },
        async abort() {},
      };
    },
    async runSql(s) {
      throw new Error(`stage ${s.id}: SQL models do not run in testIO`);
    },
    sqlInputs: () => [],
    quarantine() {},
    clock: () => clock.now(),
  };
  return { io, rows };
}

/** A dataset without a test stream: an empty bounded input. */
async function* nothing(): AsyncGenerator<SourceChunk> {}

async function* replay(stream: TestStream, clock: TestClock): AsyncGenerator<SourceChunk> {
  const fields = stream.dataset.contract?.schema.fields ?? [];
  const empty: Batch = { length: 0, columns: fields.map(() => []) };
  let at = clock.now();
  try {
    for (const e of stream.events) {
      switch (e.kind) {
        case 'elements':
          yield {
            batch: { length: e.rows.length, columns: fields.map((f) => e.rows.map((r) => r[f.name] ?? null)) },
            rejected: [],
          };
          break;
        case 'watermark':
          yield { batch: empty, rejected: [], watermark: e.to };
          break;
        case 'processingTime':
          at += e.by;
          await clock.until(at);
          yield { batch: empty, rejected: [] };
          break;
        default:
          e satisfies never;
      }
    }
  } finally {
    clock.leave();
  }
}

/**
 * Binds and runs a flow through the one engine with test streams as its sources; fails on any `napkin check`
 * finding of the flow, so a test never runs a flow that would not bind.
 */
export async function runTest(
  flow: Flow,
  streams: readonly TestStream[],
  options: { readonly registry?: Registry; readonly clock?: TestClock } = {},
): Promise<TestRunResult> {
  const registry = options.registry ?? createRegistry();
  const bound = bindFlow(flow, registry);
  if (bound.findings.length > 0) throw new Error(bound.findings.map(formatFinding).join('\n'));
  const { io, rows } = testIO(bound.stages, streams, options.clock);
  const result = await runFlow(bound, registry, io);
  return { rows, metrics: new Map(result.stages.map((s) => [s.stage.id, s.metrics])) };
}
