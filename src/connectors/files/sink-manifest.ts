import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { EpochCommit } from '../../runtime/execute.ts';
import { crashPoint } from '../crash-point.ts';
import { isTempNameFor, publishFile, syncDir, tempPathFor } from './atomic.ts';

/**
 * The manifest of a file sink's output (spec reliability §2.4), `.<file>.napkin-commits.json` beside the file. It
 * holds the commit keys and says how much of the file is committed: the first `rows` rows and `bytes` bytes of the
 * latest epoch. Readers that go through it never see more than that.
 */
export interface SinkManifest {
  readonly format: 'napkin-sink-manifest';
  readonly version: 1;
  /** The data file it describes, by base name. */
  readonly file: string;
  readonly flow: string;
  readonly sink: string;
  readonly partition: string;
  /** The fingerprint of the flow version that committed the latest epoch. */
  readonly fingerprint: string;
  /** The latest epochs committed to this output, oldest first: the last one is the newest commit key. */
  readonly epochs: readonly ManifestEpoch[];
}

export interface ManifestEpoch {
  readonly epoch: number;
  /** The epoch started the output (the file held only its rows). */
  readonly fresh: boolean;
  /** The file's committed rows and bytes once the epoch was committed (all the epochs of the output so far). */
  readonly rows: number;
  readonly bytes: number;
}

/** What a non-fresh epoch keeps of the current file: its committed start. */
export interface CommittedPrefix {
  readonly rows: number;
  readonly bytes: number;
}

/** A new data file built in a temporary path beside the target, not yet synced or renamed. */
export interface BuiltFile {
  readonly path: string;
  /** Rows of the whole file (prefix included). */
  readonly rows: number;
}

/** The outcome of one commit, for the run summary. */
export type FileCommit = { readonly committed: true; readonly rows: number } | { readonly committed: false };

const FORMAT = 'napkin-sink-manifest';
/** Older entries only serve humans reading the file; the key check needs the newest. */
const KEPT_EPOCHS = 100;

