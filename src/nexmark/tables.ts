import { Rng } from './prng.ts';
import { randomLetters, randomString, UNDERSCORE } from './strings.ts';

/**
 * The static tables of spec nexmark.md §3.5: fixed name, city and state lists, and the channel URLs and padding pool,
 * built once from the seed alone so events only pick from them.
 */

const FIRST_NAMES = ['Peter', 'Paul', 'Luke', 'John', 'Saul', 'Vicky', 'Kate', 'Julie', 'Sarah', 'Deiter', 'Walter'];
const LAST_NAMES = ['Shultz', 'Abrams', 'Spencer', 'White', 'Bartels', 'Walton', 'Smith', 'Jones', 'Noris'];
const CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
];
/** As given by the spec: q3 filters on them. */
export const STATES: readonly string[] = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'];
export const HOT_CHANNELS: readonly string[] = ['Google', 'Facebook', 'Baidu', 'Apple'];
export const NUM_CHANNELS = 10_000;
/** 1 MiB of letters: long enough that padding slices of different events rarely coincide. */
export const POOL_SIZE = 1 << 20;

/** Streams of the seed's generator, one per table, apart from the per-event stream (0). */
const CHANNEL_STREAM = 1;
const POOL_STREAM = 2;
const CHANNEL_ID_CHANCE = 9 / 10;

export interface Tables {
  readonly firstNames: readonly string[];
  readonly lastNames: readonly string[];
  /** "first last", indexed first · lastNames.length + last. */
  readonly names: readonly string[];
  readonly cities: readonly string[];
  readonly states: readonly string[];
  /** U[0, 10000) written with four digits, indexed by the number. */
  readonly digits4: readonly string[];
  readonly hotChannels: readonly string[];
  readonly hotUrls: readonly string[];
  /** `channel-i` and its URL, indexed by i. */
  readonly channels: readonly string[];
  readonly urls: readonly string[];
  readonly pool: string;
}

let cached: { readonly seed: number; readonly tables: Tables } | undefined;

/** The tables of a seed; the last seed's are kept, as a warm-up and a measured run share them. */
export function tablesFor(seed: number): Tables {
  if (cached?.seed !== seed) cached = { seed, tables: buildTables(seed) };
  return cached.tables;
}

function buildTables(seed: number): Tables {
  const names = FIRST_NAMES.flatMap((f) => LAST_NAMES.map((l) => `${f} ${l}`));
  const digits4 = Array.from({ length: 10_000 }, (_, i) => String(i).padStart(4, '0'));
  const rng = new Rng(seed, CHANNEL_STREAM);
  const channels = Array.from({ length: NUM_CHANNELS }, (_, i) => `channel-${i}`);
  const urls = channels.map((_, i) => channelUrl(rng, i, true));
  const hotUrls = HOT_CHANNELS.map((_, h) => channelUrl(rng, NUM_CHANNELS + h, false));
  const poolRng = new Rng(seed, POOL_STREAM);
  poolRng.reseed(0);
  const pool = randomLetters(poolRng, POOL_SIZE);
  const tables = { firstNames: FIRST_NAMES, lastNames: LAST_NAMES, names, cities: CITIES, states: STATES };
  return { ...tables, digits4, hotChannels: HOT_CHANNELS, hotUrls, channels, urls, pool };
}

/** Channel i's URL, a function of (seed, i) alone; hot channels get no channel_id. */
function channelUrl(rng: Rng, i: number, withId: boolean): string {
  rng.reseed(i);
  const path = [0, 1, 2].map(() => randomString(rng, 5, UNDERSCORE)).join('/');
  const url = `https://www.nexmark.com/${path}/item.htm?query=1`;
  return withId && rng.chance(CHANNEL_ID_CHANCE) ? `${url}&channel_id=${Math.abs(rev32(i))}` : url;
}

/** The bits of i reversed, read as a signed 32-bit integer. */
export function rev32(i: number): number {
  let x = i >>> 0;
  let r = 0;
  for (let b = 0; b < 32; b++) {
    r = (r << 1) | (x & 1);
    x >>>= 1;
  }
  return r | 0;
}
