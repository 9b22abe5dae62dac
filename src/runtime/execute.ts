import type { Registry } from '../expr/functions.ts';
import type { Schema } from '../expr/types.ts';
import type { BoundFlow } from '../plan/bind.ts';
import { flowFingerprint } from '../plan/fingerprint.ts';
import type { Stage } from '../plan/stage.ts';
import type { Batch } from './batch.ts';
import { buildOperator } from './build.ts';
import { driveSources } from './drive-sources.ts';
import { liveColumns } from './liveness.ts';
import { counted, fanOut, isComplete, newMetrics, type Operator, type Output, type StageMetrics } from './operator.ts';
import type { QuarantineEntry } from './quarantine.ts';
import { RunError } from './run-error.ts';
import { SourceRun } from './source-run.ts';
import { SourceWatermark } from './source-watermark.ts';

export { RunError } from './run-error.ts';

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
  /**
   * True for a source that waits for new data (a followed file): it runs concurrently with the others, and only such
   * a source can go idle (M7). A bounded source (the default) is read to its end, one at a time.
   */
  readonly unbounded?: boolean;
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
   * The run's processing-time clock (ms). Read at each source chunk and each probe timer; when it has moved on,
   * operators with processing-time triggers are told, and live sources with an idle timeout are probed on it (M7.2).
   * Without one, processing time never advances and no source goes idle (batch runs need none).
   */
  clock?(): number;
  /**
   * Resolves after `ms` of processing time, or at once when `signal` aborts. While no source has a chunk, the
   * executor waits on it to probe idle sources (M7.2) and move processing time on; without it, that happens only
   * when a chunk arrives.
   */
  wait?(ms: number, signal: AbortSignal): Promise<void>;
}

export interface StageResult {
  readonly stage: Stage;
  readonly metrics: StageMetrics;
  /** Where a sink or SQL model published its output. */
  readonly location?: string;
}

export interface FlowResult {
  readonly flow: string;
  /** The fingerprint of the flow version that ran (reliability §2.7). */
  readonly fingerprint: string;
  readonly stages: readonly StageResult[];
  readonly ms: number;
}

