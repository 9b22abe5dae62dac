import {
  avg,
  col,
  count,
  fixed,
  lit,
  max,
  type NexmarkQuery,
  type QueryName,
  type QueryParams,
  sessions,
  sliding,
} from 'napkin';

export type { NexmarkQuery, QueryName, QueryParams };

/**
 * The longest auction the generator makes at `rate` (§3.5): expires ≤ dateTime + max(2·horizon, 1), where horizon is
 * the event time of floor(numInFlightAuctions · T / P_auction) = 1666 events, rounded up. It assumes the default
 * event mix and numInFlightAuctions, which QueryParams does not carry. One ms more is a margin against rounding in
 * dateTime(e).
 */
export function longestAuctionMs(rate: number): number {
  if (!Number.isSafeInteger(rate) || rate <= 0) {
    throw new Error(`nexmark query: rate must be a positive integer of events per second; got ${rate}`);
  }
  return 2 * Math.ceil((1666 * 1000) / rate) + 1;
}

/** q0: every bid unchanged; the cost of the source and the engine. A projection. */
const q0: NexmarkQuery = {
  name: 'q0',
  description: 'pass-through: every bid',
  columns: ['auction', 'bidder', 'price', 'dateTime', 'extra'],
  reads: ['bid'],
  build: ({ bid }) => bid.select('auction', 'bidder', 'price', { dateTime: col('dateTime').cast('int64') }, 'extra'),
};

/** q1: every bid with its price in euros, the IEEE product 0.908 × price. A projection. */
const q1: NexmarkQuery = {
  name: 'q1',
  description: 'currency conversion: bid prices in euros',
  columns: ['auction', 'bidder', 'price', 'dateTime', 'extra'],
  reads: ['bid'],
  build: ({ bid }) =>
    bid.select(
      'auction',
      'bidder',
      { price: lit(0.908).mul(col('price').cast('float64')) },
      { dateTime: col('dateTime').cast('int64') },
      'extra',
    ),
};

/** q2: bids on every 123rd auction. A filter and a projection. */
const q2: NexmarkQuery = {
  name: 'q2',
  description: 'selection: bids on auctions whose id is a multiple of 123',
  columns: ['auction', 'price'],
  reads: ['bid'],
  build: ({ bid }) => bid.filter(col('auction').mod(123).eq(0)).select('auction', 'price'),
};

/**
 * q3: category-10 auctions whose seller lives in OR, ID or CA, with the seller's name and place. Both sides are
 * filtered first, then hash-joined with the sellers as the build side. The join has no window and no expiry by
 * definition (a seller may register before or after the auction), so its state is not bounded by watermarks: in a
 * stream the auctions wait for the person side to end, which makes "either order" hold trivially.
 */
const q3: NexmarkQuery = {
  name: 'q3',
  description: 'local item suggestion: category-10 auctions by sellers in OR, ID or CA',
  columns: ['name', 'city', 'state', 'id'],
  reads: ['auction', 'person'],
  build: ({ auction, person }) => {
    const auctions = auction.filter(col('category').eq(10)).select('id', 'seller');
    const sellers = person
      .filter(col('state').isIn(['OR', 'ID', 'CA']))
      .select({ person_id: col('id') }, 'name', 'city', 'state');
    return auctions
      .join(sellers, { on: [{ left: 'seller', right: 'person_id' }] })
      .select('name', 'city', 'state', 'id');
  },
};

/**
 * q4: per category, the average final price of its auctions, an auction's final price being its highest bid with
 * auction.dateTime ≤ bid.dateTime ≤ expires. An interval join pairs each auction with the bids of its first
 * `longestAuctionMs(rate)` ms (so both sides are evicted once the other's watermark is past), a filter cuts each
 * auction at its own `expires`, and the maximum per auction is a fixed-window aggregate on the auction's time: every
 * pair of an auction carries that time and the join holds its watermark below it until the last bid that could match
 * has been seen, so the window fires with the final maximum and its state goes. The average per category is a global
 * aggregate (five groups) that reports at the end of the input. Bids later than the rate's longest auction are never
 * matched, so the rate must be the one the events were generated with (or lower).
 */
const q4: NexmarkQuery = {
  name: 'q4',
  description: 'average closing price per category',
  columns: ['category', 'avgFinalPrice'],
  reads: ['auction', 'bid'],
  build: ({ auction, bid }, { rate }) => {
    const auctions = auction.select('id', 'category', { opened: col('dateTime') }, 'expires');
    const bids = bid.select('auction', 'price', { placed: col('dateTime') });
    return auctions
      .intervalJoin(bids, {
        on: [{ left: 'id', right: 'auction' }],
        from: 0,
        to: longestAuctionMs(rate),
        leftEventTime: 'opened',
        rightEventTime: 'placed',
      })
      .filter(col('placed').le(col('expires')))
      .window(fixed('1s'), { eventTime: 'opened' })
      .groupBy('id', 'category')
      .agg({ final: max(col('price')) })
      .groupBy('category')
      .agg({ avgFinalPrice: avg(col('final')) });
  },
};

