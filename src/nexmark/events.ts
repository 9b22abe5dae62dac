import type { Column } from '../runtime/batch.ts';
import { dateTimeOf, FIRST_ID, horizonOf, lastAuction, lastPerson } from './layout.ts';
import type { GeneratorConfig } from './options.ts';
import { PriceDrawer } from './prices.ts';
import { Rng } from './prng.ts';
import { randomString } from './strings.ts';
import { POOL_SIZE, type Tables } from './tables.ts';

/**
 * Writes one event's fields into row i of its kind's columns (spec nexmark.md §3.4, §3.5), columns in FIELDS order.
 * Each event reseeds the generator from its id first, so its values depend on (seed, id) alone. The draws of an event
 * come in the order of the code below; changing that order changes the stream (bump GENERATOR_VERSION).
 */
export class EventWriter {
  private readonly rng: Rng;
  private readonly prices: PriceDrawer;
  private readonly hotSeller: number;
  private readonly hotBidder: number;
  private readonly hotAuction: number;
  /** Base record sizes of §3.5 without the variable-length fields. */
  private readonly auctionBase = 8 + 40;
  private readonly bidBase = 32;

  constructor(
    private readonly c: GeneratorConfig,
    private readonly t: Tables,
  ) {
    this.rng = new Rng(c.seed, 0);
    this.prices = new PriceDrawer(this.rng);
    this.hotSeller = 1 - 1 / c.hotSellersRatio;
    this.hotBidder = 1 - 1 / c.hotBiddersRatio;
    this.hotAuction = 1 - 1 / c.hotAuctionRatio;
  }

  person(e: number, cols: readonly Column[], i: number): void {
    const rng = this.rng;
    const t = this.t;
    rng.reseed(e);
    const name = t.names[rng.below(t.firstNames.length) * t.lastNames.length + rng.below(t.lastNames.length)];
    const email = `${randomString(rng, 7)}@${randomString(rng, 5)}.com`;
    const d = t.digits4;
    const card = `${d[rng.below(10_000)]} ${d[rng.below(10_000)]} ${d[rng.below(10_000)]} ${d[rng.below(10_000)]}`;
    const city = t.cities[rng.below(t.cities.length)];
    const state = t.states[rng.below(t.states.length)];
    const base = 8 + name.length + email.length + card.length + city.length + state.length;
    cols[0][i] = lastPerson(e, this.c) + FIRST_ID;
    cols[1][i] = name;
    cols[2][i] = email;
    cols[3][i] = card;
    cols[4][i] = city;
    cols[5][i] = state;
    cols[6][i] = dateTimeOf(e, this.c);
    cols[7][i] = this.extra(base, this.c.avgPersonSize);
  }

  auction(e: number, cols: readonly Column[], i: number): void {
    const rng = this.rng;
    const c = this.c;
    rng.reseed(e);
    const itemName = randomString(rng, 20);
    const description = randomString(rng, 100);
    const initialBid = this.price();
    const reserve = initialBid + this.price();
    const dateTime = dateTimeOf(e, c);
    const expires = dateTime + 1 + rng.below(Math.max(2 * horizonOf(e, c), 1));
    const lp = lastPerson(e, c);
    const seller = rng.chance(this.hotSeller) ? Math.floor(lp / 100) * 100 : this.activePerson(lp);
    const category = 10 + rng.below(5);
    cols[0][i] = lastAuction(e, c) + FIRST_ID;
    cols[1][i] = itemName;
    cols[2][i] = description;
    cols[3][i] = initialBid;
    cols[4][i] = reserve;
    cols[5][i] = dateTime;
    cols[6][i] = expires;
    cols[7][i] = seller + FIRST_ID;
    cols[8][i] = category;
    cols[9][i] = this.extra(this.auctionBase + itemName.length + description.length, c.avgAuctionSize);
  }

  bid(e: number, cols: readonly Column[], i: number): void {
    const rng = this.rng;
    const c = this.c;
    const t = this.t;
    rng.reseed(e);
    const la = lastAuction(e, c);
    const auction = rng.chance(this.hotAuction) ? Math.floor(la / 100) * 100 : this.inFlightAuction(la);
    const lp = lastPerson(e, c);
    const bidder = rng.chance(this.hotBidder) ? Math.floor(lp / 100) * 100 + 1 : this.activePerson(lp);
    cols[0][i] = auction + FIRST_ID;
    cols[1][i] = bidder + FIRST_ID;
    cols[2][i] = this.price();
    if (rng.chance(0.5)) {
      const h = rng.below(t.hotChannels.length);
      cols[3][i] = t.hotChannels[h];
      cols[4][i] = t.hotUrls[h];
    } else {
      const ch = rng.below(t.channels.length);
      cols[3][i] = t.channels[ch];
      cols[4][i] = t.urls[ch];
    }
    cols[5][i] = dateTimeOf(e, c);
    cols[6][i] = this.extra(this.bidBase, c.avgBidSize);
  }

  /** One of the newest numActivePeople people or one of up to 10 not created yet (base 0). */
  private activePerson(lp: number): number {
    const count = lp + 1;
    const active = Math.min(count, this.c.numActivePeople);
    return count - active + this.rng.below(active + 10);
  }

  /** One of the newest ~numInFlightAuctions auctions or one of up to 10 not opened yet (base 0). */
  private inFlightAuction(hi: number): number {
    const lo = Math.max(hi - this.c.numInFlightAuctions, 0);
    return lo + this.rng.below(hi - lo + 1 + 10);
  }

  private price(): number {
    return this.prices.next();
  }

  /** Padding that brings a record of base size s to about a: within ±20 %, a slice of the pool. */
  private extra(s: number, a: number): string {
    if (s > a) return '';
    const m = a - s;
    const d = Math.round(0.2 * m);
    const len = d === 0 ? m : m - d + this.rng.below(2 * d);
    const at = this.rng.below(POOL_SIZE - len + 1);
    return this.t.pool.slice(at, at + len);
  }
}
