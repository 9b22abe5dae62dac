/**
 * The generator's random numbers (spec nexmark.md §3.2): sfc32, seeded per event from (seed, event id) through the
 * murmur3 finaliser, so any event can be generated on its own. Never `Math.random`.
 */

const TWO_32 = 4294967296;
/** Seeding from a finalised but still regular state leaves sfc32's first outputs correlated; a few rounds fix that. */
const WARMUP_ROUNDS = 3;

/** murmur3's 32-bit finaliser: a bijection on 32-bit words with full avalanche. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The low and high 32-bit words of a non-negative safe integer (negative values wrap, as two's complement). */
function words(x: number): readonly [number, number] {
  return [x >>> 0, Math.floor(x / TWO_32) >>> 0];
}

/**
 * A small fast generator. Its state lives in an Int32Array so that draws never box a number; one instance is reused
 * for every event of a generator (reseeded per event), so drawing allocates nothing.
 */
export class Rng {
  private readonly s = new Int32Array(4);
  private readonly keyA: number;
  private readonly keyB: number;

  /** `seed` is the generator's seed; `stream` separates independent uses of one seed (events, static tables). */
  constructor(seed: number, stream: number) {
    const [lo, hi] = words(seed);
    this.keyA = fmix32(lo ^ fmix32(hi ^ 0x9e3779b9) ^ fmix32(stream ^ 0x7f4a7c15));
    this.keyB = fmix32(this.keyA ^ 0x6a09e667);
  }

  /** Restarts the sequence for key `k` (an event id): the same k always gives the same draws. */
  reseed(k: number): void {
    const lo = k >>> 0;
    const hi = Math.floor(k / TWO_32) >>> 0;
    const s = this.s;
    // fmix32 is a bijection, so distinct low words give distinct first state words: no two events share a stream.
    s[0] = fmix32(lo ^ this.keyA);
    s[1] = fmix32(hi ^ this.keyB);
    s[2] = fmix32(s[0] ^ s[1] ^ 0xbb67ae85);
    s[3] = 1;
    for (let i = 0; i < WARMUP_ROUNDS; i++) this.u32();
  }

  /** The next 32 random bits as an unsigned integer. */
  u32(): number {
    const s = this.s;
    const a = s[0];
    const b = s[1];
    const c = s[2];
    const d = s[3];
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  /** A uniform double in [0, 1) (32 bits of resolution, ample for every draw of §3). */
  double(): number {
    return this.u32() / TWO_32;
  }

  /** U[0, n): a + floor(u·(b − a)) with a = 0, as §3.2 defines it. */
  below(n: number): number {
    return Math.floor(this.double() * n);
  }

  /** True with probability p: a draw of its own (§3.2). */
  chance(p: number): boolean {
    return this.double() < p;
  }
}
