import { stat } from 'node:fs/promises';
import { openTailSource } from '../connectors/files/tail-source.ts';
import type { Contract } from '../flow/contract.ts';
import type { Follow } from '../flow/storage.ts';
import type { SourceReader } from '../runtime/execute.ts';
import type { Topic } from './topic-log.ts';

/** What one ingestion appended to a topic. */
export interface IngestResult {
  readonly dataset: string;
  /** Files appended whole. */
  readonly files: number;
  /** Records appended: rows and refused records. */
  readonly records: number;
  /** Whether a changed file, contract or a crash made ingestion start a new generation (see topic.ts). */
  readonly newGeneration: boolean;
}

/** One file of a bounded dataset: its absolute path and its name in the topic (relative to the project root). */
export interface SourceFile {
  readonly path: string;
  readonly name: string;
}

/**
 * Brings a bounded dataset's topic up to date with its files: files already in the current generation are skipped,
 * new ones appended chunk by chunk, each followed by its `done` marker. A generation holds a file as it was when it
 * was ingested, so a changed or removed file (or contract) starts a new generation, read again from the first file.
 */
export async function ingestFiles(
  topic: Topic,
  contract: Contract,
  files: readonly SourceFile[],
  open: (file: SourceFile) => Promise<SourceReader>,
): Promise<IngestResult> {
  const fields = contract.schema.fields.map((f) => f.name);
  const stats = new Map<string, { size: number; mtimeMs: number }>();
  for (const f of files) {
    const s = await stat(f.path);
    stats.set(f.name, { size: s.size, mtimeMs: Math.trunc(s.mtimeMs) });
  }
  const newGeneration = needsNewGeneration(topic, fields, stats);
  if (newGeneration) await topic.startGeneration(fields);
  const timeCol = contract.eventTime === undefined ? -1 : fields.indexOf(contract.eventTime);
  let records = 0;
  let appended = 0;
  for (const f of files) {
    if (topic.state.files[f.name] !== undefined) continue;
    for await (const chunk of (await open(f)).chunks()) {
      if (chunk.batch.length === 0 && chunk.rejected.length === 0) continue;
      await topic.appendChunk(chunk, timeCol, Date.now(), { kind: 'chunk', file: f.name });
      records += chunk.batch.length + chunk.rejected.length;
    }
    await topic.appendChunk(EMPTY, -1, Date.now(), {
      kind: 'chunk',
      file: f.name,
      done: stats.get(f.name) as { size: number; mtimeMs: number },
    });
    appended++;
  }
  await topic.saveState();
  return { dataset: topic.dataset, files: appended, records, newGeneration };
}

const EMPTY = { batch: { length: 0, columns: [] }, rejected: [] };

function needsNewGeneration(
  topic: Topic,
  fields: readonly string[],
  stats: ReadonlyMap<string, { size: number; mtimeMs: number }>,
): boolean {
  const s = topic.state;
  if (s.generation < 0 || s.partial !== undefined) return true;
  if (s.fields.length !== fields.length || s.fields.some((f, i) => f !== fields[i])) return true;
  for (const [name, had] of Object.entries(s.files)) {
    const now = stats.get(name);
    if (now === undefined || now.size !== had.size || now.mtimeMs !== had.mtimeMs) return true;
  }
  return false;
}

/** What {@link ingestFollowed} needs besides the topic. */
export interface FollowIngest {
  readonly file: string;
  readonly name: string;
  readonly contract: Contract;
  readonly follow: Follow;
  readonly signal: AbortSignal;
  readonly now: () => number;
  /** Called after each append, e.g. to wake the flow that reads the topic. */
  readonly onAppend?: () => void;
}

/**
 * Tails a followed file into its topic from where the last ingestion stopped (the position in the topic's last
 * marker) until `signal` aborts or the file stays quiet for its `stopAfterIdle`. Each chunk and its position go in
 * one append, so after a crash the file is read on from exactly the first record not in the topic.
 */
export async function ingestFollowed(topic: Topic, o: FollowIngest): Promise<IngestResult> {
  const fields = o.contract.schema.fields.map((f) => f.name);
  const s = topic.state;
  let newGeneration = false;
  if (s.generation < 0) {
    await topic.startGeneration(fields);
    newGeneration = true;
  } else if (s.fields.length !== fields.length || s.fields.some((f, i) => f !== fields[i])) {
    throw new Error(
      `dataset ${topic.dataset}: its contract's fields (${fields.join(', ')}) differ from those of its log (${s.fields.join(', ')}); reprocess with napkin replay after resetting the topic`,
    );
  }
  const timeCol = o.contract.eventTime === undefined ? -1 : fields.indexOf(o.contract.eventTime);
  const reader = openTailSource({
    file: o.file,
    display: o.name,
    contract: o.contract,
    follow: o.follow,
    signal: o.signal,
    now: o.now,
    ...(s.position === undefined ? {} : { from: s.position as { bytes: number; line: number; record: number } }),
  });
  let records = 0;
  for await (const chunk of reader.chunks()) {
    if (chunk.batch.length === 0 && chunk.rejected.length === 0) continue;
    await topic.appendChunk(chunk, timeCol, Date.now(), {
      kind: 'chunk',
      file: o.name,
      ...(chunk.position === undefined ? {} : { position: chunk.position }),
    });
    records += chunk.batch.length + chunk.rejected.length;
    o.onAppend?.();
  }
  await topic.saveState();
  return { dataset: topic.dataset, files: 0, records, newGeneration };
}