export function manifestPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.napkin-commits.json`);
}

/**
 * Commits one epoch of a file sink. `build` writes the new file: the epoch's rows alone when it gets no prefix (a
 * fresh output), else the current file's committed prefix and then the epoch's rows. Order: the data file is renamed
 * into place first, the manifest with the new key last, so the manifest is the commit point. A crash between the two
 * renames leaves the new data with the old manifest; the regenerated epoch finds its key absent and builds the same
 * file again, from the same prefix (the old manifest's totals, which the new file starts with), so the output ends
 * exactly as after one commit. Without an epoch (a one-off publication) the manifest is removed, before the data, so
 * it never describes a file it did not commit.
 */
export async function commitFileEpoch(
  target: string,
  e: EpochCommit | undefined,
  build: (prefix: CommittedPrefix | undefined) => Promise<BuiltFile>,
): Promise<FileCommit> {
  if (e === undefined) {
    await removeManifest(target);
    return { committed: true, rows: (await publishBuilt(target, build(undefined))).rows };
  }
  const m = await readManifest(target);
  if (holdsKey(m, e)) return { committed: false };
  const prefix = e.fresh ? undefined : prefixFor(m, e, target);
  const built = await publishBuilt(target, build(prefix));
  crashPoint('file-sink-published');
  const bytes = (await stat(target)).size;
  await writeManifest(target, nextManifest(m, e, target, { rows: built.rows, bytes }));
  return { committed: true, rows: built.rows - (prefix?.rows ?? 0) };
}

/**
 * Checks, changing nothing, that `e` can be committed to `target`: its manifest is readable and undamaged, and an
 * epoch that adds to the output finds the manifest of that output. A flow runs it for every sink before any commits
 * the epoch, so a damaged manifest stops the epoch while every output still holds the one before.
 */
export async function checkFileEpoch(target: string, e: EpochCommit | undefined): Promise<void> {
  // A one-off publication removes the manifest: what it holds does not matter.
  if (e === undefined) return;
  const m = await readManifest(target);
  if (!e.fresh && !holdsKey(m, e)) prefixFor(m, e, target);
}

/**
 * Removes what a process killed while committing to `target` left beside it: the data file it was building
 * (`.<file>.<hex>.tmp`) and the manifest it was writing (`..<file>.napkin-commits.json.<hex>.tmp`). They were never
 * renamed into place, so they hold nothing committed. Returns their paths. Call it only while no other process
 * commits to this output (its flow's lock held).
 */
export async function removeSinkTemporaries(target: string): Promise<string[]> {
  const dir = dirname(target);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const manifest = manifestPathFor(target);
  const found = names.filter((n) => isTempNameFor(target, n) || isTempNameFor(manifest, n)).map((n) => join(dir, n));
  for (const path of found) await rm(path, { force: true });
  if (found.length > 0) await syncDir(dir);
  return found;
}

async function publishBuilt(target: string, building: Promise<BuiltFile>): Promise<BuiltFile> {
  const built = await building;
  try {
    await publishFile(built.path, target);
  } finally {
    // Gone once renamed; a failed publication must not leave it behind.
    await rm(built.path, { force: true });
  }
  return built;
}

/** Whether the manifest holds `e`'s commit key. Epochs only grow, so one at or below the newest was committed. */
function holdsKey(m: SinkManifest | undefined, e: EpochCommit): boolean {
  return m !== undefined && sameOutput(m, e) && e.epoch <= (m.epochs.at(-1) as ManifestEpoch).epoch;
}

function sameOutput(m: SinkManifest, e: EpochCommit): boolean {
  return m.flow === e.flow && m.sink === e.sink && m.partition === e.partition;
}

function prefixFor(m: SinkManifest | undefined, e: EpochCommit, target: string): CommittedPrefix {
  if (m === undefined || !sameOutput(m, e)) {
    const owner = m === undefined ? 'no manifest' : `a manifest of flow ${m.flow}, sink ${m.sink}`;
    throw new Error(
      `${target}: epoch ${e.epoch} of flow ${e.flow}, sink ${e.sink} adds to the output, but the file has ${owner}; ` +
        'the output must start with a fresh epoch (rerun the flow from its start)',
    );
  }
  const last = m.epochs.at(-1) as ManifestEpoch;
  return { rows: last.rows, bytes: last.bytes };
}

function nextManifest(
  m: SinkManifest | undefined,
  e: EpochCommit,
  target: string,
  totals: CommittedPrefix,
): SinkManifest {
  const entry: ManifestEpoch = { epoch: e.epoch, fresh: e.fresh, rows: totals.rows, bytes: totals.bytes };
  const earlier = e.fresh || m === undefined ? [] : m.epochs.slice(-(KEPT_EPOCHS - 1));
  return {
    format: FORMAT,
    version: 1,
    file: basename(target),
    flow: e.flow,
    sink: e.sink,
    partition: e.partition,
    fingerprint: e.fingerprint,
    epochs: [...earlier, entry],
  };
}

/** The manifest beside `target`, or undefined when there is none. A damaged one is an error naming the check. */
export async function readManifest(target: string): Promise<SinkManifest | undefined> {
  const path = manifestPathFor(target);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw damaged(path, 'it is not valid JSON');
  }
  const failed = checkManifest(value, basename(target));
  if (failed !== undefined) throw damaged(path, failed);
  return value as SinkManifest;
}

function damaged(path: string, check: string): Error {
  return new Error(
    `${path}: the sink manifest is damaged (${check}); restore it from a backup, or delete it and the data file ` +
      'beside it and rerun the flow from its start',
  );
}

/** The first check a parsed manifest fails, or undefined. */
function checkManifest(v: unknown, file: string): string | undefined {
  if (typeof v !== 'object' || v === null) return 'it is not an object';
  const m = v as Record<string, unknown>;
  if (m.format !== FORMAT) return `format is not '${FORMAT}'`;
  if (m.version !== 1) return `version ${String(m.version)} is not 1`;
  if (m.file !== file) return `it describes '${String(m.file)}', not '${file}'`;
  for (const k of ['flow', 'sink', 'partition', 'fingerprint']) {
    if (typeof m[k] !== 'string') return `${k} is not a string`;
  }
  if (!Array.isArray(m.epochs) || m.epochs.length === 0) return 'epochs is not a non-empty list';
  let previous = 0;
  for (const entry of m.epochs as unknown[]) {
    const failed = checkEntry(entry, previous);
    if (failed !== undefined) return failed;
    previous = (entry as ManifestEpoch).epoch;
  }
  return undefined;
}

function checkEntry(v: unknown, previous: number): string | undefined {
  if (typeof v !== 'object' || v === null) return 'an epoch entry is not an object';
  const e = v as Record<string, unknown>;
  for (const k of ['epoch', 'rows', 'bytes']) {
    if (!Number.isSafeInteger(e[k]) || (e[k] as number) < 0) return `an epoch's ${k} is not a whole number`;
  }
  if (typeof e.fresh !== 'boolean') return `epoch ${String(e.epoch)}: fresh is not true or false`;
  if ((e.epoch as number) <= previous) return `epoch ${String(e.epoch)} does not follow epoch ${previous}`;
  return undefined;
}

/** Temporary file, fsync, rename, directory fsync: the manifest is either the old one or the new one. */
async function writeManifest(target: string, m: SinkManifest): Promise<void> {
  const path = manifestPathFor(target);
  const tmp = tempPathFor(path);
  try {
    await writeFile(tmp, `${JSON.stringify(m, null, 2)}\n`);
    await publishFile(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}

async function removeManifest(target: string): Promise<void> {
  const path = manifestPathFor(target);
  try {
    await rm(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  await syncDir(dirname(path));
}
