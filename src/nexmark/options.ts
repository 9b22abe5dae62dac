/** The generator's parameters (spec nexmark.md §3.1), their defaults and their checks. */

export interface GeneratorOptions {
  /** N: how many events (positions 0 … N − 1). */
  readonly events: number;
  /** Events per second of event time; default 10,000. */
  readonly rate?: number;
  /** Event time of event 0 in ms; default 2026-01-01T00:00:00Z. */
  readonly baseTime?: number;
  /** Seed of every random choice; default 0. */
  readonly seed?: number;
  /** G, the size of the blocks whose order is shuffled (§3.7); default 1 (in order). */
  readonly outOfOrder?: number;
  /** Event mix: P_person / P_auction / P_bid, default 1 / 3 / 46. */
  readonly personProportion?: number;
  readonly auctionProportion?: number;
  readonly bidProportion?: number;
  /** People that random sellers and bidders are drawn from; default 1000. */
  readonly numActivePeople?: number;
  /** Auctions that random bids are drawn from, which also sets how long auctions last; default 100. */
  readonly numInFlightAuctions?: number;
  /** A seller is the hot seller with probability 1 − 1/ratio; default 4. */
  readonly hotSellersRatio?: number;
  /** A bidder is the hot bidder with probability 1 − 1/ratio; default 4. */
  readonly hotBiddersRatio?: number;
  /** A bid goes to the hot auction with probability 1 − 1/ratio; default 2. */
  readonly hotAuctionRatio?: number;
  /** Target average record sizes in bytes; default 200 / 500 / 100. */
  readonly avgPersonSize?: number;
  readonly avgAuctionSize?: number;
  readonly avgBidSize?: number;
}

/** Every parameter, defaults applied and checked. */
export interface GeneratorConfig {
  readonly events: number;
  readonly rate: number;
  readonly baseTime: number;
  readonly seed: number;
  readonly outOfOrder: number;
  readonly personProportion: number;
  readonly auctionProportion: number;
  readonly bidProportion: number;
  /** T = P_person + P_auction + P_bid. */
  readonly totalProportion: number;
  readonly numActivePeople: number;
  readonly numInFlightAuctions: number;
  readonly hotSellersRatio: number;
  readonly hotBiddersRatio: number;
  readonly hotAuctionRatio: number;
  readonly avgPersonSize: number;
  readonly avgAuctionSize: number;
  readonly avgBidSize: number;
}

/** 2026-01-01T00:00:00Z. */
export const DEFAULT_BASE_TIME = 1_767_225_600_000;
/** The multiplier of the out-of-order shuffle (§3.7): a group size that is a multiple of it would not permute. */
export const SHUFFLE_PRIME = 953;

/** Options that break a rule of §3.1; the message names the option and what to give instead. */
export class GeneratorOptionError extends Error {
  override readonly name = 'GeneratorOptionError';
}

export function resolveOptions(o: GeneratorOptions): GeneratorConfig {
  const c = {
    events: integer('events', o.events, 0),
    rate: integer('rate', o.rate ?? 10_000, 1),
    baseTime: integer('baseTime', o.baseTime ?? DEFAULT_BASE_TIME, -Number.MAX_SAFE_INTEGER),
    seed: integer('seed', o.seed ?? 0, -Number.MAX_SAFE_INTEGER),
    outOfOrder: groupSize(o.outOfOrder ?? 1),
    personProportion: integer('personProportion', o.personProportion ?? 1, 1),
    auctionProportion: integer('auctionProportion', o.auctionProportion ?? 3, 1),
    bidProportion: integer('bidProportion', o.bidProportion ?? 46, 1),
    numActivePeople: integer('numActivePeople', o.numActivePeople ?? 1000, 1),
    numInFlightAuctions: integer('numInFlightAuctions', o.numInFlightAuctions ?? 100, 1),
    hotSellersRatio: integer('hotSellersRatio', o.hotSellersRatio ?? 4, 1),
    hotBiddersRatio: integer('hotBiddersRatio', o.hotBiddersRatio ?? 4, 1),
    hotAuctionRatio: integer('hotAuctionRatio', o.hotAuctionRatio ?? 2, 1),
    avgPersonSize: size('avgPersonSize', o.avgPersonSize ?? 200),
    avgAuctionSize: size('avgAuctionSize', o.avgAuctionSize ?? 500),
    avgBidSize: size('avgBidSize', o.avgBidSize ?? 100),
  };
  const totalProportion = c.personProportion + c.auctionProportion + c.bidProportion;
  // dateTime multiplies an event id by 1000: keep that product exact.
  if (c.events > Math.floor(Number.MAX_SAFE_INTEGER / 1000)) {
    throw new GeneratorOptionError(`nexmark generator: events ${c.events} is too large; give at most 9007199254740`);
  }
  return { ...c, totalProportion };
}

function integer(name: string, v: number, min: number): number {
  if (!Number.isSafeInteger(v) || v < min) {
    const bound = min === 0 ? 'a non-negative' : min === 1 ? 'a positive' : 'an';
    throw new GeneratorOptionError(`nexmark generator: ${name} ${v} is not valid; give ${bound} integer`);
  }
  return v;
}

/** Padding is sliced from a 1 MiB pool and runs up to 1.2 times the target size, so the target stays below this. */
const MAX_AVG_SIZE = 800_000;

function size(name: string, v: number): number {
  integer(name, v, 0);
  if (v > MAX_AVG_SIZE) {
    throw new GeneratorOptionError(`nexmark generator: ${name} ${v} is too large; give at most ${MAX_AVG_SIZE} bytes`);
  }
  return v;
}

function groupSize(g: number): number {
  integer('outOfOrder', g, 1);
  if (g % SHUFFLE_PRIME === 0) {
    throw new GeneratorOptionError(
      `nexmark generator: outOfOrder ${g} is a multiple of ${SHUFFLE_PRIME}, so blocks would not be shuffled; give another group size`,
    );
  }
  return g;
}
