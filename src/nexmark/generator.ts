import { type Batch, type Column, newColumns } from '../runtime/batch.ts';
import { MAX_TIMESTAMP } from '../time/timestamps.ts';
import { EventWriter } from './events.ts';
import { AUCTION, BID, eventIdAt, KIND_NAMES, kindCodeOf, PERSON, watermarkAt } from './layout.ts';
import { type GeneratorConfig, type GeneratorOptions, resolveOptions } from './options.ts';
import { type EventKind, FIELDS } from './schema.ts';
import { tablesFor } from './tables.ts';

export { type GeneratorConfig, GeneratorOptionError, type GeneratorOptions } from './options.ts';

/**
 * The version of the generated stream (spec nexmark.md §3.2): bench records carry it. Bump it with any change that
 * alters an event or the order of events for the same options.
 */
export const GENERATOR_VERSION = '1';

/** The events at some consecutive positions, by kind, each batch in position order. */
export interface GeneratedChunk {
  /** Columns in FIELDS[kind] order; int64 values and times (ms) as numbers. Empty for a kind not asked for. */
  readonly person: Batch;
  readonly auction: Batch;
  readonly bid: Batch;
  /** The event time of the earliest event still to come (§3.7); MAX_TIMESTAMP once every event is out. */
  readonly watermark: number;
  /** How many positions this chunk covered, events of skipped kinds included. */
  readonly positions: number;
  readonly done: boolean;
}

const ALL_KINDS: ReadonlySet<EventKind> = new Set(KIND_NAMES);

/**
 * napkin's deterministic Nexmark generator (§3): event ids from positions, every value from (seed, id). It never
 * waits and does no I/O; callers take events a chunk at a time.
 */
export class NexmarkGenerator {
  readonly config: GeneratorConfig;
  private readonly writer: EventWriter;
  private position = 0;

  constructor(options: GeneratorOptions) {
    this.config = resolveOptions(options);
    this.writer = new EventWriter(this.config, tablesFor(this.config.seed));
  }

  /** The events at the next `n` positions (fewer at the end), only of the kinds asked for (default all three). */
  next(n: number, kinds: ReadonlySet<EventKind> = ALL_KINDS): GeneratedChunk {
    if (!Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`nexmark generator: next(${n}) needs a non-negative integer count of positions`);
    }
    const c = this.config;
    const start = this.position;
    const end = Math.min(c.events, start + n);
    const counts = this.countKinds(start, end);
    const cols = [0, 1, 2].map((k) =>
      kinds.has(KIND_NAMES[k]) ? newColumns(FIELDS[KIND_NAMES[k]].length, counts[k]) : null,
    );
    this.fill(start, end, cols[PERSON], cols[AUCTION], cols[BID]);
    this.position = end;
    const batch = (k: number): Batch => {
      const columns = cols[k];
      return columns === null
        ? { length: 0, columns: newColumns(FIELDS[KIND_NAMES[k]].length) }
        : { length: counts[k], columns };
    };
    return {
      person: batch(PERSON),
      auction: batch(AUCTION),
      bid: batch(BID),
      watermark: watermarkAt(end, c, MAX_TIMESTAMP),
      positions: end - start,
      done: end >= c.events,
    };
  }

  /** Back to position 0 (same events again). */
  reset(): void {
    this.position = 0;
  }

  /** The kind of the event at a position. */
  kindAt(position: number): EventKind {
    return KIND_NAMES[kindCodeOf(eventIdAt(position, this.config), this.config)];
  }

  private fill(start: number, end: number, p: Column[] | null, a: Column[] | null, b: Column[] | null): void {
    const c = this.config;
    const w = this.writer;
    const t = c.totalProportion;
    const pp = c.personProportion;
    const pa = pp + c.auctionProportion;
    const shuffled = c.outOfOrder > 1;
    let ip = 0;
    let ia = 0;
    let ib = 0;
    for (let n = start; n < end; n++) {
      const e = shuffled ? eventIdAt(n, c) : n;
      const r = e % t;
      // A skipped kind costs only this test: its values are never drawn.
      if (r < pp) {
        if (p !== null) w.person(e, p, ip++);
      } else if (r < pa) {
        if (a !== null) w.auction(e, a, ia++);
      } else if (b !== null) w.bid(e, b, ib++);
    }
  }

  /** Events of each kind at positions [start, end): in closed form when in order, else by visiting them. */
  private countKinds(start: number, end: number): [number, number, number] {
    const c = this.config;
    if (c.outOfOrder === 1) {
      const hi = kindsBelow(end, c);
      const lo = kindsBelow(start, c);
      return [hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]];
    }
    const counts: [number, number, number] = [0, 0, 0];
    for (let n = start; n < end; n++) counts[kindCodeOf(eventIdAt(n, c), c)]++;
    return counts;
  }
}

/** How many of ids 0 … x − 1 are persons, auctions and bids. */
function kindsBelow(x: number, c: GeneratorConfig): [number, number, number] {
  const r = x % c.totalProportion;
  const epochs = (x - r) / c.totalProportion;
  const persons = epochs * c.personProportion + Math.min(r, c.personProportion);
  const auctions = epochs * c.auctionProportion + Math.min(Math.max(r - c.personProportion, 0), c.auctionProportion);
  return [persons, auctions, x - persons - auctions];
}
