import { join } from 'node:path';
import { LogSnapshot } from '../log/snapshot.ts';
import { readJson } from './durable-json.ts';
import { emptyState, kindOf, observe, type TopicState, topicDir } from './topic.ts';

const SCAN_RECORDS = 4096;

/** How far a flow's committed input trails a source dataset's topic. */
export interface TopicLag {
  readonly dataset: string;
  /** One past the last record of the topic (its last marker): where an epoch planned now would stop. */
  readonly end: number;
  /** Offset of the current generation's marker (see topic.ts); −1 before the first. */
  readonly generation: number;
  /** Where the input of the last committed epoch ends in the topic; absent before the first epoch. */
  readonly committed?: number;
  /** Records (rows and records refused at ingestion) of the current generation that no committed epoch covers. */
  readonly records: number;
  /**
   * When the oldest of them entered the log (the timestamp of its chunk's marker, stamped at ingestion), and how
   * long before `now` (0 for one appended after `now` was taken): the lag in processing time, whatever event times
   * the records carry.
   */
  readonly oldest?: { readonly at: string; readonly ageMs: number };
}

/**
 * The lag of the topic of `dataset` behind `committed`, read without taking the log's lock and without writing: a
 * process ingesting into the topic at the same time is not disturbed, and what it appends after the log is looked at
 * is not counted. Undefined when the topic does not exist yet (nothing was ever ingested).
 */
export async function topicLag(
  stateDir: string,
  dataset: string,
  committed: number | undefined,
  now: number,
): Promise<TopicLag | undefined> {
  const dir = topicDir(stateDir, dataset);
  // The state cache first: it describes a prefix of the log, so the log read after it holds at least as much.
  const cached = await readCache(dir);
  const log = await LogSnapshot.open(dir);
  if (log === undefined) return undefined;
  try {
    const end = log.endOffset(0);
    const state = cached !== undefined && cached.end <= end ? cached : emptyState();
    const scanned = state.end === 0 ? log.startOffset(0) : state.end;
    // Records before the cached generation are not read by any epoch to come; before `committed`, already read.
    const from = Math.min(scanned, Math.max(committed ?? 0, state.generation + 1, log.startOffset(0)));
    let records = 0;
    let first: number | undefined;
    let oldestAt: number | undefined;
    for (let next = from; next < end; ) {
      const batch = await log.read(0, next, SCAN_RECORDS);
      if (batch.length === 0) break;
      for (const r of batch) {
        const kind = kindOf(r);
        if (kind === 'marker') {
          const before = state.generation;
          observe(state, r);
          if (state.generation !== before) {
            records = 0;
            first = oldestAt = undefined;
          } else if (first !== undefined && oldestAt === undefined) oldestAt = r.timestamp;
        } else if (r.offset >= (committed ?? 0) && r.offset > state.generation) {
          records++;
          first ??= r.offset;
        }
      }
      next = batch[batch.length - 1].offset + 1;
    }
    return {
      dataset,
      end: state.end,
      generation: state.generation,
      ...(committed === undefined ? {} : { committed }),
      records,
      ...(oldestAt === undefined
        ? {}
        : { oldest: { at: new Date(oldestAt).toISOString(), ageMs: Math.max(0, now - oldestAt) } }),
    };
  } finally {
    await log.close();
  }
}

/** The topic's state cache (see topic-log.ts), or undefined when it is missing or not one napkin wrote. */
async function readCache(dir: string): Promise<TopicState | undefined> {
  const c = (await readJson(join(dir, 'topic.json')).catch(() => undefined)) as
    | { format?: string; version?: number; state?: TopicState }
    | undefined;
  return c?.format === 'napkin-topic-state' && c.version === 1 && c.state !== undefined ? c.state : undefined;
}
