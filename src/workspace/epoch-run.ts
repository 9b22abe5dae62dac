import { deserialize, serialize } from 'node:v8';
import { crashPoint } from '../connectors/crash-point.ts';
import type { Registry } from '../expr/functions.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { BoundFlow } from '../plan/bind.ts';
import type { Stage } from '../plan/stage.ts';
import type { EpochCommit, FlowIO, FlowResult, SourceReader } from '../runtime/execute.ts';
import { FlowRun, type RunState, runSqlModels } from '../runtime/flow-run.ts';
import { newMetrics } from '../runtime/operator.ts';
import { decodeState, encodeState, StateNotCapturable } from '../runtime/state-codec.ts';
import type { EpochLog, OffsetEntry } from './epochs.ts';
import { type LogRange, openLogSource } from './log-source.ts';
import type { Topic } from './topic-log.ts';

/**
 * A source dataset's input as epochs read it: a log of offsets, from `start` (the first record of the current
 * generation, or where a source told to start later starts) to `end` (just past the last durable record), read by
 * range. The embedded log's topics are one kind; a partition of a Kafka topic read by a worker is another.
 */
export interface EpochInput {
  readonly start: number;
  readonly end: number;
  open(range: LogRange, live: readonly boolean[] | undefined): SourceReader;
  /** What the input carries from one epoch to the next (a repartition topic's upstream watermarks), for a snapshot. */
  snapshot?(): unknown;
  restore?(state: unknown): void;
}

/** A topic of napkin's embedded log as an epoch input. */
export function topicInput(topic: Topic, dataset: Dataset): EpochInput {
  return {
    get start() {
      return topic.state.generation;
    },
    get end() {
      return topic.state.end;
    },
    open: (range, live) => openLogSource(topic, dataset.contract as NonNullable<Dataset['contract']>, range, live),
  };
}

/** The embedded topics of a flow's sources as epoch inputs, by dataset name. */
export function topicInputs(topics: ReadonlyMap<string, Topic>, b: BoundFlow): Map<string, EpochInput> {
  const out = new Map<string, EpochInput>();
  for (const s of b.stages) {
    const ds = s.dataset;
    const t = ds === undefined || s.kind !== 'source' ? undefined : topics.get(ds.name);
    if (ds !== undefined && t !== undefined && !out.has(ds.name)) out.set(ds.name, topicInput(t, ds));
  }
  return out;
}

/** What a flow's epochs run against. */
export interface EpochContext {
  readonly bound: BoundFlow;
  readonly registry: Registry;
  /** The flow's I/O; its clock is replaced by each epoch's recorded clock. */
  readonly io: FlowIO;
  readonly store: EpochLog;
  /** The input of each source dataset read from a log, by dataset name. Other sources are read directly. */
  readonly inputs: ReadonlyMap<string, EpochInput>;
  readonly fingerprint: string;
  /** The partition of the flow these epochs run (a worker's task); '0' for a flow run whole by one process. */
  readonly partition?: string;
  /** Where an epoch that starts a new output reads from, per dataset (default: the topic's generation). */
  readonly from?: ReadonlyMap<string, number>;
  /** Writes the records epoch N quarantined, replacing any an earlier attempt at N wrote; `null` drops them. */
  readonly quarantine: (epoch: number | null) => Promise<void>;
  /**
   * How often a committed epoch carries a snapshot of the operator state (ms of wall time since the last one; 0:
   * every epoch; +∞: never), so that a restart or a take-over replays only the epochs after it. Default 30 s, and
   * the first epoch a runner commits always carries one.
   */
  readonly snapshotEveryMs?: number;
  /** Told when a snapshot cannot be taken or used; the runner then rebuilds state by replay, as without one. */
  readonly warn?: (message: string) => void;
}

/** The default of {@link EpochContext.snapshotEveryMs}. */
export const SNAPSHOT_EVERY_MS = 30_000;

/** Where the next epoch's input starts, per source dataset, and whether it starts a new output. */
interface Cursor {
  readonly ends: Map<string, number>;
  fresh: boolean;
}

/**
 * Runs a flow's epochs (spec reliability §2.1). `start` settles what a crash left: it restores operator state from
 * the latest state snapshot of the current output and replays the committed epochs after it with the sinks muted
 * (state is a function of the log; the snapshot only shortens the replay), then runs again an epoch planned but not
 * committed, whose sinks keep what they already hold of it. `epoch` then runs
 * one new epoch over the given input. Every step is written before it is acted on, so a `kill -9` anywhere leaves
 * the flow where `start` can take it up.
 */
