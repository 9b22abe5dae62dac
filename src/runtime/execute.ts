import type { Registry } from '../expr/functions.ts';
import type { Schema } from '../expr/types.ts';
import type { BoundFlow } from '../plan/bind.ts';
import type { Stage } from '../plan/stage.ts';
import { MAX_TIMESTAMP, MIN_TIMESTAMP } from '../time/timestamps.ts';
import type { Batch } from './batch.ts';
import { buildOperator } from './build.ts';
import { liveColumns } from './liveness.ts';
import { counted, fanOut, isComplete, newMetrics, type Operator, type Output, type StageMetrics } from './operator.ts';
import { describeEntry, type QuarantineEntry } from './quarantine.ts';
import { SourceWatermark } from './source-watermark.ts';

/** What a source connector hands the runtime: a batch of valid records and the records its contract refused. */
export interface SourceChunk {
  readonly batch: Batch;
  readonly rejected: readonly QuarantineEntry[];
  /** Bytes (or rows) read so far and in total, for progress display. */
  readonly progress?: { readonly done: number; readonly total: number };
  /**
   * The source's watermark after this chunk (M1). Bounded sources leave it out: their watermark stays at −∞ while
   * they are read and the executor publishes +∞ when they are exhausted (M5).
   */
  readonly watermark?: number;
}

export interface SourceReader {
  chunks(): AsyncIterable<SourceChunk>;
}

/** A sink connector: buffers or stages writes synchronously, publishes atomically on commit. */
export interface SinkWriter {
  write(batch: Batch): void;
  /** Publishes everything written; returns where it went, for the run summary. */
  commit(): Promise<string>;
  /** Throws away everything written. Must be safe to call after a failed commit. */
  abort(): Promise<void>;
}

/** The I/O a flow run needs, provided by the connectors layer. The runtime itself does no I/O. */
export interface FlowIO {
  /**
   * `live[c]` tells whether field c of the contract is read downstream. A source checks every field all the same,
   * but may hand an unread one on as an empty column (no stage reads it).
   */
  openSource(stage: Stage, live?: readonly boolean[]): Promise<SourceReader>;
  openSink(stage: Stage): Promise<SinkWriter>;
  /** Runs a SQL model; returns the number of rows it wrote and where. */
  runSql(stage: Stage): Promise<{ rows: number; location: string }>;
  /** Dataset names a SQL model reads, to order models within a flow. */
  sqlInputs(stage: Stage): readonly string[];
  /** Records quarantined by a stage; committed with the run. */
  quarantine(stage: Stage, entries: readonly QuarantineEntry[]): void;
  onProgress?(stage: Stage, done: number, total: number): void;
  /**
   * The run's processing-time clock (ms). Read after each source chunk; when it has moved on, operators with
   * processing-time triggers are told. Without one, processing time never advances (batch runs need none).
   */
  clock?(): number;
}

export interface StageResult {
  readonly stage: Stage;
  readonly metrics: StageMetrics;
  /** Where a sink or SQL model published its output. */
  readonly location?: string;
}

export interface FlowResult {
  readonly flow: string;
  readonly stages: readonly StageResult[];
  readonly ms: number;
}

/** A run that stopped: the message names the flow, the stage and what to do. */
export class RunError extends Error {
  constructor(
    message: string,
    readonly flow: string,
    readonly stage?: string,
  ) {
    super(message);
    this.name = 'RunError';
  }
}

/**
 * Runs one bound flow to completion: builds the operator graph, drives every source through it batch by batch,
 * then commits the sinks and runs the SQL models. If anything fails, every sink is aborted: readers never see a
 * partial result.
 */
