import type { Rng } from './prng.ts';

/** Random strings (spec nexmark.md §3.5), built from a reused byte buffer: one string allocation per call. */

export const SPACE = 0x20;
export const UNDERSCORE = 0x5f;
const LETTER_A = 0x61;
const FILLER_CHANCE = 1 / 13;
/** Longest string randomString is asked for (an auction's description). */
const MAX_LENGTH = 128;

const scratch = Buffer.alloc(MAX_LENGTH);

/**
 * randomString(max, filler): 3 + U[0, max − 3) characters, each the filler with probability 1/13 and otherwise a
 * uniform letter a–z; leading and trailing spaces are then trimmed.
 */
export function randomString(rng: Rng, max: number, filler = SPACE): string {
  const len = 3 + rng.below(max - 3);
  for (let i = 0; i < len; i++) scratch[i] = rng.chance(FILLER_CHANCE) ? filler : LETTER_A + rng.below(26);
  let a = 0;
  let b = len;
  while (a < b && scratch[a] === SPACE) a++;
  while (b > a && scratch[b - 1] === SPACE) b--;
  return scratch.toString('latin1', a, b);
}

/** `n` uniform lowercase letters as one flat string: the padding pool `extra` is sliced from. */
export function randomLetters(rng: Rng, n: number): string {
  const bytes = Buffer.alloc(n);
  for (let i = 0; i < n; i++) bytes[i] = LETTER_A + rng.below(26);
  return bytes.toString('latin1');
}