export class EpochRunner {
  private run: FlowRun | undefined;
  private next = 1;
  private readonly cursor: Cursor = { ends: new Map(), fresh: true };
  private lastResult: FlowResult | undefined;
  private clock = 0;
  /** Epochs replayed to rebuild state, and epochs run again after a crash, for `napkin status`. */
  replayed = 0;
  regenerated = 0;
  /** The epoch whose snapshot `start` restored the state from, if one did. */
  restoredFrom: number | undefined;
  /** When the last snapshot was taken (performance.now()); a run starts due for one. */
  private snapshotAt = Number.NEGATIVE_INFINITY;
  /** Set once a snapshot failed to encode: the flow's state cannot be captured, so none is tried again. */
  private uncapturable = false;

  constructor(private readonly ctx: EpochContext) {}

  get flow(): string {
    return this.ctx.bound.flow.name;
  }

  /** Takes up the flow where its epoch records left it. */
  async start(): Promise<void> {
    const { store } = this.ctx;
    const pos = await store.position();
    const last = pos.planned;
    if (last === undefined) return;
    this.next = last.epoch + 1;
    const first = await this.firstOfOutput(last);
    const complete = last.final && pos.committed === last.epoch;
    if (!complete && !(last.final && last.fresh)) this.assertSameVersion(last);
    if (!complete) {
      await this.open();
      const restored = await this.restoreSnapshot(first, pos.committed);
      for (let e = restored + 1; e <= pos.committed; e++) {
        await this.replay((await store.offsets(e)) as OffsetEntry);
        this.replayed++;
      }
      if (pos.checkpoint !== undefined && pos.committed >= first) {
        (this.run as FlowRun).restoreMetrics(pos.checkpoint.metrics);
      }
      if (last.epoch > pos.committed) {
        await this.execute(last);
        this.regenerated++;
      }
    }
    if (last.final) await this.close();
    else {
      this.cursor.fresh = false;
      for (const [ds, r] of Object.entries(last.ranges)) this.cursor.ends.set(ds, r.to);
    }
  }

  /**
   * Starts a new output with the next epoch, without rebuilding the current one's state (`napkin replay`). An epoch
   * planned but not committed is refused, unless `abandon`: it is then closed as committed with nothing recorded for
   * it (its output is being replaced; sinks that committed it before the crash keep it) and returned, so the caller
   * can say so.
   */
  async startNewOutput(abandon = false): Promise<{ readonly first: number; readonly abandoned?: OffsetEntry }> {
    const { store } = this.ctx;
    const pos = await store.position();
    const last = pos.planned;
    let abandoned: OffsetEntry | undefined;
    if (last !== undefined && pos.committed < last.epoch) {
      if (!abandon)
        throw new Error(
          `flow ${this.flow}: epoch ${last.epoch} (version ${last.fingerprint.slice(0, 12)}) is planned but not committed; settle it first with \`napkin run ${this.flow}\` under that version`,
        );
      const offsets = Object.fromEntries(Object.entries(last.ranges).map(([ds, r]) => [ds, r.to]));
      await store.writeCheckpoint({
        fingerprint: last.fingerprint,
        epoch: last.epoch,
        offsets,
        metrics: {},
        sinks: [],
      });
      await store.writeCommit(last.epoch);
      abandoned = last;
    }
    await this.close();
    this.next = (last?.epoch ?? 0) + 1;
    return { first: this.next, ...(abandoned === undefined ? {} : { abandoned }) };
  }

  /** The number the next epoch gets. */
  get nextEpoch(): number {
    return this.next;
  }

  /**
   * Plans and runs epoch N over each topic's records up to `upTo` (default: all it holds; an offset just past a
   * marker). `final` ends the input. Returns false, writing nothing, when there is no new record and the epoch would
   * neither end the input nor start an output.
   */
  async epoch(options: {
    readonly final: boolean;
    readonly clock?: number;
    readonly upTo?: ReadonlyMap<string, number>;
  }): Promise<boolean> {
    const ranges: Record<string, { from: number; to: number }> = {};
    let records = 0;
    for (const [ds, input] of this.ctx.inputs) {
      const start = Math.max(0, input.start, this.ctx.from?.get(ds) ?? 0);
      const from = this.cursor.fresh ? start : (this.cursor.ends.get(ds) ?? start);
      const to = Math.min(input.end, options.upTo?.get(ds) ?? Number.POSITIVE_INFINITY);
      ranges[ds] = { from, to };
      records += to - from;
    }
    if (records === 0 && !options.final && !this.cursor.fresh) return false;
    const entry = await this.ctx.store.writeOffsets({
      epoch: this.next,
      fingerprint: this.ctx.fingerprint,
      ranges,
      clock: options.clock ?? 0,
      fresh: this.cursor.fresh,
      final: options.final,
    });
    this.next++;
    crashPoint('epoch-offsets');
    if (this.run === undefined) await this.open();
    await this.execute(entry);
    if (entry.final) await this.close();
    return true;
  }