export async function runFlow(bound: BoundFlow, registry: Registry, io: FlowIO): Promise<FlowResult> {
  const started = performance.now();
  const name = bound.flow.name;
  const stages = bound.stages;
  const metrics = new Map(stages.map((s) => [s.id, newMetrics()]));
  const consumers = consumersOf(stages);
  const sinks = new Map<string, SinkWriter>();
  const ended = new Set<string>();
  const operators = new Map<string, Operator>();
  const live = liveColumns(stages);
  try {
    for (const s of stages) if (s.kind === 'sink') sinks.set(s.id, await io.openSink(s));
    const outputOf = (s: Stage): Output =>
      counted(
        fanOut(
          (consumers.get(s.id) ?? []).map(({ stage, port }) => ({
            push: (b: Batch) => (operators.get(stage) as Operator).push(port, b),
            watermark: (wm: number) => (operators.get(stage) as Operator).watermark(port, wm),
          })),
        ),
        metrics.get(s.id) as StageMetrics,
      );
    const schemaOf = (id: string): Schema => stages.find((x) => x.id === id)?.schema as Schema;
    for (const s of stages) {
      const m = metrics.get(s.id) as StageMetrics;
      if (s.kind === 'transform') {
        operators.set(
          s.id,
          timed(buildOperator(s, s.inputs.map(schemaOf), registry, outputOf(s), m, live.get(s.id)), m),
        );
      } else if (s.kind === 'sink') {
        operators.set(
          s.id,
          sinkOperator(sinks.get(s.id) as SinkWriter, m, () => ended.add(s.id)),
        );
      }
    }
    let now = Number.NEGATIVE_INFINITY;
    const tick = (): void => {
      const t = io.clock?.();
      if (t === undefined || t <= now) return;
      now = t;
      for (const op of operators.values()) op.processingTime?.(t);
    };
    for (const s of sourceOrder(stages, consumers))
      await drive(s, io, outputOf(s), metrics.get(s.id) as StageMetrics, name, live.get(s.id), tick);
    for (const s of stages) {
      if (s.kind === 'sink' && !ended.has(s.id))
        throw new RunError(`stage ${s.id} never saw the end of its input`, name, s.id);
    }
    const locations = new Map<string, string>();
    for (const [id, sink] of sinks) locations.set(id, await sink.commit());
    for (const s of sqlOrder(stages, io)) {
      const t0 = performance.now();
      const r = await io.runSql(s);
      const m = metrics.get(s.id) as StageMetrics;
      m.out = r.rows;
      m.ms = performance.now() - t0;
      locations.set(s.id, r.location);
    }
    return {
      flow: name,
      stages: stages.map((s) => ({
        stage: s,
        metrics: metrics.get(s.id) as StageMetrics,
        ...(locations.has(s.id) ? { location: locations.get(s.id) } : {}),
      })),
      ms: performance.now() - started,
    };
  } catch (e) {
    for (const sink of sinks.values()) await sink.abort().catch(() => undefined);
    if (e instanceof RunError) throw e;
    throw new RunError(`flow ${name}: ${(e as Error).message}`, name);
  }
}

async function drive(
  s: Stage,
  io: FlowIO,
  out: Output,
  m: StageMetrics,
  flow: string,
  live: readonly boolean[] | undefined,
  tick: () => void,
): Promise<void> {
  const node = s.node;
  if (node?.op !== 'read') throw new RunError(`stage ${s.id} is not a read`, flow, s.id);
  const fields = node.dataset.contract?.schema.fields ?? [];
  const timeCol =
    node.watermark === undefined ? -1 : fields.findIndex((f) => f.name === node.dataset.contract?.eventTime);
  // The strategy reads the event-time column even when no stage downstream does.
  const readLive = live !== undefined && timeCol >= 0 ? live.map((x, c) => x || c === timeCol) : live;
  const strategy = node.watermark === undefined || timeCol < 0 ? undefined : new SourceWatermark(node.watermark);
  const reader = await io.openSource(s, readLive);
  const t0 = performance.now();
  let published = MIN_TIMESTAMP;
  for await (const chunk of reader.chunks()) {
    m.in += chunk.batch.length + chunk.rejected.length;
    if (chunk.rejected.length > 0) {
      if (node.onInvalid === 'fail') {
        const first = chunk.rejected[0];
        throw new RunError(
          `flow ${flow}, stage ${s.id}: ${describeEntry(first)} (contract ${node.dataset.name} v${node.dataset.contract?.version ?? '?'}); fix the input, or read it with { onInvalid: 'quarantine', errorBudget: N } to set bad records aside`,
          flow,
          s.id,
        );
      }
      m.quarantined += chunk.rejected.length;
      io.quarantine(s, chunk.rejected);
      const budget = node.errorBudget ?? 0;
      if (budget !== 'unlimited' && m.quarantined > budget) {
        throw new RunError(
          `flow ${flow}, stage ${s.id}: ${m.quarantined} records quarantined, over the error budget of ${budget}; last: ${describeEntry(chunk.rejected[chunk.rejected.length - 1])}`,
          flow,
          s.id,
        );
      }
    }
    if (chunk.progress !== undefined) io.onProgress?.(s, chunk.progress.done, chunk.progress.total);
    tick();
    out.push(chunk.batch);
    const derived = strategy?.observe(chunk.batch.columns[timeCol], chunk.batch.length);
    const wm = Math.max(chunk.watermark ?? MIN_TIMESTAMP, derived ?? MIN_TIMESTAMP);
    // Downstream sees only rises (M1), so an input that already reached +∞ does not end twice.
    if (wm > published) {
      published = wm;
      out.watermark(published);
    }
  }
  if (published < MAX_TIMESTAMP) out.watermark(MAX_TIMESTAMP);
  m.ms += performance.now() - t0;
}

