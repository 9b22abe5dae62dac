import type { Registry } from '../expr/functions.ts';
import type { Schema } from '../expr/types.ts';
import type { BoundFlow } from '../plan/bind.ts';
import { flowFingerprint } from '../plan/fingerprint.ts';
import type { Stage } from '../plan/stage.ts';
import type { Batch } from './batch.ts';
import { buildOperator } from './build.ts';
import { driveSources } from './drive-sources.ts';
import type { EpochCommit, FlowIO, FlowResult, SinkWriter, SourceReader } from './execute.ts';
import { liveColumns } from './liveness.ts';
import { counted, fanOut, isComplete, newMetrics, type Operator, type Output, type StageMetrics } from './operator.ts';
import { RunError } from './run-error.ts';
import { SourceRun } from './source-run.ts';
import { SourceWatermark } from './source-watermark.ts';
import { decodeState, encodeState } from './state-codec.ts';

/** Opens a source stage's reader for one stretch of input; `live` as in {@link FlowIO.openSource}. */
export type ReaderFor = (stage: Stage, live: readonly boolean[] | undefined) => Promise<SourceReader>;

/**
 * One run of a bound flow: its operator graph, sinks and sources, alive across epochs. `drive` pushes one stretch of
 * input through the graph (the whole input, or one epoch's range of the log, after which operator state, timers and
 * watermarks wait for the next); `commit` publishes what the sinks received since the last commit. While `muted`,
 * sinks drop what they receive: the run is rebuilding its state by replaying epochs the sinks already hold.
 */
export class FlowRun {
  muted = false;
  private readonly started = performance.now();
  private readonly ended = new Set<string>();
  private readonly locations = new Map<string, string>();
  /** Per stage, the last watermark it passed on (a sink: the last it received), for checkpoints and `napkin status`. */
  private readonly marks: Map<string, number>;

  private constructor(
    readonly bound: BoundFlow,
    private readonly io: FlowIO,
    readonly metrics: ReadonlyMap<string, StageMetrics>,
    private readonly sinks: ReadonlyMap<string, SinkWriter>,
    private readonly operators: ReadonlyMap<string, Operator>,
    private readonly sources: readonly SourceRun[],
    private readonly live: ReadonlyMap<string, readonly boolean[]>,
    marks: Map<string, number>,
  ) {
    this.marks = marks;
  }

  get name(): string {
    return this.bound.flow.name;
  }

  /** Opens the sinks and builds the operator graph; nothing is read yet. */
  static async open(bound: BoundFlow, registry: Registry, io: FlowIO): Promise<FlowRun> {
    const name = bound.flow.name;
    const stages = bound.stages;
    const metrics = new Map(stages.map((s) => [s.id, newMetrics()]));
    const sinks = new Map<string, SinkWriter>();
    try {
      for (const s of stages) if (s.kind === 'sink') sinks.set(s.id, await io.openSink(s));
      const marks = new Map<string, number>();
      const graph = buildGraph(bound, registry, metrics, marks);
      let run: FlowRun | undefined;
      const operators = graph.operators;
      for (const s of stages) {
        if (s.kind !== 'sink') continue;
        const sink = sinks.get(s.id) as SinkWriter;
        operators.set(
          s.id,
          sinkOperator(
            (b) => {
              if (!(run as FlowRun).muted) sink.write(b);
            },
            metrics.get(s.id) as StageMetrics,
            (wm) => {
              marks.set(s.id, wm);
              if (isComplete(wm)) (run as FlowRun).ended.add(s.id);
              sink.watermark?.(wm);
            },
            (idle) => sink.idle?.(idle),
          ),
        );
      }
      const sources = stages
        .filter((x) => x.kind === 'source')
        .map((s, i) => sourceRun(i, s, io, graph.outputOf(s), metrics.get(s.id) as StageMetrics, name));
      run = new FlowRun(bound, io, metrics, sinks, operators, sources, graph.live, marks);
      return run;
    } catch (e) {
      for (const sink of sinks.values()) await sink.abort().catch(() => undefined);
      throw asRunError(e, name);
    }
  }

  /**
   * Reads one stretch of input through the graph: a reader per source from `readerFor`. With `final`, each source's
   * end is the end of its input (+∞, M5) and every sink must have seen it; otherwise the sources stop where their
   * readers end, watermarks where they were.
   */
  async drive(readerFor: ReaderFor, final: boolean): Promise<void> {
    try {
      for (const r of this.sources)
        r.arm(await readerFor(r.stage, readLive(r.stage, this.live.get(r.stage.id))), final);
      const stages = this.bound.stages;
      const first = drainedFirst(stages, consumersOf(stages));
      let now = Number.NEGATIVE_INFINITY;
      const tick = (): number | undefined => {
        const t = this.io.clock?.();
        if (t === undefined || t <= now) return t;
        now = t;
        for (const op of this.operators.values()) op.processingTime?.(t);
        return t;
      };
      await driveSources(
        this.sources,
        this.sources.filter((r) => !r.unbounded && first.has(r.stage.id)),
        this.io.wait === undefined ? { now: tick } : { now: tick, wait: this.io.wait.bind(this.io) },
      );
      if (!final) return;
      for (const s of stages) {
        if (s.kind === 'sink' && !this.ended.has(s.id))
          throw new RunError(`stage ${s.id} never saw the end of its input`, this.name, s.id);
      }
    } catch (e) {
      throw asRunError(e, this.name);
    }
  }

