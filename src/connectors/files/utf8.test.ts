import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeChunk, decodeEscaped, firstEscape, incompleteTail, originalBytes } from './utf8.ts';

describe('utf8 helpers', () => {
  it('decode any bytes so that the original bytes can be given back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const b = Buffer.from(bytes);
        const { text, escapes } = decodeEscaped(b);
        assert.deepEqual(originalBytes(text), b);
        assert.equal(firstEscape(text), escapes === null || escapes.length === 0 ? -1 : escapes[0]);
      }),
    );
  });

  it('decode valid UTF-8 exactly as Buffer does, with no escapes', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (s) => {
        const b = Buffer.from(s);
        assert.deepEqual(decodeEscaped(b), { text: s, escapes: [] });
        assert.deepEqual(decodeChunk(b), { text: s, escapes: null });
      }),
    );
  });

  it('refuse overlong forms, surrogates and code points past U+10FFFF', () => {
    for (const bad of [[0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]]) {
      const { escapes } = decodeEscaped(Buffer.from(bad));
      assert.equal(escapes?.length, bad.length, `bytes ${bad.map((x) => x.toString(16)).join(' ')}`);
    }
  });

  it('find the start of a sequence cut at the end of a chunk', () => {
    const euro = Buffer.from('a€'); // 61 e2 82 ac
    assert.equal(incompleteTail(euro), 0);
    assert.equal(incompleteTail(euro.subarray(0, 3)), 2);
    assert.equal(incompleteTail(euro.subarray(0, 2)), 1);
    assert.equal(incompleteTail(Buffer.from('😀').subarray(0, 3)), 3);
    assert.equal(incompleteTail(Buffer.from('ab')), 0);
  });
});
