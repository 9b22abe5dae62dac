/**
 * A flow's epoch records, in its folder of the project's state folder (spec reliability §2.1–2.3):
 *
 *   .napkin/flows/<flow>/offsets/<N>.json       offset-log entry N: the exact input of epoch N, durable before it runs
 *   .napkin/flows/<flow>/checkpoints/<N>.json   checkpoint manifest N: the state after epoch N, written after the
 *                                              sinks staged N and before they commit
 *   .napkin/flows/<flow>/commits/<N>.json       commit-log entry N: every sink committed N
 *   .napkin/flows/<flow>/snapshots/<N>.bin      the operator state after epoch N (SHA-256, then v8-serialized
 *                                              state), written just before commit entry N; used once N is committed
 *
 * Each file is written whole or not at all (temp, fsync, rename, folder fsync). The latest commit entry is the latest
 * offset entry or the one before it; anything else is damage and the flow refuses to start.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { crashPoint } from '../connectors/crash-point.ts';
import { publish, syncDir } from '../log/durable.ts';
import { nodeIO } from '../log/io.ts';
import type { StageMetrics } from '../runtime/operator.ts';
import { readJson, writeDurableJson } from './durable-json.ts';

const FORMAT_VERSION = 1;
/** The folders of a flow's epoch records. */
const KINDS = ['offsets', 'checkpoints', 'commits', 'snapshots'] as const;

/** Offset-log entry N. */
export interface OffsetEntry {
  readonly format: 'napkin-offsets';
  readonly version: 1;
  readonly flow: string;
  readonly epoch: number;
  readonly fingerprint: string;
  /** Per source dataset read from the log, the range of epoch N. */
  readonly ranges: Readonly<Record<string, { readonly from: number; readonly to: number }>>;
  /** The processing-time clock of the epoch (ms): a replay of N runs with exactly this value. */
  readonly clock: number;
  /** The epoch starts a new output (see `EpochCommit.fresh`). */
  readonly fresh: boolean;
  /** The epoch ends the input: its sources reach +∞ after their ranges. */
  readonly final: boolean;
}

/** Checkpoint manifest N: counters and watermarks; the operator state goes in a snapshot kept with the commit entry. */
export interface CheckpointManifest {
  readonly format: 'napkin-checkpoint';
  readonly version: 1;
  readonly flow: string;
  readonly fingerprint: string;
  readonly epoch: number;
  /** Where each source's input ends after epoch N. */
  readonly offsets: Readonly<Record<string, number>>;
  /** Per stage, counters summed over epochs 1…N of the output (spec §6: replays never inflate them). */
  readonly metrics: Readonly<Record<string, StageMetrics>>;
  /**
   * Per stage, the last watermark it passed on by the end of epoch N (ms; `MAX_TIMESTAMP` once its input is
   * complete); stages that have passed none are absent. Absent in manifests written before it was recorded.
   */
  readonly watermarks?: Readonly<Record<string, number>>;
  /** The sinks whose commit of N is pending until the commit entry exists. */
  readonly sinks: readonly string[];
  readonly writtenAt: string;
  /** SHA-256 of the manifest without this field. */
  readonly checksum: string;
}

export interface CommitEntry {
  readonly format: 'napkin-commit';
  readonly version: 1;
  readonly flow: string;
  readonly epoch: number;
  readonly committedAt: string;
}

/** The operator state after a committed epoch, as `FlowRun.snapshot` encoded it. */
export interface StateSnapshot {
  readonly epoch: number;
  readonly bytes: Uint8Array;
}

/** Where a flow's epoch records stand when it starts. */
export interface EpochPosition {
  /** The latest offset entry, if any. */
  readonly planned: OffsetEntry | undefined;
  /** The latest committed epoch, or 0. */
  readonly committed: number;
  /** The checkpoint of the latest committed epoch, if any. */
  readonly checkpoint: CheckpointManifest | undefined;
}

/**
 * Where a flow's epoch records are kept, as `EpochRunner` uses them: the project's state folder (EpochStore) or, for
 * the partitions of a flow run by workers, a Kafka topic.
 */