/**
 * q5: in each sliding window of 10 s every 2 s, the auctions with the most bids (ties kept). A sliding-window count
 * per auction; its panes are stamped with their window's last ms, so a 2 s fixed window over that stamp holds exactly
 * one sliding window's counts: one windowed aggregate takes their maximum, and a window join on (window start, count)
 * keeps the counts equal to it. Every stage's state is released when the watermark passes the window.
 */
const q5: NexmarkQuery = {
  name: 'q5',
  description: 'hot items: auctions with the most bids per sliding window',
  columns: ['auction', 'num', 'starttime', 'endtime'],
  reads: ['bid'],
  build: ({ bid }) => {
    const counts = bid
      .window(sliding('10s', '2s'))
      .groupBy('auction')
      .agg({ num: count() })
      .select('auction', 'num', { starttime: col('window_start') }, { endtime: col('window_end') }, 'event_time');
    const top = counts
      .window(fixed('2s'), { eventTime: 'event_time' })
      .groupBy('starttime')
      .agg({ top: max(col('num')) })
      .select({ top_start: col('starttime') }, 'top', { top_time: col('event_time') });
    return counts
      .window(fixed('2s'), { eventTime: 'event_time' })
      .join(top, {
        on: [
          { left: 'starttime', right: 'top_start' },
          { left: 'num', right: 'top' },
        ],
        rightEventTime: 'top_time',
      })
      .select(
        'auction',
        'num',
        { starttime: col('starttime').cast('int64') },
        { endtime: col('endtime').cast('int64') },
      );
  },
};

/**
 * q7: in each 10 s tumbling window, every bid at the window's highest price. A windowed aggregate takes the maximum
 * (its pane is stamped with the window's last ms, so it lands in the same window), and a window join on the price
 * keeps the bids equal to it; the join holds one window of bids, released when the watermark passes its end.
 */
const q7: NexmarkQuery = {
  name: 'q7',
  description: 'highest bid per 10 s window',
  columns: ['auction', 'price', 'bidder', 'dateTime', 'extra'],
  reads: ['bid'],
  build: ({ bid }) => {
    const bids = bid.select('auction', 'price', 'bidder', 'dateTime', 'extra');
    const highest = bids
      .window(fixed('10s'))
      .groupBy()
      .agg({ highest: max(col('price')) })
      .select('highest', { highest_time: col('event_time') });
    return bids
      .window(fixed('10s'))
      .join(highest, { on: [{ left: 'price', right: 'highest' }], rightEventTime: 'highest_time' })
      .select('auction', 'price', 'bidder', { dateTime: col('dateTime').cast('int64') }, 'extra');
  },
};

/**
 * q8: people who opened an auction in the 10 s tumbling window they registered in, once per person and window. A
 * window join of people with auctions on id = seller gives a pair per auction; a windowed aggregate on the person's
 * time (the join's output time) folds them to one row per person and window. Both release their state when the
 * watermark passes the window; a dedupe would do the same but remember every key forever.
 */
const q8: NexmarkQuery = {
  name: 'q8',
  description: 'monitor new users: people who opened an auction in their registration window',
  columns: ['id', 'name', 'starttime'],
  reads: ['person', 'auction'],
  build: ({ person, auction }) => {
    const sellers = auction.select('seller', { opened: col('dateTime') });
    return person
      .select('id', 'name', 'dateTime')
      .window(fixed('10s'))
      .join(sellers, { on: [{ left: 'id', right: 'seller' }], rightEventTime: 'opened' })
      .select('id', 'name', 'dateTime')
      .window(fixed('10s'))
      .groupBy('id', 'name')
      .agg({ auctions: count() })
      .select('id', 'name', { starttime: col('window_start').cast('int64') });
  },
};

/**
 * q11: bids per bidder session with a 10 s gap. Session windows per bidder (touching sessions do not merge, §5.1);
 * a session's window is [first bid, last bid + 10 s), which is exactly starttime and endtime.
 */
const q11: NexmarkQuery = {
  name: 'q11',
  description: 'user sessions: bids per bidder session with a 10 s gap',
  columns: ['bidder', 'bid_count', 'starttime', 'endtime'],
  reads: ['bid'],
  build: ({ bid }) =>
    bid
      .window(sessions('10s'))
      .groupBy('bidder')
      .agg({ bid_count: count() })
      .select(
        'bidder',
        'bid_count',
        { starttime: col('window_start').cast('int64') },
        { endtime: col('window_end').cast('int64') },
      ),
};

export const queries: Readonly<Record<QueryName, NexmarkQuery>> = { q0, q1, q2, q3, q4, q5, q7, q8, q11 };
