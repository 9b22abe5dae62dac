import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { crc32c } from './crc32c.ts';
import { COMMIT_FRAME_BYTES, decodeFrame, encodeBatch, recordOf } from './frame.ts';

/** The plain bit-at-a-time CRC32C, to check the sliced one against. */
function slowCrc32c(buf: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) {
    c ^= buf[i];
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('crc32c', () => {
  it('matches the published check values (RFC 3720 B.4 and the "123456789" check)', () => {
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
    assert.equal(crc32c(Buffer.alloc(32)), 0x8a9136aa);
    assert.equal(crc32c(Buffer.alloc(32, 0xff)), 0x62a8ab43);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i))), 0x46dd794e);
    assert.equal(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i))), 0x113fdb5c);
  });

  it('equals the bit-at-a-time definition on any range', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.nat(), fc.nat(), (buf, a, b) => {
        const start = buf.length === 0 ? 0 : a % buf.length;
        const end = start + (buf.length === 0 ? 0 : b % (buf.length - start + 1));
        assert.equal(crc32c(buf, start, end), slowCrc32c(buf, start, end));
      }),
    );
  });
});

describe('frames', () => {
  it('a batch decodes to its records and one commit frame', () => {
    const buf = encodeBatch(
      [
        { key: 'k', value: 'v', timestamp: -(2 ** 40) },
        { value: null, timestamp: 2 ** 50 },
      ],
      2 ** 40,
    );
    const a = decodeFrame(buf, 0, buf.length);
    assert.equal(a.kind, 'record');
    if (a.kind !== 'record') return;
    const r = recordOf(buf, a);
    assert.deepEqual([r.offset, r.timestamp, Buffer.from(r.key ?? []).toString()], [2 ** 40, -(2 ** 40), 'k']);
    const b = decodeFrame(buf, a.size, buf.length);
    assert.ok(b.kind === 'record' && b.valueLength === -1 && b.keyLength === -1 && b.timestamp === 2 ** 50);
    const c = decodeFrame(buf, buf.length - COMMIT_FRAME_BYTES, buf.length);
    assert.deepEqual(c, { kind: 'commit', size: 32, firstOffset: 2 ** 40, lastOffset: 2 ** 40 + 1, count: 2 });
  });

  it('any single flipped bit fails the frame, and any prefix is short', () => {
    const buf = encodeBatch([{ key: 'key', value: 'some value', timestamp: 123 }], 7);
    const size = buf.length - COMMIT_FRAME_BYTES;
    for (let i = 0; i < size * 8; i++) {
      const copy = Buffer.from(buf);
      copy[i >> 3] ^= 1 << (i & 7);
      const f = decodeFrame(copy, 0, size);
      assert.ok(f.kind === 'bad' || f.kind === 'short', `bit ${i} gave ${f.kind}`);
    }
    for (let n = 0; n < size; n++) assert.equal(decodeFrame(buf, 0, n).kind, 'short');
  });

  it('refuses timestamps that are not integer milliseconds', () => {
    assert.throws(() => encodeBatch([{ value: 'x', timestamp: Number.NaN }], 0), /record 0 .*NaN/);
    assert.throws(() => encodeBatch([{ value: 'x', timestamp: 2 ** 60 }], 0), /not an integer number/);
  });
});