  /** Counters of the output so far (all zero before its first epoch), with where each sink published. */
  result(): FlowResult {
    return this.run?.result() ?? this.lastResult ?? idleResult(this.ctx.bound, this.ctx.fingerprint);
  }

  /** Runs the flow's SQL models (after its sinks committed); returns the result with their figures. */
  async runSql(): Promise<FlowResult> {
    const sql = await runSqlModels(this.ctx.bound, this.ctx.io);
    const r = this.result();
    return {
      ...r,
      stages: r.stages.map((s) => {
        const q = sql.get(s.stage.id);
        return q === undefined ? s : { ...s, metrics: { ...s.metrics, out: q.rows, ms: q.ms }, location: q.location };
      }),
    };
  }

  async close(): Promise<void> {
    if (this.run === undefined) return;
    this.lastResult = this.run.result();
    await this.run.abort();
    this.run = undefined;
    this.cursor.fresh = true;
    this.cursor.ends.clear();
  }

  private async open(): Promise<void> {
    this.run = await FlowRun.open(this.ctx.bound, this.ctx.registry, this.io());
  }

  /** The flow's I/O with processing time pinned to the running epoch's recorded clock. */
  private io(): FlowIO {
    const { wait: _wait, clock: _clock, ...rest } = this.ctx.io;
    return { ...rest, clock: () => this.clock };
  }

  /** Reads epoch `e` with the sinks muted: its output is already committed. */
  private async replay(e: OffsetEntry): Promise<void> {
    const run = this.run as FlowRun;
    run.muted = true;
    try {
      await this.drive(run, e);
      await this.ctx.quarantine(null);
    } finally {
      run.muted = false;
    }
    for (const [ds, r] of Object.entries(e.ranges)) this.cursor.ends.set(ds, r.to);
  }

  /** Runs epoch `e` and commits it: checkpoint manifest, sinks (idempotent by commit key), quarantine, commit entry. */
  private async execute(e: OffsetEntry): Promise<void> {
    const run = this.run as FlowRun;
    await this.drive(run, e);
    const state = e.final ? undefined : this.takeSnapshot(run, e);
    const metrics = Object.fromEntries([...run.metrics].map(([id, m]) => [id, { ...m }]));
    const offsets = Object.fromEntries(Object.entries(e.ranges).map(([ds, r]) => [ds, r.to]));
    const sinks = this.ctx.bound.stages.filter((s) => s.kind === 'sink').map((s) => s.id);
    await this.ctx.store.writeCheckpoint({
      fingerprint: this.ctx.fingerprint,
      epoch: e.epoch,
      offsets,
      metrics,
      watermarks: run.watermarks(),
      sinks,
    });
    crashPoint('epoch-checkpoint');
    await run.commit((s) => this.commitKey(s, e));
    crashPoint('epoch-sinks');
    await this.ctx.quarantine(e.epoch);
    crashPoint('epoch-quarantine');
    await this.ctx.store.writeCommit(e.epoch, state);
    crashPoint('epoch-commit');
    await this.ctx.store.collect(e.epoch);
    this.cursor.fresh = false;
    for (const [ds, r] of Object.entries(e.ranges)) this.cursor.ends.set(ds, r.to);
  }

  /**
   * The operator state after epoch `e`, serialized, when one is due; taken right after the epoch ran, before any
   * sink commits, and stored with the commit entry, so a snapshot exists only for a committed epoch.
   */
  private takeSnapshot(run: FlowRun, e: OffsetEntry): Uint8Array | undefined {
    const every = this.ctx.snapshotEveryMs ?? SNAPSHOT_EVERY_MS;
    if (this.uncapturable || every === Number.POSITIVE_INFINITY || performance.now() - this.snapshotAt < every)
      return undefined;
    try {
      const inputs: Record<string, unknown> = {};
      for (const [ds, input] of this.ctx.inputs) {
        const s = input.snapshot?.();
        if (s !== undefined) inputs[ds] = encodeState(s, `dataset ${ds}`);
      }
      const image: StateImage = {
        format: 'napkin-state',
        version: 1,
        flow: this.flow,
        fingerprint: this.ctx.fingerprint,
        epoch: e.epoch,
        run: run.snapshot(),
        inputs,
      };
      this.snapshotAt = performance.now();
      return serialize(image);
    } catch (err) {
      if (!(err instanceof StateNotCapturable)) throw err;
      this.uncapturable = true;
      this.ctx.warn?.(
        `flow ${this.flow}: no state snapshots (${err.message}); a restart rebuilds the state by replaying the output's epochs`,
      );
      return undefined;
    }
  }

