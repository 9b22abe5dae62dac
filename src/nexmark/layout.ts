import type { GeneratorConfig } from './options.ts';
import { SHUFFLE_PRIME } from './options.ts';
import type { EventKind } from './schema.ts';

/**
 * Where events sit (spec nexmark.md §3.3, §3.4, §3.7): the id at each output position, the kind and event time of
 * each id, and the newest person and auction an id can refer to. Pure integer arithmetic on ids.
 */

export const PERSON = 0;
export const AUCTION = 1;
export const BID = 2;
export type KindCode = typeof PERSON | typeof AUCTION | typeof BID;
export const KIND_NAMES: readonly EventKind[] = ['person', 'auction', 'bid'];

/** Person and auction ids start here; every id below is "base 0" until this is added (§3.4). */
export const FIRST_ID = 1000;

/**
 * The event id at position n: adj(n) = floor(n/G)·G + ((n·953) mod G). The last block is shuffled only when it is
 * whole: a partial one would map positions to ids at or past N, and the set of events must not depend on G.
 */
export function eventIdAt(n: number, c: GeneratorConfig): number {
  const g = c.outOfOrder;
  if (g === 1) return n;
  const base = n - (n % g);
  if (base + g > c.events) return n;
  // (n mod G)·953 instead of n·953 keeps the product far below 2^53 for any n.
  return base + (((n % g) * SHUFFLE_PRIME) % g);
}

export function kindCodeOf(e: number, c: GeneratorConfig): KindCode {
  const r = e % c.totalProportion;
  return r < c.personProportion ? PERSON : r < c.personProportion + c.auctionProportion ? AUCTION : BID;
}

export function kindOf(e: number, c: GeneratorConfig): EventKind {
  return KIND_NAMES[kindCodeOf(e, c)];
}

/**
 * baseTime + floor(e·1000/R). e·1000 is exact (options cap N), and for integers x < 2^53 the rounded quotient x/R
 * never reaches the next integer (that would need an error of 1/R, more than x/R·2^−53), so floor is exact.
 */
export function dateTimeOf(e: number, c: GeneratorConfig): number {
  return c.baseTime + Math.floor((e * 1000) / c.rate);
}

/** The newest person at event e (base 0); a person event's own id is this + 1000. */
export function lastPerson(e: number, c: GeneratorConfig): number {
  const t = c.totalProportion;
  const r = e % t;
  return ((e - r) / t) * c.personProportion + Math.min(r, c.personProportion - 1);
}

/** The newest auction at event e (base 0); an auction event's own id is this + 1000. */
export function lastAuction(e: number, c: GeneratorConfig): number {
  const t = c.totalProportion;
  const r = e % t;
  const epoch = (e - r) / t;
  if (r < c.personProportion) return epoch * c.auctionProportion - 1;
  if (r < c.personProportion + c.auctionProportion) return epoch * c.auctionProportion + (r - c.personProportion);
  return epoch * c.auctionProportion + c.auctionProportion - 1;
}

/**
 * The watermark once positions before `next` are out: the event time of the first id of next's block, the earliest
 * time still to come (§3.7), or +∞ (`end`) when every position is out.
 */
export function watermarkAt(next: number, c: GeneratorConfig, end: number): number {
  if (next >= c.events) return end;
  return dateTimeOf(next - (next % c.outOfOrder), c);
}

/** How long an auction opened at e lasts on average: the event time until numInFlightAuctions more have opened. */
export function horizonOf(e: number, c: GeneratorConfig): number {
  const ahead = Math.floor((c.numInFlightAuctions * c.totalProportion) / c.auctionProportion);
  return dateTimeOf(e + ahead, c) - dateTimeOf(e, c);
}
