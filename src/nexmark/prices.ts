import type { Rng } from './prng.ts';

/**
 * price() = round(100 · 10^(6u)) (spec nexmark.md §3.5), log-uniform between 100 and 10^8. With u = v / 2^32 for 32
 * random bits v split into 11, 11 and 10 bits, 10^(6u) is the product of three table entries. `Math.pow` measured at
 * over a third of a bid's cost and `Math.exp` at half that; tables of 40 KiB in all stay in cache (one table per
 * 16-bit half, 1 MiB, measured slower than `Math.exp` for its cache misses).
 */
let tables: readonly [Float64Array, Float64Array, Float64Array] | undefined;

function priceTables(): readonly [Float64Array, Float64Array, Float64Array] {
  if (tables === undefined) {
    const high = new Float64Array(1 << 11);
    const mid = new Float64Array(1 << 11);
    const low = new Float64Array(1 << 10);
    for (let i = 0; i < high.length; i++) high[i] = 100 * 10 ** ((6 * i) / 2 ** 11);
    for (let i = 0; i < mid.length; i++) mid[i] = 10 ** ((6 * i) / 2 ** 22);
    for (let i = 0; i < low.length; i++) low[i] = 10 ** ((6 * i) / 2 ** 32);
    tables = [high, mid, low];
  }
  return tables;
}

export class PriceDrawer {
  private readonly high: Float64Array;
  private readonly mid: Float64Array;
  private readonly low: Float64Array;

  constructor(private readonly rng: Rng) {
    [this.high, this.mid, this.low] = priceTables();
  }

  next(): number {
    const v = this.rng.u32();
    return Math.round(this.high[v >>> 21] * this.mid[(v >>> 10) & 0x7ff] * this.low[v & 0x3ff]);
  }
}