export interface EpochLog {
  readonly flow: string;
  /** Where the records are, for messages. */
  readonly where: string;
  position(): Promise<EpochPosition>;
  offsets(n: number): Promise<OffsetEntry | undefined>;
  writeOffsets(e: Omit<OffsetEntry, 'format' | 'version' | 'flow'>): Promise<OffsetEntry>;
  writeCheckpoint(m: CheckpointBody): Promise<void>;
  /** Commits epoch N; `state`, the operator state after N, is kept with the commit (written before it). */
  writeCommit(epoch: number, state?: Uint8Array): Promise<void>;
  /** The latest snapshot of a committed epoch, if any; a damaged one is an error naming it. */
  snapshot(): Promise<StateSnapshot | undefined>;
  /** Drops what epoch `epoch`'s commit made obsolete (older checkpoints and snapshots). */
  collect(epoch: number): Promise<void>;
}

export class EpochStore implements EpochLog {
  constructor(
    readonly dir: string,
    readonly flow: string,
  ) {}

  get where(): string {
    return join(this.dir, 'offsets');
  }

  async position(): Promise<EpochPosition> {
    const offsets = await this.numbers('offsets');
    const commits = await this.numbers('commits');
    const o = offsets.at(-1) ?? 0;
    const c = commits.at(-1) ?? 0;
    if (c !== o && c !== o - 1) {
      throw new Error(
        `flow ${this.flow}: its epoch records are damaged: the latest offset entry is ${o} but the latest commit entry is ${c} (${this.dir}); the commit log must end at the offset log's last entry or the one before`,
      );
    }
    const planned = o === 0 ? undefined : await this.offsets(o);
    const checkpoint = c === 0 ? undefined : await this.checkpoint(c);
    if (c > 0 && checkpoint === undefined)
      throw new Error(
        `flow ${this.flow}: epoch ${c} is committed but its checkpoint ${this.file('checkpoints', c)} is missing`,
      );
    return { planned, committed: c, checkpoint };
  }

  /** Offset entry N, validated; undefined when it does not exist. */
  async offsets(n: number): Promise<OffsetEntry | undefined> {
    const e = (await readJson(this.file('offsets', n))) as OffsetEntry | undefined;
    if (e === undefined) return undefined;
    if (e.format !== 'napkin-offsets' || e.version !== FORMAT_VERSION || e.epoch !== n || e.flow !== this.flow)
      throw new Error(`${this.file('offsets', n)} is not offset entry ${n} of flow ${this.flow}; the file is damaged`);
    return e;
  }

  async checkpoint(n: number): Promise<CheckpointManifest | undefined> {
    const path = this.file('checkpoints', n);
    const m = (await readJson(path)) as CheckpointManifest | undefined;
    if (m === undefined) return undefined;
    if (m.format !== 'napkin-checkpoint' || m.epoch !== n || m.flow !== this.flow)
      throw new Error(`${path} is not checkpoint ${n} of flow ${this.flow}; the file is damaged`);
    const { checksum, ...rest } = m;
    if (checksumOf(rest) !== checksum)
      throw new Error(
        `${path} fails its checksum: the checkpoint is damaged; napkin does not fall back to an older checkpoint by itself (spec §2.2)`,
      );
    return m;
  }

  async writeOffsets(e: Omit<OffsetEntry, 'format' | 'version' | 'flow'>): Promise<OffsetEntry> {
    const entry: OffsetEntry = { format: 'napkin-offsets', version: FORMAT_VERSION, flow: this.flow, ...e };
    await this.write('offsets', e.epoch, entry);
    return entry;
  }

  async writeCheckpoint(m: CheckpointBody): Promise<void> {
    await this.write('checkpoints', m.epoch, checkpointManifest(this.flow, m));
  }

  async writeCommit(epoch: number, state?: Uint8Array): Promise<void> {
    if (state !== undefined) {
      await mkdir(join(this.dir, 'snapshots'), { recursive: true });
      await publish(nodeIO, this.snapshotFile(epoch), sealed(state), true);
      crashPoint('epoch-snapshot');
    }
    const entry: CommitEntry = {
      format: 'napkin-commit',
      version: FORMAT_VERSION,
      flow: this.flow,
      epoch,
      committedAt: new Date().toISOString(),
    };
    await this.write('commits', epoch, entry);
  }

