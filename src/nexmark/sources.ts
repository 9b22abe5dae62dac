import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Value } from '../expr/types.ts';
import type { Batch } from '../runtime/batch.ts';
import type { SourceChunk, SourceReader } from '../runtime/execute.ts';
import { type GeneratorOptions, NexmarkGenerator } from './generator.ts';
import { type EventKind, FIELDS } from './schema.ts';

/** Positions generated per chunk: one batch through the flow per chunk. */
const CHUNK_POSITIONS = 16_384;
/** Rows of one kind read from an export before they leave as a batch. */
const FILE_CHUNK_ROWS = 8_192;

/**
 * One in-process generator shared by the sources of a run: every event is generated once, whatever the flow reads
 * (as a single Nexmark source does), and each kind's rows go to the source that reads that kind; kinds no source
 * reads are generated and dropped, so every query pays for the whole event stream. In stream mode each chunk carries
 * the generator's watermark (§3.7: the earliest time still to come, so nothing is late) and the sources count as
 * unbounded, so the executor interleaves them by watermark; in batch mode they are bounded inputs (−∞, then +∞), and
 * the first one drained holds the other kinds' rows until their sources run.
 */
export class SharedGenerator {
  private readonly gen: NexmarkGenerator;
  private readonly queues = new Map<EventKind, SourceChunk[]>();
  private done = false;

  constructor(
    options: GeneratorOptions,
    private readonly stream: boolean,
  ) {
    this.gen = new NexmarkGenerator(options);
  }

  source(kind: EventKind): SourceReader {
    const queue: SourceChunk[] = [];
    this.queues.set(kind, queue);
    const self = this;
    return {
      ...(this.stream ? { unbounded: true } : {}),
      async *chunks(): AsyncGenerator<SourceChunk> {
        for (;;) {
          if (queue.length === 0 && !self.done) self.pull();
          const next = queue.shift();
          if (next === undefined) return;
          yield next;
        }
      },
    };
  }

  private pull(): void {
    const c = this.gen.next(CHUNK_POSITIONS);
    this.done = c.done;
    for (const [kind, queue] of this.queues) {
      queue.push({ batch: c[kind], rejected: [], ...(this.stream ? { watermark: c.watermark } : {}) });
    }
  }
}

/** A block of `G` positions of an export: its rows of one kind and the earliest event time among all its events. */
interface Block {
  readonly columns: Value[][];
  rows: number;
  minTime: number;
}

/**
 * Events of one kind from a JSON Lines export (§4). Positions are shuffled only within blocks of `outOfOrder` lines
 * (§3.7), so after a whole block the earliest time still to come is the earliest time of the next block: in stream
 * mode the reader looks one block ahead and publishes exactly that, so no event of the file is late (§5.1).
 */
export function fileSource(path: string, kind: EventKind, stream: boolean, outOfOrder = 1): SourceReader {
  const fields = FIELDS[kind];
  return {
    ...(stream ? { unbounded: true } : {}),
    async *chunks(): AsyncGenerator<SourceChunk> {
      const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
      const newBlock = (): Block => ({ columns: fields.map(() => []), rows: 0, minTime: Number.POSITIVE_INFINITY });
      let ready: Block | null = null;
      let current = newBlock();
      let position = 0;
      for await (const line of lines) {
        if (line === '') continue;
        position++;
        addLine(line, `${path}:${position}`, kind, fields, current);
        if (position % outOfOrder !== 0) continue;
        // `current` is complete: everything before it can leave, behind the earliest time of `current`.
        if (ready !== null && ready.rows >= FILE_CHUNK_ROWS) {
          yield chunkOf(ready, stream ? current.minTime : undefined);
          ready = null;
        }
        ready = ready === null ? current : append(ready, current);
        current = newBlock();
      }
      const rest = ready === null ? current : append(ready, current);
      if (rest.rows > 0) yield chunkOf(rest, undefined);
    },
  };
}

function addLine(line: string, where: string, kind: EventKind, fields: readonly string[], into: Block): void {
  let event: Record<string, Value>;
  try {
    event = JSON.parse(line) as Record<string, Value>;
  } catch (e) {
    throw new Error(`${where}: not a JSON object (${(e as Error).message}); expected a Nexmark export line`);
  }
  const time = event.dateTime;
  if (typeof time !== 'number') throw new Error(`${where}: dateTime is ${JSON.stringify(time)}, expected integer ms`);
  if (time < into.minTime) into.minTime = time;
  if (event.type !== kind) return;
  for (let c = 0; c < fields.length; c++) {
    const v = event[fields[c]];
    if (v === undefined)
      throw new Error(`${where}: ${kind} has no field '${fields[c]}'; expected ${fields.join(', ')}`);
    into.columns[c].push(v);
  }
  into.rows++;
}

function append(a: Block, b: Block): Block {
  for (let c = 0; c < a.columns.length; c++) for (const v of b.columns[c]) a.columns[c].push(v);
  a.rows += b.rows;
  a.minTime = Math.min(a.minTime, b.minTime);
  return a;
}

function chunkOf(b: Block, watermark: number | undefined): SourceChunk {
  const batch: Batch = { length: b.rows, columns: b.columns };
  return { batch, rejected: [], ...(watermark === undefined ? {} : { watermark }) };
}
