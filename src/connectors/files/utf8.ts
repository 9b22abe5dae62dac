/**
 * UTF-8 helpers shared by the text readers. Chunks are decoded whole (fast path); when a chunk holds invalid bytes,
 * each such byte becomes a lone surrogate U+DC80+byte (Python's "surrogateescape"). Valid UTF-8 never decodes to a
 * lone surrogate, so the readers can still split records on ASCII delimiters, then tell which records held bad
 * bytes and give back their exact original bytes.
 */

import { isUtf8 } from 'node:buffer';

/**
 * Decodes a chunk that holds whole sequences only (see {@link incompleteTail}). `Buffer#toString` keeps a BOM, so
 * the caller decides where one may be dropped (only at the start of a file).
 */
export function decodeChunk(b: Buffer): LossyText {
  if (isUtf8(b)) return { text: b.toString('utf8'), escapes: null };
  return decodeEscaped(b);
}

/** Drops a leading BOM, keeping escape indexes in step. */
export function dropBom(t: LossyText): LossyText {
  if (t.text.charCodeAt(0) !== 0xfeff) return t;
  return { text: t.text.slice(1), escapes: t.escapes === null ? null : t.escapes.map((i) => i - 1) };
}

/** How many bytes at the end of `b` start a multi-byte sequence the next chunk must complete (0–3). */
export function incompleteTail(b: Uint8Array): number {
  const n = b.length;
  for (let k = 1; k <= 3 && k <= n; k++) {
    const x = b[n - k];
    if (x < 0x80) return 0;
    if (x >= 0xc0) {
      const need = x >= 0xf0 ? 4 : x >= 0xe0 ? 3 : 2;
      return k < need ? k : 0;
    }
  }
  return 0;
}

function isCont(x: number): boolean {
  return (x & 0xc0) === 0x80;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the byte there does not start one. */
function validLength(b: Uint8Array, i: number): number {
  const x = b[i];
  if (x < 0x80) return 1;
  if (x < 0xc2 || x > 0xf4) return 0;
  if (x < 0xe0) return i + 1 < b.length && isCont(b[i + 1]) ? 2 : 0;
  if (i + (x < 0xf0 ? 3 : 4) > b.length) return 0;
  const y = b[i + 1];
  if (x < 0xf0) {
    // Excludes overlong forms (E0 80..9F) and UTF-16 surrogates (ED A0..BF).
    const lo = x === 0xe0 ? 0xa0 : 0x80;
    const hi = x === 0xed ? 0x9f : 0xbf;
    return y >= lo && y <= hi && isCont(b[i + 2]) ? 3 : 0;
  }
  const lo = x === 0xf0 ? 0x90 : 0x80;
  const hi = x === 0xf4 ? 0x8f : 0xbf;
  return y >= lo && y <= hi && isCont(b[i + 2]) && isCont(b[i + 3]) ? 4 : 0;
}

/** Decoded text; `escapes` lists the indexes of escaped bytes (null when there are none). */
export interface LossyText {
  readonly text: string;
  readonly escapes: readonly number[] | null;
}

/** Text of `b` where every byte outside a valid sequence is escaped to U+DC80+byte. */
export function decodeEscaped(b: Buffer): LossyText {
  const parts: string[] = [];
  const escapes: number[] = [];
  let length = 0;
  let runStart = 0;
  let i = 0;
  while (i < b.length) {
    const len = validLength(b, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (i > runStart) {
      const run = b.toString('utf8', runStart, i);
      parts.push(run);
      length += run.length;
    }
    escapes.push(length);
    parts.push(String.fromCharCode(0xdc00 + b[i]));
    length++;
    i++;
    runStart = i;
  }
  if (runStart < b.length) parts.push(b.toString('utf8', runStart));
  return { text: parts.join(''), escapes };
}

const LOW_ESCAPE = /[\udc80-\udcff]/g;

function isEscapeAt(s: string, i: number): boolean {
  const prev = i > 0 ? s.charCodeAt(i - 1) : 0;
  return !(prev >= 0xd800 && prev <= 0xdbff);
}

/** Index of the first escaped byte in `s`, or -1. */
export function firstEscape(s: string): number {
  LOW_ESCAPE.lastIndex = 0;
  for (let m = LOW_ESCAPE.exec(s); m !== null; m = LOW_ESCAPE.exec(s)) {
    if (isEscapeAt(s, m.index)) return m.index;
  }
  return -1;
}

/** The original bytes of text produced by {@link decodeEscaped}. */
export function originalBytes(s: string): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  LOW_ESCAPE.lastIndex = 0;
  for (let m = LOW_ESCAPE.exec(s); m !== null; m = LOW_ESCAPE.exec(s)) {
    if (!isEscapeAt(s, m.index)) continue;
    parts.push(Buffer.from(s.slice(from, m.index), 'utf8'), Buffer.of(s.charCodeAt(m.index) - 0xdc00));
    from = m.index + 1;
  }
  parts.push(Buffer.from(s.slice(from), 'utf8'));
  return Buffer.concat(parts);
}

/** `found` text for a record with bad bytes: the first one, in hex. */
export function describeBadByte(s: string): string {
  const at = firstEscape(s);
  const byte = at < 0 ? 0 : s.charCodeAt(at) - 0xdc00;
  return `invalid UTF-8 byte 0x${byte.toString(16).padStart(2, '0')}`;
}
