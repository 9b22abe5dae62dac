import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { RecordError } from './csv-parser.ts';
import { type JsonlOptions, JsonlParser, type JsonlRows } from './jsonl-parser.ts';

interface Row {
  readonly value: Record<string, unknown>;
  readonly line: number;
  readonly record: number;
  readonly raw: string;
}

interface Parsed {
  readonly rows: Row[];
  readonly errors: RecordError[];
}

function collect(into: Parsed, r: JsonlRows): void {
  for (let i = 0; i < r.count; i++)
    into.rows.push({ value: r.values[i], line: r.lines[i], record: r.records[i], raw: r.raws[i] });
  into.errors.push(...r.errors);
}

function parse(input: Buffer | string, cuts: readonly number[] = [], options: Partial<JsonlOptions> = {}): Parsed {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const p = new JsonlParser({ source: 'in.jsonl', ...options });
  const out: Parsed = { rows: [], errors: [] };
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    collect(out, p.push(bytes.subarray(from, cut)));
    from = cut;
  }
  collect(out, p.push(bytes.subarray(from)));
  collect(out, p.finish());
  return out;
}

describe('JsonlParser', () => {
  it('reads one object per line, LF or CRLF, skipping blank lines but counting them', () => {
    const p = parse('{"a":1}\r\n\n  \n{"a":"é"}\n{"b":[1,2]}');
    assert.deepEqual(
      p.rows.map((r) => [r.value, r.line, r.record, r.raw]),
      [
        [{ a: 1 }, 1, 1, '{"a":1}'],
        [{ a: 'é' }, 4, 2, '{"a":"é"}'],
        [{ b: [1, 2] }, 5, 3, '{"b":[1,2]}'],
      ],
    );
    assert.deepEqual(p.errors, []);
  });

  it('drops a BOM at the start of the file', () => {
    const p = parse(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":1}\n')]));
    assert.deepEqual(
      p.rows.map((r) => r.value),
      [{ a: 1 }],
    );
  });

  it('refuses text that is not a JSON object as parse', () => {
    const p = parse('{"a":1}\n{"a":\n[1]\n"x"\nnull\n{"a":2}\n');
    assert.deepEqual(
      p.rows.map((r) => r.value),
      [{ a: 1 }, { a: 2 }],
    );
    assert.deepEqual(
      p.errors.map((e) => [e.line, e.record, e.errorClass, e.expected, e.raw]),
      [
        [2, 2, 'parse', 'a JSON object', '{"a":'],
        [3, 3, 'parse', 'a JSON object', '[1]'],
        [4, 4, 'parse', 'a JSON object', '"x"'],
        [5, 5, 'parse', 'a JSON object', 'null'],
      ],
    );
    assert.equal(p.errors[1].found, 'an array');
  });

  it('accepts a last line without a line break if it parses, else reports it truncated', () => {
    assert.deepEqual(parse('{"a":1}\n{"a":2}').errors, []);
    const p = parse('{"a":1}\n{"a":2');
    assert.equal(p.rows.length, 1);
    assert.deepEqual(
      p.errors.map((e) => [e.line, e.record, e.errorClass, e.raw]),
      [[2, 2, 'truncated', '{"a":2']],
    );
  });

  it('refuses only the line with bad UTF-8, keeping its bytes', () => {
    const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]);
    const p = parse(Buffer.concat([Buffer.from('{"a":"€"}\n'), bad, Buffer.from('\r\n{"a":3}\n')]));
    assert.deepEqual(
      p.rows.map((r) => [r.value, r.record]),
      [
        [{ a: '€' }, 1],
        [{ a: 3 }, 3],
      ],
    );
    assert.equal(p.errors.length, 1);
    const e = p.errors[0];
    assert.deepEqual(
      [e.line, e.record, e.errorClass, e.rawEncoding, e.found],
      [2, 2, 'encoding', 'base64', 'invalid UTF-8 byte 0xff'],
    );
    assert.deepEqual(Buffer.from(e.raw, 'base64'), bad);
  });

  it('refuses a line over the limit as oversize and goes on, whether or not it spans chunks', () => {
    const input = `{"a":1}\n{"a":"${'x'.repeat(300)}"}\n{"a":2}\n`;
    for (const cuts of [[], Array.from({ length: 30 }, (_, i) => (i + 1) * 11)]) {
      const p = parse(input, cuts, { maxRecordBytes: 100 });
      assert.deepEqual(
        p.rows.map((r) => r.value),
        [{ a: 1 }, { a: 2 }],
      );
      assert.deepEqual(
        p.errors.map((e) => [e.line, e.record, e.errorClass, e.expected, e.raw.length]),
        [[2, 2, 'oversize', 'line of at most 100 bytes', 100]],
      );
    }
  });
});

/** A line as written: an object, a blank line, broken JSON, a non-object or a bad byte. */
const lineSpec = fc.record({
  value: fc.dictionary(
    fc.string({ maxLength: 4 }),
    fc.oneof(fc.integer(), fc.string({ unit: 'binary', maxLength: 5 }), fc.boolean()),
    { maxKeys: 3, noNullPrototype: true },
  ),
  kind: fc.constantFrom('object', 'object', 'object', 'blank', 'broken', 'array', 'badByte'),
  crlf: fc.boolean(),
});

type LineSpec = typeof lineSpec extends fc.Arbitrary<infer T> ? T : never;

function writeLine(l: LineSpec): Buffer {
  const json = JSON.stringify(l.value);
  const body =
    l.kind === 'blank'
      ? Buffer.from('')
      : l.kind === 'broken'
        ? Buffer.from(json.slice(0, -1))
        : l.kind === 'array'
          ? Buffer.from(`[${json}]`)
          : l.kind === 'badByte'
            ? Buffer.concat([Buffer.from(json), Buffer.from([0xc0])])
            : Buffer.from(json);
  return Buffer.concat([body, Buffer.from(l.crlf ? '\r\n' : '\n')]);
}

describe('JsonlParser: properties', () => {
  it('gives the same result however the input is cut into chunks', () => {
    fc.assert(
      fc.property(fc.array(lineSpec, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 10 }), (lines, rawCuts) => {
        const input = Buffer.concat(lines.map(writeLine));
        const cuts = rawCuts.map((c) => c % (input.length + 1));
        const whole = parse(input, [], { maxRecordBytes: 40 });
        assert.deepEqual(parse(input, cuts, { maxRecordBytes: 40 }), whole);
      }),
      { numRuns: 300 },
    );
  });

  it('accounts for every non-blank line written: rows plus errors', () => {
    fc.assert(
      fc.property(fc.array(lineSpec, { maxLength: 30 }), (lines) => {
        const p = parse(Buffer.concat(lines.map(writeLine)));
        const written = lines.filter((l) => l.kind !== 'blank');
        assert.equal(p.rows.length + p.errors.length, written.length);
        assert.deepEqual(
          p.rows.map((r) => r.value),
          written.filter((l) => l.kind === 'object').map((l) => l.value),
        );
      }),
      { numRuns: 300 },
    );
  });
});
