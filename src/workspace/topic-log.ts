import { join } from 'node:path';
import { crashPoint } from '../connectors/crash-point.ts';
import { type AppendRecord, Log, type LogOptions, type LogRecord } from '../log/log.ts';
import type { AppendResult } from '../log/partition.ts';
import type { SourceChunk } from '../runtime/execute.ts';
import { readJson, writeDurableJson } from './durable-json.ts';
import { emptyState, kindOf, MARKER_KEY, type Marker, observe, QUARANTINE_KEY, type TopicState } from './topic.ts';

const CACHE = 'topic.json';
const SCAN_RECORDS = 4096;

/**
 * Where a topic's records are kept: partition 0 of the embedded log (`Log`), or a Kafka topic (`KafkaLog`, for a
 * project whose log is on Kafka). Offsets grow; they may skip (compaction, Kafka's transaction markers).
 */
export interface TopicStorage {
  /** The local folder of the topic's state cache. */
  readonly dir: string;
  startOffset(partition: number): number;
  endOffset(partition: number): number;
  offsetForTimestamp(partition: number, timestamp: number): Promise<number>;
  read(partition: number, from: number, max: number): Promise<LogRecord[]>;
  append(partition: number, records: readonly AppendRecord[]): Promise<AppendResult>;
  close(): Promise<void>;
}

/**
 * A dataset's topic, open for ingestion and reading: its log and its state. One process has it open at a time (the
 * log's lock); ingestion appends a chunk's records and its marker in one atomic append, so a crash leaves either
 * all of a chunk or none of it.
 */
export class Topic {
  private constructor(
    readonly dataset: string,
    readonly log: TopicStorage,
    readonly state: TopicState,
  ) {}

  /** The topic kept in `storage` (see {@link TopicStorage}); its state is read from the cache and the records. */
  static async on(storage: TopicStorage, dataset: string): Promise<Topic> {
    try {
      return new Topic(dataset, storage, await loadState(storage));
    } catch (e) {
      await storage.close();
      throw e;
    }
  }

  static async open(dir: string, dataset: string, options: LogOptions = {}): Promise<Topic> {
    const log = await Log.open(dir, { partitions: 1, ...options });
    try {
      return new Topic(dataset, log, await loadState(log));
    } catch (e) {
      await log.close();
      throw e;
    }
  }

  /** Starts a new generation (see topic.ts): readers of the dataset read from here on. */
  async startGeneration(fields: readonly string[]): Promise<void> {
    await this.appendMarked([], { kind: 'generation', fields });
  }

  /**
   * Appends a chunk's rows (columns in the order of the generation's fields) and refused records, then `marker`.
   * `timeCol` is the event-time column (the record's log timestamp), or −1 to stamp records with `now`.
   */
  async appendChunk(chunk: SourceChunk, timeCol: number, now: number, marker: Marker): Promise<void> {
    const { batch, rejected } = chunk;
    const records: AppendRecord[] = [];
    const cols = batch.columns;
    const width = cols.length;
    for (let i = 0; i < batch.length; i++) {
      const row = new Array(width);
      for (let c = 0; c < width; c++) row[c] = cols[c][i];
      const t = timeCol < 0 ? now : cols[timeCol][i];
      records.push({ key: null, value: JSON.stringify(row), timestamp: typeof t === 'number' ? Math.trunc(t) : now });
    }
    for (const e of rejected) records.push({ key: QUARANTINE_KEY, value: JSON.stringify(e), timestamp: now });
    await this.appendMarked(records, marker);
  }

  /** The offset the next append gets. */
  get endOffset(): number {
    return this.log.endOffset(0);
  }

  /** The first offset still in the log (retention may have deleted what came before). */
  get startOffset(): number {
    return this.log.startOffset(0);
  }

  /**
   * Where the chunk holding `offset` starts (the offset after the marker before it), no earlier than `floor`: readers
   * start on a chunk boundary, so a chunk's watermark is the same whichever offset a replay asked for.
   */
  async chunkStart(offset: number, floor: number): Promise<number> {
    let start = Math.max(floor, this.startOffset);
    let pos = start;
    while (pos < Math.min(offset, this.endOffset)) {
      const records = await this.read(pos, SCAN_RECORDS);
      if (records.length === 0) break;
      for (const r of records) {
        if (r.offset >= offset) return start;
        if (kindOf(r) === 'marker') start = r.offset + 1;
      }
      pos = records[records.length - 1].offset + 1;
    }
    return start;
  }

  /** The first offset whose record is stamped at or after `timestamp` (ms); the end offset if none is. */
  offsetForTimestamp(timestamp: number): Promise<number> {
    return this.log.offsetForTimestamp(0, timestamp);
  }

  read(from: number, max: number): Promise<LogRecord[]> {
    return this.log.read(0, from, max);
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  private async appendMarked(records: AppendRecord[], marker: Marker): Promise<void> {
    records.push({ key: MARKER_KEY, value: JSON.stringify(marker), timestamp: Date.now() });
    const appended = await this.log.append(0, records);
    crashPoint('ingest-append');
    const value = Buffer.from(records[records.length - 1].value as string);
    observe(this.state, { offset: appended.lastOffset, timestamp: 0, key: Buffer.from(MARKER_KEY), value });
  }

  /** Writes the state cache (only a shortcut for the next open: the log has everything). */
  async saveState(): Promise<void> {
    await saveState(this.log, this.state);
  }
}

interface Cache {
  readonly format: 'napkin-topic-state';
  readonly version: 1;
  readonly state: TopicState;
}

/**
 * The state in the cache, brought up to date with the records appended after it was written (a crash between an
 * append and the cache write); without a usable cache, rebuilt from the whole log.
 */
async function loadState(log: TopicStorage): Promise<TopicState> {
  const cached = await readCache(log.dir);
  const state = cached !== undefined && cached.end <= log.endOffset(0) ? cached : emptyState();
  let from = state.end === 0 ? log.startOffset(0) : state.end;
  const end = log.endOffset(0);
  while (from < end) {
    const records = await log.read(0, from, SCAN_RECORDS);
    if (records.length === 0) break;
    for (const r of records) observe(state, r);
    from = records[records.length - 1].offset + 1;
  }
  return state;
}

/** The cache is only a shortcut: one that is missing or does not parse is rebuilt from the log. */
async function readCache(dir: string): Promise<TopicState | undefined> {
  const c = (await readJson(join(dir, CACHE)).catch(() => undefined)) as Partial<Cache> | undefined;
  return c?.format === 'napkin-topic-state' && c.version === 1 && c.state !== undefined ? c.state : undefined;
}

async function saveState(log: TopicStorage, state: TopicState): Promise<void> {
  const cache: Cache = { format: 'napkin-topic-state', version: 1, state };
  await writeDurableJson(join(log.dir, CACHE), cache);
}