  /**
   * Publishes what each sink received since the last commit; `epochOf` gives each sink its commit key. Every sink
   * first checks that it can commit (`SinkWriter.prepare`), so one that cannot (a damaged manifest) fails the epoch
   * before any sink has committed it, and the outputs never disagree about it.
   */
  async commit(epochOf?: (sink: Stage) => EpochCommit): Promise<void> {
    try {
      for (const s of this.bound.stages) await this.sinks.get(s.id)?.prepare?.(epochOf?.(s));
      for (const s of this.bound.stages) {
        const sink = this.sinks.get(s.id);
        if (sink !== undefined) this.locations.set(s.id, await sink.commit(epochOf?.(s)));
      }
    } catch (e) {
      throw asRunError(e, this.name);
    }
  }

  /** Runs the flow's SQL models, after its sinks committed. */
  async runSql(): Promise<void> {
    for (const [id, r] of await runSqlModels(this.bound, this.io)) {
      Object.assign(this.metrics.get(id) as StageMetrics, { out: r.rows, ms: r.ms });
      this.locations.set(id, r.location);
    }
  }

  /**
   * Per stage that has passed one on, its latest watermark (ms; {@link MAX_TIMESTAMP} once its input is complete): what
   * a checkpoint records so that `napkin status` can tell how far event time lags processing time.
   */
  watermarks(): Record<string, number> {
    return Object.fromEntries(this.marks);
  }

  /**
   * The state of every stateful operator and source between epochs, encoded (`state-codec.ts`) for `v8.serialize`;
   * it shares the plain parts with the live state, so serialize it before the run goes on. Throws
   * `StateNotCapturable` when some state cannot be encoded (a user combine function's accumulator of a class napkin
   * does not know). The sinks hold nothing between commits.
   */
  snapshot(): RunState {
    const stages: Record<string, unknown> = {};
    for (const [id, op] of this.operators) {
      const s = op.snapshot?.();
      if (s !== undefined) stages[id] = encodeState(s, `stage ${id}`);
    }
    const sources: Record<string, unknown> = {};
    for (const r of this.sources) sources[r.stage.id] = encodeState(r.snapshot(), `stage ${r.stage.id}`);
    return { stages, sources, marks: Object.fromEntries(this.marks) };
  }

  /**
   * Puts a {@link snapshot} of a run of the same flow version back on this fresh run, which then goes on as that
   * one would have. Each sink is told its input's watermark again, as a replay would have told it.
   */
  restore(state: RunState): void {
    for (const [id, op] of this.operators) {
      if (op.restore === undefined) continue;
      const s = state.stages[id];
      if (s === undefined) throw new Error(`flow ${this.name}: the state snapshot has no state for stage ${id}`);
      op.restore(decodeState(s));
    }
    for (const r of this.sources) {
      const s = state.sources[r.stage.id];
      if (s === undefined)
        throw new Error(`flow ${this.name}: the state snapshot has no state for source ${r.stage.id}`);
      r.restore(decodeState(s));
    }
    for (const [id, wm] of Object.entries(state.marks)) {
      this.marks.set(id, wm);
      this.sinks.get(id)?.watermark?.(wm);
    }
  }

  /** Sets the counters to those of a checkpoint (a replay must not count its records twice). */
  restoreMetrics(saved: Readonly<Record<string, StageMetrics>>): void {
    for (const [id, m] of this.metrics) {
      const s = saved[id];
      if (s !== undefined) Object.assign(m, s);
    }
  }

  result(): FlowResult {
    const locations = this.locations;
    return {
      flow: this.name,
      fingerprint: flowFingerprint(this.bound),
      stages: this.bound.stages.map((s) => ({
        stage: s,
        metrics: this.metrics.get(s.id) as StageMetrics,
        ...(locations.has(s.id) ? { location: locations.get(s.id) } : {}),
      })),
      ms: performance.now() - this.started,
    };
  }

  /** Throws away what the sinks received since their last commit; never throws. */
  async abort(): Promise<void> {
    for (const sink of this.sinks.values()) await sink.abort().catch(() => undefined);
  }
}

/** A run's state between epochs, as {@link FlowRun.snapshot} encodes it: by stage id. */
export interface RunState {
  readonly stages: Readonly<Record<string, unknown>>;
  readonly sources: Readonly<Record<string, unknown>>;
  readonly marks: Readonly<Record<string, number>>;
}

/** What one SQL model wrote, and how long it took. */
export interface SqlResult {
  readonly rows: number;
  readonly location: string;
  readonly ms: number;
}

