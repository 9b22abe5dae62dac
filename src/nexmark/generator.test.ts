import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { MAX_TIMESTAMP } from '../time/timestamps.ts';
import { GeneratorOptionError, NexmarkGenerator } from './generator.ts';
import type { EventKind } from './schema.ts';
import { FIELDS } from './schema.ts';
import { HOT_CHANNELS, rev32, STATES } from './tables.ts';
import { allEvents, chunkEvents, type NexmarkEvent } from './testing.ts';

const BASE = 1_767_225_600_000;
const N = 200_000;

// The spec's formulas (nexmark.md §3.3, §3.4) for the default mix 1 / 3 / 46, written out independently of layout.ts.
const lastPerson = (e: number) => Math.floor(e / 50);
const lastAuction = (e: number) => {
  const epoch = Math.floor(e / 50);
  const r = e % 50;
  return r === 0 ? epoch * 3 - 1 : r <= 3 ? epoch * 3 + r - 1 : epoch * 3 + 2;
};
const dateTime = (e: number, rate = 10_000, base = BASE) => Number(BigInt(base) + (BigInt(e) * 1000n) / BigInt(rate));

const num = (v: unknown): number => v as number;
const str = (v: unknown): string => v as string;

describe('nexmark generator: §3.6 invariants over 200,000 events', () => {
  const events = allEvents(new NexmarkGenerator({ events: N }));

  test('one event per position, kinds by id mod 50: 1 person, 3 auctions, 46 bids per block', () => {
    assert.equal(events.length, N);
    events.forEach((ev, e) => {
      const r = e % 50;
      assert.equal(ev.type, r === 0 ? 'person' : r <= 3 ? 'auction' : 'bid', `event ${e}`);
    });
  });

  test('person and auction ids are consecutive from 1000; dateTime is baseTime + floor(e·1000/R)', () => {
    const persons = events.filter((e) => e.type === 'person').map((e) => e.id);
    const auctions = events.filter((e) => e.type === 'auction').map((e) => e.id);
    assert.deepEqual(
      persons,
      persons.map((_, i) => 1000 + i),
    );
    assert.deepEqual(
      auctions,
      auctions.map((_, i) => 1000 + i),
    );
    events.forEach((ev, e) => {
      assert.equal(ev.dateTime, dateTime(e), `event ${e}`);
    });
  });

  test('sellers, bidders and auctions lie in the ranges of §3.6', () => {
    events.forEach((ev, e) => {
      const lp = lastPerson(e);
      const la = lastAuction(e);
      const person = (v: unknown) => num(v) >= Math.max(0, lp - 999) + 1000 && num(v) <= lp + 1010;
      if (ev.type === 'auction') assert.ok(person(ev.seller), `seller of ${e}: ${ev.seller}, lp ${lp}`);
      if (ev.type === 'bid') {
        assert.ok(person(ev.bidder), `bidder of ${e}: ${ev.bidder}, lp ${lp}`);
        const a = num(ev.auction);
        assert.ok(a >= Math.max(0, la - 100) + 1000 && a <= la + 1010, `auction of ${e}: ${a}, la ${la}`);
      }
    });
  });

  test('categories, prices, reserves and expiry bounds', () => {
    for (const [e, ev] of events.entries()) {
      if (ev.type === 'bid') assert.ok(num(ev.price) >= 100 && num(ev.price) <= 1e8, `price ${ev.price}`);
      if (ev.type !== 'auction') continue;
      const initial = num(ev.initialBid);
      assert.ok(num(ev.category) >= 10 && num(ev.category) <= 14, `category ${ev.category}`);
      assert.ok(initial >= 100 && initial <= 1e8, `initialBid ${initial}`);
      assert.ok(num(ev.reserve) >= initial + 100 && num(ev.reserve) <= initial + 1e8, `reserve ${ev.reserve}`);
      const horizon = dateTime(e + 1666) - dateTime(e);
      const t = num(ev.dateTime);
      assert.ok(num(ev.expires) >= t + 1 && num(ev.expires) <= t + Math.max(2 * horizon, 1), `expires of ${e}`);
    }
    const categories = new Set(events.filter((e) => e.type === 'auction').map((e) => e.category));
    assert.deepEqual([...categories].sort(), [10, 11, 12, 13, 14]);
  });

  test('prices are log-uniform: about a sixth of them per decade from 10^2 to 10^8', () => {
    const prices = events.filter((e) => e.type === 'bid').map((e) => num(e.price));
    const decades = [0, 0, 0, 0, 0, 0];
    for (const p of prices) decades[Math.min(5, Math.floor(Math.log10(p) - 2))]++;
    for (const d of decades) assert.ok(Math.abs(d / prices.length - 1 / 6) < 0.01, `decades ${decades}`);
  });

  test('hot shares: ~1/2 of bids on the hot auction, ~3/4 of sellers and bidders hot, ~1/2 hot channels', () => {
    let hotAuction = 0;
    let hotBidder = 0;
    let hotChannel = 0;
    let bids = 0;
    let hotSeller = 0;
    let auctions = 0;
    for (const [e, ev] of events.entries()) {
      const hotPerson = Math.floor(lastPerson(e) / 100) * 100 + 1000;
      if (ev.type === 'auction') {
        auctions++;
        if (ev.seller === hotPerson) hotSeller++;
      } else if (ev.type === 'bid') {
        bids++;
        if (ev.auction === Math.floor(lastAuction(e) / 100) * 100 + 1000) hotAuction++;
        if (ev.bidder === hotPerson + 1) hotBidder++;
        if (HOT_CHANNELS.includes(str(ev.channel))) hotChannel++;
      }
    }
    // A random pick can land on the hot one too (1 in ~110 auctions, ~1010 people): allow for it and for noise.
    assert.ok(Math.abs(hotAuction / bids - 0.5) < 0.015, `hot auction share ${hotAuction / bids}`);
    assert.ok(Math.abs(hotBidder / bids - 0.75) < 0.01, `hot bidder share ${hotBidder / bids}`);
    assert.ok(Math.abs(hotSeller / auctions - 0.75) < 0.02, `hot seller share ${hotSeller / auctions}`);
    assert.ok(Math.abs(hotChannel / bids - 0.5) < 0.01, `hot channel share ${hotChannel / bids}`);
  });

  test('bid extra has 54–81 characters; records land within ±20 % of their target size', () => {
    for (const ev of events) {
      const extra = str(ev.extra);
      assert.match(extra, /^[a-z]*$/);
      if (ev.type === 'bid') assert.ok(extra.length >= 54 && extra.length <= 81, `bid extra ${extra.length}`);
      if (ev.type === 'person') {
        const base = 8 + [ev.name, ev.emailAddress, ev.creditCard, ev.city, ev.state].join('').length;
        assert.ok(Math.abs(base + extra.length - 200) <= 0.2 * (200 - base) + 1, `person size ${base}+${extra.length}`);
      }
      if (ev.type === 'auction') {
        const base = 48 + str(ev.itemName).length + str(ev.description).length;
        assert.ok(Math.abs(base + extra.length - 500) <= 0.2 * (500 - base) + 1, `auction size ${base}`);
      }
    }
  });

  test('person fields: names, emails, card numbers, cities and the six states', () => {
    const persons = events.filter((e) => e.type === 'person');
    for (const p of persons) {
      assert.match(str(p.name), /^[A-Z][a-z]+ [A-Z][a-z]+$/);
      assert.match(str(p.emailAddress), /^([a-z]([a-z ]*[a-z])?)?@([a-z]([a-z ]*[a-z])?)?\.com$/);
      assert.match(str(p.creditCard), /^\d{4} \d{4} \d{4} \d{4}$/);
    }
    assert.equal(new Set(persons.map((p) => p.name)).size, 99);
    assert.equal(new Set(persons.map((p) => p.city)).size, 10);
    assert.deepEqual([...new Set(persons.map((p) => p.state))].sort(), [...STATES].sort());
    assert.deepEqual(STATES, ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY']);
  });

  test('auction strings: trimmed random strings of the right lengths', () => {
    for (const a of events.filter((e) => e.type === 'auction')) {
      assert.match(str(a.itemName), /^([a-z]([a-z ]*[a-z])?)?$/);
      assert.ok(str(a.itemName).length <= 19 && str(a.description).length <= 99);
    }
  });

  test('every string uses a character set JSON never escapes (the JSONL export quotes strings as they are)', () => {
    for (const ev of events) {
      for (const v of Object.values(ev)) if (typeof v === 'string') assert.match(v, /^[A-Za-z0-9 @._\-/:?=&]*$/);
    }
  });

  test('channels and URLs: fixed per channel, channel_id = |rev32(i)| on ~9/10 of the 10,000, none on hot ones', () => {
    const urls = new Map<string, string>();
    for (const b of events.filter((e) => e.type === 'bid')) {
      const seen = urls.get(str(b.channel));
      assert.ok(seen === undefined || seen === b.url, `channel ${b.channel} has two URLs`);
      urls.set(str(b.channel), str(b.url));
    }
    let withId = 0;
    let channels = 0;
    for (const [channel, url] of urls) {
      assert.match(url, /^https:\/\/www\.nexmark\.com\/[a-z_]{3,4}\/[a-z_]{3,4}\/[a-z_]{3,4}\/item\.htm\?query=1/);
      if (HOT_CHANNELS.includes(channel)) {
        assert.ok(!url.includes('channel_id'), url);
        continue;
      }
      const i = Number(channel.replace(/^channel-/, ''));
      assert.ok(Number.isInteger(i) && i >= 0 && i < 10_000, channel);
      channels++;
      if (url.includes('&channel_id=')) {
        withId++;
        assert.ok(url.endsWith(`&channel_id=${Math.abs(rev32(i))}`), url);
      }
    }
    assert.equal([...urls.keys()].filter((c) => HOT_CHANNELS.includes(c)).length, 4);
    assert.ok(Math.abs(withId / channels - 0.9) < 0.02, `channel_id share ${withId / channels}`);
  });
});

describe('nexmark generator: arithmetic', () => {
  test('rev32 reverses the 32 bits as a signed integer', () => {
    assert.equal(rev32(0), 0);
    assert.equal(rev32(1), -2147483648);
    assert.equal(rev32(2), 1073741824);
    assert.equal(rev32(6), 1610612736);
    assert.equal(Math.abs(rev32(1)), 2147483648);
  });

  test('dateTime is exact for rates that do not divide 1000 and for large ids', () => {
    for (const rate of [1, 3, 7, 10_000, 999_983]) {
      const g = new NexmarkGenerator({ events: 500, rate, baseTime: 5 });
      allEvents(g, 97).forEach((ev, e) => {
        assert.equal(ev.dateTime, dateTime(e, rate, 5), `rate ${rate}, event ${e}`);
      });
    }
  });

  test('bad options are refused with a one-line message naming the option', () => {
    const bad: [Record<string, number>, RegExp][] = [
      [{ events: 10, outOfOrder: 953 }, /outOfOrder 953 is a multiple of 953/],
      [{ events: 10, outOfOrder: 1906 }, /multiple of 953/],
      [{ events: 10, rate: 0 }, /rate 0/],
      [{ events: -1 }, /events -1/],
      [{ events: 1.5 }, /events 1.5/],
      [{ events: 10, seed: Number.NaN }, /seed NaN/],
    ];
    for (const [o, message] of bad) {
      assert.throws(
        () => new NexmarkGenerator({ events: 0, ...o }),
        (e: Error) => e instanceof GeneratorOptionError && message.test(e.message) && !e.message.includes('\n'),
      );
    }
  });
});

describe('nexmark generator: determinism', () => {
  const options = { events: 3000, seed: 42 };
  const reference = allEvents(new NexmarkGenerator(options), 3000);

  test('the same options give the same events; another seed gives others', () => {
    assert.deepEqual(allEvents(new NexmarkGenerator(options), 3000), reference);
    const other = allEvents(new NexmarkGenerator({ ...options, seed: 43 }), 3000);
    assert.equal(other.length, reference.length);
    assert.notDeepEqual(other, reference);
  });

  test('after reset and in any chunk sizes, the events are the same', () => {
    const g = new NexmarkGenerator(options);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 700 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        g.reset();
        const got: NexmarkEvent[] = [];
        let at = 0;
        for (let i = 0; at < options.events; i++) {
          const c = g.next(sizes[i % sizes.length] || 1);
          got.push(...chunkEvents(g, c, at));
          at += c.positions;
        }
        assert.deepEqual(got, reference);
      }),
      { numRuns: 30 },
    );
  });

  test('a chunk past the end is empty, done, and carries +∞', () => {
    const g = new NexmarkGenerator({ events: 10 });
    assert.equal(g.next(100).positions, 10);
    const after = g.next(5);
    assert.deepEqual([after.positions, after.done, after.watermark], [0, true, MAX_TIMESTAMP]);
    assert.equal(after.bid.columns.length, FIELDS.bid.length);
  });

  test('a kinds filter yields exactly that subset, with empty batches of the right width for the others', () => {
    const kinds: EventKind[] = ['person', 'auction', 'bid'];
    fc.assert(
      fc.property(fc.subarray(kinds), fc.integer({ min: 1, max: 1200 }), (wanted, size) => {
        const g = new NexmarkGenerator(options);
        const full = new NexmarkGenerator(options);
        const set = new Set(wanted);
        for (let done = false; !done; ) {
          const a = g.next(size, set);
          const b = full.next(size);
          for (const k of kinds) {
            assert.equal(a[k].columns.length, FIELDS[k].length);
            assert.deepEqual(a[k], set.has(k) ? b[k] : { length: 0, columns: FIELDS[k].map(() => []) });
          }
          assert.deepEqual([a.positions, a.watermark, a.done], [b.positions, b.watermark, b.done]);
          done = a.done;
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe('nexmark generator: out-of-order groups (§3.7)', () => {
  const events = 10_007;
  const inOrder = allEvents(new NexmarkGenerator({ events }));
  const key = (e: NexmarkEvent) => JSON.stringify(e);
  /** adj(n), and in order in a last block cut short by N (its shuffle would reach ids past N). */
  const adj = (n: number, g: number) => (n >= Math.floor(events / g) * g ? n : Math.floor(n / g) * g + ((n * 953) % g));

  // G = 2 and 7 divide 952, so 953 ≡ 1 (mod G) and adj is the identity there: the order stays.
  for (const g of [2, 3, 7, 100, 1000, 4000]) {
    test(`G = ${g}: the event at position n is event adj(n), the same multiset, never behind the watermark`, () => {
      const gen = new NexmarkGenerator({ events, outOfOrder: g });
      const got: NexmarkEvent[] = [];
      let watermark = Number.NEGATIVE_INFINITY;
      let at = 0;
      for (let i = 0; ; i++) {
        const c = gen.next(1 + ((i * 389) % 613));
        const evs = chunkEvents(gen, c, at);
        for (const e of evs) assert.ok(num(e.dateTime) >= watermark, `event at ${at} behind watermark ${watermark}`);
        assert.ok(c.watermark >= watermark, 'watermark went back');
        watermark = c.watermark;
        got.push(...evs);
        at += c.positions;
        if (c.done) break;
      }
      assert.equal(watermark, MAX_TIMESTAMP);
      got.forEach((e, n) => {
        assert.deepEqual(e, inOrder[adj(n, g)], `position ${n}`);
      });
      assert.deepEqual(got.map(key).sort(), inOrder.map(key).sort());
      if (953 % g !== 1) assert.notDeepEqual(got, inOrder);
    });
  }

  test('event time jumps back inside a block', () => {
    const got = allEvents(new NexmarkGenerator({ events, outOfOrder: 1000 }));
    const times = got.slice(0, 1000).map((e) => num(e.dateTime));
    assert.ok(times.some((t, i) => i > 0 && t < times[i - 1]));
  });
});