  /**
   * Restores the state from the latest snapshot of the current output (epochs `first`…`committed`) and returns its
   * epoch, or `first − 1` when there is none or it cannot be used: then the whole output is replayed.
   */
  private async restoreSnapshot(first: number, committed: number): Promise<number> {
    const snap = await this.ctx.store.snapshot();
    if (snap === undefined || snap.epoch < first || snap.epoch > committed) return first - 1;
    try {
      const image = deserialize(snap.bytes) as StateImage;
      if (image.format !== 'napkin-state' || image.version !== 1 || image.epoch !== snap.epoch)
        throw new Error(`it is not napkin state of epoch ${snap.epoch}`);
      if (image.fingerprint !== this.ctx.fingerprint)
        throw new Error(`it was taken by version ${image.fingerprint.slice(0, 12)}`);
      (this.run as FlowRun).restore(image.run);
      for (const [ds, input] of this.ctx.inputs)
        if (image.inputs[ds] !== undefined) input.restore?.(decodeState(image.inputs[ds]));
    } catch (err) {
      this.ctx.warn?.(
        `flow ${this.flow}: the state snapshot of epoch ${snap.epoch} in ${this.ctx.store.where} cannot be used (${(err as Error).message}); rebuilding the state by replaying the output from epoch ${first}`,
      );
      // A half-restored run is thrown away.
      await (this.run as FlowRun).abort();
      await this.open();
      return first - 1;
    }
    const entry = (await this.ctx.store.offsets(snap.epoch)) as OffsetEntry;
    for (const [ds, r] of Object.entries(entry.ranges)) this.cursor.ends.set(ds, r.to);
    this.restoredFrom = snap.epoch;
    this.snapshotAt = performance.now();
    return snap.epoch;
  }

  private async drive(run: FlowRun, e: OffsetEntry): Promise<void> {
    this.clock = e.clock;
    await run.drive((s, live) => this.reader(s, e, live), e.final);
  }

  private async reader(s: Stage, e: OffsetEntry, live: readonly boolean[] | undefined): Promise<SourceReader> {
    const ds = s.dataset as Dataset;
    const input = this.ctx.inputs.get(ds.name);
    if (input === undefined) return e.fresh ? this.ctx.io.openSource(s, live) : NOTHING;
    const range = e.ranges[ds.name];
    if (range === undefined)
      throw new Error(`offset entry ${e.epoch} of flow ${this.flow} has no range for dataset ${ds.name}`);
    return input.open(range, live);
  }

  private commitKey(s: Stage, e: OffsetEntry): EpochCommit {
    return {
      flow: this.flow,
      sink: s.id,
      partition: this.ctx.partition ?? '0',
      epoch: e.epoch,
      fingerprint: this.ctx.fingerprint,
      fresh: e.fresh,
    };
  }

  /**
   * State is never carried from one version of a flow into another (spec §2.8): an output still being written by
   * epochs of another fingerprint is refused, naming both.
   */
  private assertSameVersion(last: OffsetEntry): void {
    if (last.fingerprint === this.ctx.fingerprint) return;
    throw new Error(
      `flow ${this.flow}: its current output was written by version ${last.fingerprint.slice(0, 12)} (epochs up to ${last.epoch}), and this is version ${this.ctx.fingerprint.slice(0, 12)}; state is never restored into another version. Reprocess with \`napkin replay ${this.flow}\` (a new output version built from the log, switched in once caught up), or run version ${last.fingerprint.slice(0, 12)} again`,
    );
  }

  /** The epoch that started the output `last` belongs to: the latest fresh epoch up to it. */
  private async firstOfOutput(last: OffsetEntry): Promise<number> {
    let e: OffsetEntry | undefined = last;
    while (e !== undefined && !e.fresh) e = e.epoch > 1 ? await this.ctx.store.offsets(e.epoch - 1) : undefined;
    if (e === undefined)
      throw new Error(
        `flow ${this.flow}: the epoch that started its current output is missing from ${this.ctx.store.where}; its state cannot be rebuilt`,
      );
    return e.epoch;
  }
}

/** What a snapshot holds: the run's operator and source state and the inputs' own, after one epoch of one version. */
interface StateImage {
  readonly format: 'napkin-state';
  readonly version: 1;
  readonly flow: string;
  readonly fingerprint: string;
  readonly epoch: number;
  readonly run: RunState;
  readonly inputs: Readonly<Record<string, unknown>>;
}

const NOTHING: SourceReader = {
  async *chunks() {},
};

/** The result of a run that had nothing to do: every counter zero. */
function idleResult(bound: BoundFlow, fingerprint: string): FlowResult {
  return {
    flow: bound.flow.name,
    fingerprint,
    stages: bound.stages.map((stage) => ({ stage, metrics: newMetrics() })),
    ms: 0,
  };
}