/** Runs a flow's SQL models in dependency order; by stage id, what each wrote. */
export async function runSqlModels(bound: BoundFlow, io: FlowIO): Promise<Map<string, SqlResult>> {
  const out = new Map<string, SqlResult>();
  try {
    for (const s of sqlOrder(bound.stages, io)) {
      const t0 = performance.now();
      const r = await io.runSql(s);
      out.set(s.id, { ...r, ms: performance.now() - t0 });
    }
  } catch (e) {
    throw asRunError(e, bound.flow.name);
  }
  return out;
}

function asRunError(e: unknown, flow: string): RunError {
  return e instanceof RunError ? e : new RunError(`flow ${flow}: ${(e as Error).message}`, flow);
}

interface Graph {
  readonly operators: Map<string, Operator>;
  readonly outputOf: (s: Stage) => Output;
  readonly live: ReadonlyMap<string, readonly boolean[]>;
}

/** The transform operators of a flow, wired stage to stage; sinks are added by the caller. */
function buildGraph(
  bound: BoundFlow,
  registry: Registry,
  metrics: ReadonlyMap<string, StageMetrics>,
  marks: Map<string, number>,
): Graph {
  const stages = bound.stages;
  const consumers = consumersOf(stages);
  const operators = new Map<string, Operator>();
  const live = liveColumns(stages);
  const outputs = new Map<string, Output>();
  const byId = new Map(stages.map((s) => [s.id, s]));
  // A `lateRecords` stage reads its input's side output (the records a windowed aggregate dropped), not its rows.
  const isSide = (id: string): boolean => byId.get(id)?.node?.op === 'lateRecords';
  const outputOf = (s: Stage): Output => {
    let o = outputs.get(s.id);
    if (o === undefined) {
      o = marked(
        counted(
          fanOut(
            (consumers.get(s.id) ?? []).filter((c) => !isSide(c.stage)).map(({ stage, port }) => inputOf(stage, port)),
          ),
          metrics.get(s.id) as StageMetrics,
        ),
        s.id,
        marks,
      );
      outputs.set(s.id, o);
    }
    return o;
  };
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
  const schemaOf = (id: string): Schema => byId.get(id)?.schema as Schema;
  for (const s of stages) {
    if (s.kind !== 'transform') continue;
    const m = metrics.get(s.id) as StageMetrics;
    operators.set(
      s.id,
      timed(buildOperator(s, s.inputs.map(schemaOf), registry, outputOf(s), m, live.get(s.id), sideOf(s)), m),
    );
  }
  return { operators, outputOf, live };
}

/** A source stage and its watermark strategy (M6, M7); its reader comes with each `drive`. */
function sourceRun(index: number, s: Stage, io: FlowIO, out: Output, metrics: StageMetrics, flow: string): SourceRun {
  const node = s.node;
  if (node?.op !== 'read') throw new RunError(`stage ${s.id} is not a read`, flow, s.id);
  const timeCol = eventTimeColumn(s);
  const strategy = node.watermark === undefined || timeCol < 0 ? undefined : new SourceWatermark(node.watermark);
  return new SourceRun(index, s, { out, metrics, timeCol, io, flow, ...(strategy === undefined ? {} : { strategy }) });
}

function eventTimeColumn(s: Stage): number {
  const node = s.node;
  if (node?.op !== 'read' || node.watermark === undefined) return -1;
  const fields = node.dataset.contract?.schema.fields ?? [];
  return fields.findIndex((f) => f.name === node.dataset.contract?.eventTime);
}

/** The columns a source reads: those read downstream, and the event-time column its watermark strategy reads. */
function readLive(s: Stage, live: readonly boolean[] | undefined): readonly boolean[] | undefined {
  const timeCol = eventTimeColumn(s);
  return live !== undefined && timeCol >= 0 ? live.map((x, c) => x || c === timeCol) : live;
}

function sinkOperator(
  write: (b: Batch) => void,
  m: StageMetrics,
  onWatermark: (wm: number) => void,
  onIdle: (idle: boolean) => void,
): Operator {
  return {
    push(_port, batch) {
      m.in += batch.length;
      m.out += batch.length;
      write(batch);
    },
    watermark(_port, wm) {
      onWatermark(wm);
    },
    idle(_port, idle) {
      onIdle(idle);
    },
  };
}

/** Remembers the last watermark a stage passes on. */
function marked(output: Output, id: string, marks: Map<string, number>): Output {
  return {
    push: (batch) => output.push(batch),
    watermark(wm) {
      marks.set(id, wm);
      output.watermark(wm);
    },
    idle: (idle) => output.idle?.(idle),
  };
}

/** Adds the time of each call to the stage; `counted` takes back what downstream stages spent inside it. */
function timed(op: Operator, m: StageMetrics): Operator {
  const pt = op.processingTime?.bind(op);
  const idle = op.idle?.bind(op);
  const snapshot = op.snapshot?.bind(op);
  const restore = op.restore?.bind(op);
  return {
    ...(snapshot === undefined ? {} : { snapshot }),
    ...(restore === undefined ? {} : { restore }),
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