  /**
   * Removes the temporary files a process killed while writing an entry left (`<N>.json.tmp`, see
   * `writeDurableJson`) and returns their paths. They were never renamed into place, so they hold nothing committed
   * (spec §2.2). Call it holding the flow's lock: no other process writes these records then.
   */
  async removeTemporaries(): Promise<string[]> {
    const removed: string[] = [];
    for (const kind of KINDS) {
      let names: string[];
      try {
        names = await readdir(join(this.dir, kind));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const found = names.filter((n) => /^\d{12}\.(json|bin)\.tmp$/.test(n)).map((n) => join(this.dir, kind, n));
      for (const path of found) await rm(path, { force: true });
      if (found.length > 0) await syncDir(nodeIO, join(this.dir, kind));
      removed.push(...found);
    }
    return removed;
  }

  async snapshot(): Promise<StateSnapshot | undefined> {
    const committed = (await this.numbers('commits')).at(-1) ?? 0;
    const n = (await this.numbers('snapshots', '.bin')).filter((x) => x <= committed).at(-1);
    if (n === undefined) return undefined;
    const path = this.snapshotFile(n);
    return { epoch: n, bytes: unseal(await readFile(path), path) };
  }

  /**
   * Deletes the checkpoints before `epoch` (spec §2.1 step 7: kept until a later epoch is committed) and the
   * snapshots older than the latest one up to `epoch`.
   */
  async collect(epoch: number): Promise<void> {
    for (const n of await this.numbers('checkpoints'))
      if (n < epoch) await rm(this.file('checkpoints', n), { force: true });
    const snapshots = (await this.numbers('snapshots', '.bin')).filter((n) => n <= epoch);
    for (const n of snapshots.slice(0, -1)) await rm(this.snapshotFile(n), { force: true });
  }

  private snapshotFile(n: number): string {
    return join(this.dir, 'snapshots', `${String(n).padStart(12, '0')}.bin`);
  }

  private async write(kind: string, n: number, value: unknown): Promise<void> {
    await mkdir(join(this.dir, kind), { recursive: true });
    await writeDurableJson(this.file(kind, n), value);
  }

  file(kind: string, n: number): string {
    return join(this.dir, kind, `${String(n).padStart(12, '0')}.json`);
  }

  private async numbers(kind: string, ext = '.json'): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(join(this.dir, kind));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return names
      .filter((n) => n.length === 12 + ext.length && /^\d{12}$/.test(n.slice(0, 12)) && n.endsWith(ext))
      .map((n) => Number(n.slice(0, 12)))
      .sort((a, b) => a - b);
  }
}

/** What a checkpoint's writer gives; the rest of the manifest is filled in by {@link checkpointManifest}. */
export type CheckpointBody = Omit<CheckpointManifest, 'format' | 'version' | 'flow' | 'checksum' | 'writtenAt'>;

/** Checkpoint manifest N of `flow`, stamped now, with its checksum. */
export function checkpointManifest(flow: string, m: CheckpointBody): CheckpointManifest {
  const body = {
    format: 'napkin-checkpoint' as const,
    version: FORMAT_VERSION as 1,
    flow,
    ...m,
    writtenAt: new Date().toISOString(),
  };
  return { ...body, checksum: checksumOf(body) };
}

/** A snapshot's bytes behind their SHA-256, so a damaged file is refused rather than restored. */
export function sealed(state: Uint8Array): Uint8Array {
  return Buffer.concat([createHash('sha256').update(state).digest(), state]);
}

/** The bytes {@link sealed} sealed; `where` names the file or record in the error when they fail the check. */
export function unseal(buf: Uint8Array, where: string): Uint8Array {
  const body = buf.subarray(32);
  if (buf.length < 32 || !createHash('sha256').update(body).digest().equals(buf.subarray(0, 32)))
    throw new Error(
      `${where} fails its checksum: the state snapshot is damaged; delete it to rebuild the state by replaying the output's epochs`,
    );
  return body;
}

export function checksumOf(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}