/**
 * Runs one bound flow to completion: builds the operator graph, drives the sources through it batch by batch
 * (unbounded ones concurrently, see `driveSources`), then commits the sinks and runs the SQL models. If anything
 * fails, every sink is aborted: readers never see a partial result.
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
    const outputs = new Map<string, Output>();
    const outputOf = (s: Stage): Output => {
      let o = outputs.get(s.id);
      if (o === undefined) {
        o = counted(
          fanOut(
            (consumers.get(s.id) ?? []).filter((c) => !isSide(c.stage)).map(({ stage, port }) => inputOf(stage, port)),
          ),
          metrics.get(s.id) as StageMetrics,
        );
        outputs.set(s.id, o);
      }
      return o;
    };
    const byId = new Map(stages.map((s) => [s.id, s]));
    // A `lateRecords` stage reads its input's side output (the records a windowed aggregate dropped), not its rows.
    const isSide = (id: string): boolean => byId.get(id)?.node?.op === 'lateRecords';
    const sideOf = (s: Stage): Output | undefined => {
      const side = (consumers.get(s.id) ?? []).filter((c) => isSide(c.stage));
      return side.length === 0 ? undefined : fanOut(side.map(({ stage, port }) => inputOf(stage, port)));
    };
    // Operators are looked up at call time: a stage's output is made before the stages it feeds are built.
    const inputOf = (stage: string, port: number): Output => ({
      push: (b: Batch) => (operators.get(stage) as Operator).push(port, b),
      watermark: (wm: number) => (operators.get(stage) as Operator).watermark(port, wm),
      idle: (idle: boolean) => {
        const op = operators.get(stage) as Operator;
        if (op.idle !== undefined) op.idle(port, idle);
        // A single-input stage's status is its input's (M7); filter, project, map and the rest need not say so.
        else if (byId.get(stage)?.inputs.length === 1) outputOf(byId.get(stage) as Stage).idle?.(idle);
      },
    });
    const schemaOf = (id: string): Schema => stages.find((x) => x.id === id)?.schema as Schema;
    for (const s of stages) {
      const m = metrics.get(s.id) as StageMetrics;
      if (s.kind === 'transform') {
        operators.set(
          s.id,
          timed(buildOperator(s, s.inputs.map(schemaOf), registry, outputOf(s), m, live.get(s.id), sideOf(s)), m),
        );
      } else if (s.kind === 'sink') {
        operators.set(
          s.id,
          sinkOperator(sinks.get(s.id) as SinkWriter, m, () => ended.add(s.id)),
        );
      }
    }
    let now = Number.NEGATIVE_INFINITY;
    const tick = (): number | undefined => {
      const t = io.clock?.();
      if (t === undefined || t <= now) return t;
      now = t;
      for (const op of operators.values()) op.processingTime?.(t);
      return t;
    };
    const runs: SourceRun[] = [];
    for (const s of stages.filter((x) => x.kind === 'source'))
      runs.push(
        await openRun(runs.length, s, io, outputOf(s), metrics.get(s.id) as StageMetrics, name, live.get(s.id)),
      );
    const first = drainedFirst(stages, consumers);
    await driveSources(
      runs,
      runs.filter((r) => !r.unbounded && first.has(r.stage.id)),
      io.wait === undefined ? { now: tick } : { now: tick, wait: io.wait.bind(io) },
    );
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
      fingerprint: flowFingerprint(bound),
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

/** Opens one source and its watermark strategy (M6, M7); nothing is read yet. */
async function openRun(
  index: number,
  s: Stage,
  io: FlowIO,
  out: Output,
  metrics: StageMetrics,
  flow: string,
  live: readonly boolean[] | undefined,
): Promise<SourceRun> {
  const node = s.node;
  if (node?.op !== 'read') throw new RunError(`stage ${s.id} is not a read`, flow, s.id);
  const fields = node.dataset.contract?.schema.fields ?? [];
  const timeCol =
    node.watermark === undefined ? -1 : fields.findIndex((f) => f.name === node.dataset.contract?.eventTime);
  // The strategy reads the event-time column even when no stage downstream does.
  const readLive = live !== undefined && timeCol >= 0 ? live.map((x, c) => x || c === timeCol) : live;
  const strategy = node.watermark === undefined || timeCol < 0 ? undefined : new SourceWatermark(node.watermark);
  const reader = await io.openSource(s, readLive);
  return new SourceRun(index, s, {
    reader,
    out,
    metrics,
    timeCol,
    io,
    flow,
    ...(strategy === undefined ? {} : { strategy }),
  });
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
  const idle = op.idle?.bind(op);
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
    // Kept absent when the operator has none: the executor then forwards the status itself.
    ...(idle === undefined
      ? {}
      : {
          idle(port: number, isIdle: boolean) {
            const t0 = performance.now();
            idle(port, isIdle);
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
 * Inputs an operator reads whole before the others stream through: the build side of a hash join, the table side of
 * a temporal join. A bounded source feeding one is drained before the other sources start, so the streaming side
 * passes through instead of waiting in memory.
 */
const DRAINED_FIRST: readonly { readonly op: string; readonly port: number }[] = [
  { op: 'join', port: 1 },
  { op: 'temporalJoin', port: 1 },
];

/** Ids of the sources that feed a {@link DRAINED_FIRST} input, directly or through other stages. */
function drainedFirst(
  stages: readonly Stage[],
  consumers: Map<string, { stage: string; port: number }[]>,
): Set<string> {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const feeds = (id: string, seen = new Set<string>()): boolean => {
    if (seen.has(id)) return false;
    seen.add(id);
    return (consumers.get(id) ?? []).some(({ stage, port }) => {
      const op: string | undefined = byId.get(stage)?.op;
      return DRAINED_FIRST.some((d) => d.op === op && d.port === port) || feeds(stage, seen);
    });
  };
  return new Set(stages.filter((s) => s.kind === 'source' && feeds(s.id)).map((s) => s.id));
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
