import type { Registry } from '../expr/functions.ts';
import type { BoundFlow } from '../plan/bind.ts';
import type { Stage } from '../plan/stage.ts';
import type { Batch } from './batch.ts';
import { FlowRun } from './flow-run.ts';
import type { StageMetrics } from './operator.ts';
import type { QuarantineEntry } from './quarantine.ts';

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
  /**
   * The event-time frontier of a source read from several partitions, after this chunk (see `PartitionFrontier`):
   * the read stage's watermark strategy derives the watermark from it instead of from the chunk's newest event time.
   */
  readonly eventFrontier?: number;
  /**
   * Where a reader resuming after this chunk would start (a file's byte, line and record): what log ingestion
   * records with the chunk's records, in the same append, so a restart neither skips nor repeats a record.
   */
  readonly position?: Readonly<Record<string, number>>;
}

export interface SourceReader {
  chunks(): AsyncIterable<SourceChunk>;
  /**
   * True for a source that waits for new data (a followed file): it runs concurrently with the others, and only such
   * a source can go idle (M7). A bounded source (the default) is read to its end, one at a time.
   */
  readonly unbounded?: boolean;
}

/** One epoch's commit, as the runner asks it of each sink (spec reliability §2.4). */
export interface EpochCommit {
  readonly flow: string;
  /** The sink stage's id. With `flow`, `partition` and `epoch`, the commit key. */
  readonly sink: string;
  readonly partition: string;
  /** The flow's epoch number, from 1, strictly increasing, never reused. */
  readonly epoch: number;
  readonly fingerprint: string;
  /**
   * The epoch starts a new output: a `replace` sink replaces what the dataset held with this epoch's rows; a later
   * epoch adds its rows to what the earlier epochs of the same output published (a `merge` sink upserts either way).
   */
  readonly fresh: boolean;
}

/**
 * A sink connector: buffers or stages writes synchronously, publishes atomically on commit. One writer serves every
 * epoch of a run: after a commit it takes the next epoch's writes.
 */
export interface SinkWriter {
  write(batch: Batch): void;
  /**
   * Publishes what was written since the last commit, as one atomic unit, and returns where it went, for the run
   * summary. With an epoch, the commit is idempotent: the unit also stores the commit key, and a store that already
   * holds the key keeps what it has and drops what was written (the epoch was regenerated after a crash). Without
   * one (tests, one-off runs) it publishes as a fresh output.
   */
  commit(epoch?: EpochCommit): Promise<string>;
  /**
   * Checks, changing nothing, that the sink can commit `epoch`: its commit state (a file sink's manifest) is readable,
   * undamaged and fits the epoch. The run asks every sink before any commits, so a sink that cannot fails the epoch
   * while every output still holds the one before. Throws naming what is wrong and what to do.
   */
  prepare?(epoch?: EpochCommit): Promise<void>;
  /** Throws away everything written. Must be safe to call after a failed commit. */
  abort(): Promise<void>;
  /**
   * The sink's input watermark rose (M1), or its input turned idle or active again (M7): for a sink that hands its
   * progress on to readers of its output (a worker's repartition topic); others leave them out.
   */
  watermark?(wm: number): void;
  idle?(idle: boolean): void;
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
  const run = await FlowRun.open(bound, registry, io);
  try {
    await run.drive((s, live) => io.openSource(s, live), true);
    await run.commit();
    await run.runSql();
    return run.result();
  } catch (e) {
    await run.abort();
    throw e;
  }
}
