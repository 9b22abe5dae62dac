import { contract, t } from '../flow/contract.ts';
import { type Dataset, dataset } from '../flow/dataset.ts';

/**
 * The three Nexmark event kinds (spec nexmark.md §2) as napkin datasets. Their fields are in export order (§4);
 * `dateTime` is the event time of each, and `expires` is a timestamp too so it compares with it. The datasets have no
 * storage: `napkin nexmark run` feeds them from the in-process generator or from an export.
 */
export const person: Dataset = dataset('nexmark.person', {
  owner: 'nexmark',
  description: 'People registering on the auction site',
  contract: contract({
    key: ['id'],
    eventTime: 'dateTime',
    fields: {
      id: t.int64(),
      name: t.string(),
      emailAddress: t.string(),
      creditCard: t.string(),
      city: t.string(),
      state: t.string(),
      dateTime: t.timestamp(),
      extra: t.string(),
    },
  }),
});

export const auction: Dataset = dataset('nexmark.auction', {
  owner: 'nexmark',
  description: 'Auctions opened by sellers',
  contract: contract({
    key: ['id'],
    eventTime: 'dateTime',
    fields: {
      id: t.int64(),
      itemName: t.string(),
      description: t.string(),
      initialBid: t.int64(),
      reserve: t.int64(),
      dateTime: t.timestamp(),
      expires: t.timestamp(),
      seller: t.int64(),
      category: t.int64(),
      extra: t.string(),
    },
  }),
});

export const bid: Dataset = dataset('nexmark.bid', {
  owner: 'nexmark',
  description: 'Bids placed on auctions',
  contract: contract({
    eventTime: 'dateTime',
    fields: {
      auction: t.int64(),
      bidder: t.int64(),
      price: t.int64(),
      channel: t.string(),
      url: t.string(),
      dateTime: t.timestamp(),
      extra: t.string(),
    },
  }),
});

export type EventKind = 'person' | 'auction' | 'bid';

export const DATASETS: Readonly<Record<EventKind, Dataset>> = { person, auction, bid };

/** Field names per kind, in export order: a generated batch of a kind has its columns in this order. */
export const FIELDS: Readonly<Record<EventKind, readonly string[]>> = {
  person: fieldNames(person),
  auction: fieldNames(auction),
  bid: fieldNames(bid),
};

function fieldNames(ds: Dataset): string[] {
  return ds.contract?.schema.fields.map((f) => f.name) ?? [];
}