function sinkOperator(sink: SinkWriter, m: StageMetrics, onEnd: () => void): Operator {
  return {
    push(_port, batch) {
      m.in += batch.length;
      m.out += batch.length;
      sink.write(batch);
    },
    watermark(_port, wm) {
      if (isComplete(wm)) onEnd();
    },
  };
}

/** Adds the time of each call to the stage; `counted` takes back what downstream stages spent inside it. */
function timed(op: Operator, m: StageMetrics): Operator {
  const pt = op.processingTime?.bind(op);
  return {
    ...(pt === undefined
      ? {}
      : {
          processingTime(now: number) {
            const t0 = performance.now();
            pt(now);
            m.ms += performance.now() - t0;
          },
        }),
    push(port, batch) {
      const t0 = performance.now();
      op.push(port, batch);
      m.ms += performance.now() - t0;
    },
    watermark(port, wm) {
      const t0 = performance.now();
      op.watermark(port, wm);
      m.ms += performance.now() - t0;
    },
  };
}

function consumersOf(stages: readonly Stage[]): Map<string, { stage: string; port: number }[]> {
  const out = new Map<string, { stage: string; port: number }[]>();
  for (const s of stages) {
    s.inputs.forEach((input, port) => {
      const list = out.get(input) ?? [];
      list.push({ stage: s.id, port });
      out.set(input, list);
    });
  }
  return out;
}

/**
 * Sources that feed the build side of a join run first, so the probe side streams through instead of waiting in
 * memory.
 */
function sourceOrder(stages: readonly Stage[], consumers: Map<string, { stage: string; port: number }[]>): Stage[] {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const feedsBuildSide = (id: string, seen = new Set<string>()): boolean => {
    if (seen.has(id)) return false;
    seen.add(id);
    return (consumers.get(id) ?? []).some(
      ({ stage, port }) => (byId.get(stage)?.op === 'join' && port === 1) || feedsBuildSide(stage, seen),
    );
  };
  const sources = stages.filter((s) => s.kind === 'source');
  return [...sources.filter((s) => feedsBuildSide(s.id)), ...sources.filter((s) => !feedsBuildSide(s.id))];
}

/** SQL models in an order where a model runs after the models (of this flow) whose datasets it reads. */
function sqlOrder(stages: readonly Stage[], io: FlowIO): Stage[] {
  const models = stages.filter((s) => s.kind === 'sql');
  const done: Stage[] = [];
  const visit = (s: Stage, path: Set<Stage>): void => {
    if (done.includes(s) || path.has(s)) return;
    path.add(s);
    for (const input of io.sqlInputs(s)) {
      const dep = models.find((m) => m.dataset?.name === input);
      if (dep !== undefined) visit(dep, path);
    }
    done.push(s);
  };
  for (const s of models) visit(s, new Set());
  return done;
}
