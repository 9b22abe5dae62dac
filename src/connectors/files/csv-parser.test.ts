import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type CsvOptions, CsvParser, type ParsedRows, type RecordError } from './csv-parser.ts';

interface Row {
  readonly fields: string[];
  readonly line: number;
  readonly record: number;
  readonly raw: string;
}

interface Parsed {
  readonly header: string[] | null;
  readonly rows: Row[];
  readonly errors: RecordError[];
}

function collect(into: Parsed, r: ParsedRows): void {
  for (let i = 0; i < r.count; i++) {
    const fields = r.fields.map((col) => col[i]);
    into.rows.push({ fields, line: r.lines[i], record: r.records[i], raw: r.raws[i] });
  }
  into.errors.push(...r.errors);
}

/** Parses `input` fed in pieces cut at `cuts` (byte offsets). */
function parse(input: Buffer | string, cuts: readonly number[] = [], options: Partial<CsvOptions> = {}): Parsed {
  const bytes = typeof input === 'string' ? Buffer.from(input) : input;
  const p = new CsvParser({ source: 'in.csv', ...options });
  const rows: Row[] = [];
  const errors: RecordError[] = [];
  const out = { header: null, rows, errors };
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    collect(out, p.push(bytes.subarray(from, cut)));
    from = cut;
  }
  collect(out, p.push(bytes.subarray(from)));
  collect(out, p.finish());
  return { ...out, header: p.header };
}

function fieldsOf(p: Parsed): string[][] {
  return p.rows.map((r) => r.fields);
}

describe('CsvParser: well-formed input', () => {
  it('reads the header once and the records column by column', () => {
    const p = new CsvParser({ source: 'a.csv' });
    const r = p.push(Buffer.from('id,name\n1,ann\n2,bob\n'));
    assert.deepEqual(p.header, ['id', 'name']);
    assert.deepEqual(r.header, ['id', 'name']);
    assert.equal(p.push(Buffer.from('3,cy\n')).header, undefined);
    assert.equal(r.count, 2);
    assert.deepEqual(r.fields, [
      ['1', '2'],
      ['ann', 'bob'],
    ]);
    assert.deepEqual(r.lines, [2, 3]);
    assert.deepEqual(r.records, [1, 2]);
    assert.deepEqual(r.raws, ['1,ann', '2,bob']);
    assert.deepEqual(r.errors, []);
    assert.equal(p.finish().count, 0);
  });

  it('handles quoted delimiters, doubled quotes and line breaks, keeping line numbers', () => {
    const p = parse('a,b,c\n"x,y","say ""hi""","two\nlines"\n"three\n\nlines",,"" \n4,5,6\n');
    assert.deepEqual(fieldsOf(p), [
      ['x,y', 'say "hi"', 'two\nlines'],
      ['4', '5', '6'],
    ]);
    assert.deepEqual(
      p.rows.map((r) => r.line),
      [2, 7],
    );
    assert.equal(p.errors.length, 1);
    assert.equal(p.errors[0].line, 4);
    assert.equal(p.errors[0].errorClass, 'parse');
    assert.equal(p.errors[0].field, '/c');
  });

  it('accepts CRLF, a BOM, and a last record without a line break', () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const p = parse(Buffer.concat([bom, Buffer.from('a,b\r\n1,"q\r\nr"\r\n2,3')]));
    assert.deepEqual(p.header, ['a', 'b']);
    assert.deepEqual(fieldsOf(p), [
      ['1', 'q\r\nr'],
      ['2', '3'],
    ]);
    assert.deepEqual(
      p.rows.map((r) => [r.line, r.raw]),
      [
        [2, '1,"q\r\nr"'],
        [4, '2,3'],
      ],
    );
  });

  it('keeps a BOM that is not at the start of the file', () => {
    const p = parse('a\n\ufeffx\n');
    assert.deepEqual(fieldsOf(p), [['\ufeffx']]);
  });

  it('skips blank lines when there are several columns but reads them as empty fields with one', () => {
    assert.deepEqual(fieldsOf(parse('a,b\n\n1,2\n\r\n3,4\n')), [
      ['1', '2'],
      ['3', '4'],
    ]);
    assert.deepEqual(
      parse('a,b\n\n1,2\n').rows.map((r) => r.line),
      [3],
    );
    assert.deepEqual(fieldsOf(parse('a\n1\n\n2\n')), [['1'], [''], ['2']]);
  });

  it('takes a quote inside an unquoted field as text', () => {
    assert.deepEqual(fieldsOf(parse('a,b\n5" pipe,x\n')), [['5" pipe', 'x']]);
  });

  it('supports another delimiter and quote', () => {
    assert.deepEqual(fieldsOf(parse("a;b\n'x;y';2\n", [], { delimiter: ';', quote: "'" })), [['x;y', '2']]);
  });

  it('refuses a delimiter or quote that is not one ASCII character', () => {
    assert.throws(() => new CsvParser({ source: 'x', delimiter: '||' }), /delimiter/);
    assert.throws(() => new CsvParser({ source: 'x', quote: '\n' }), /quote/);
    assert.throws(() => new CsvParser({ source: 'x', delimiter: '"' }), /differ/);
  });
});

describe('CsvParser: refused records', () => {
  it('reports an unterminated quote at the end of the file as truncated, with its line', () => {
    const p = parse('a,b\n1,2\n3,"never\nclosed\n');
    assert.deepEqual(fieldsOf(p), [['1', '2']]);
    assert.deepEqual(p.errors, [
      {
        source: 'in.csv',
        line: 3,
        record: 2,
        field: '/b',
        errorClass: 'truncated',
        expected: 'closing quote',
        found: 'end of file',
        raw: '3,"never\nclosed\n',
        rawEncoding: 'utf8',
      },
    ]);
  });

  it('reports a last record cut short as truncated, and one with too many fields as parse', () => {
    assert.deepEqual(
      parse('a,b,c\n1,2,3\n4,5').errors.map((e) => [e.errorClass, e.expected, e.found, e.line]),
      [['truncated', '3 fields', '2 fields', 3]],
    );
    assert.deepEqual(
      parse('a,b\n1,2,3').errors.map((e) => [e.errorClass, e.found]),
      [['parse', '3 fields']],
    );
  });

  it('refuses only the record with bad UTF-8 and keeps its exact bytes', () => {
    const bad = Buffer.from([0x32, 0x2c, 0xc3, 0x28, 0xff]); // "2," then an invalid sequence
    const input = Buffer.concat([Buffer.from('a,b\n1,é\n'), bad, Buffer.from('\n3,ü€😀\n')]);
    const p = parse(input);
    assert.deepEqual(fieldsOf(p), [
      ['1', 'é'],
      ['3', 'ü€😀'],
    ]);
    assert.deepEqual(
      p.rows.map((r) => r.record),
      [1, 3],
    );
    assert.equal(p.errors.length, 1);
    const e = p.errors[0];
    assert.deepEqual(
      [e.errorClass, e.line, e.record, e.rawEncoding, e.found],
      ['encoding', 3, 2, 'base64', 'invalid UTF-8 byte 0xc3'],
    );
    assert.deepEqual(Buffer.from(e.raw, 'base64'), bad);
  });

  it('refuses a 2 MiB field as oversize and goes on with the next record', () => {
    const big = 'x'.repeat(2 << 20);
    const input = `a,b\n1,ok\n2,"${big}"\n3,fine\n`;
    for (const cuts of [[], Array.from({ length: 40 }, (_, i) => (i + 1) * 65_536)]) {
      const p = parse(input, cuts);
      assert.deepEqual(fieldsOf(p), [
        ['1', 'ok'],
        ['3', 'fine'],
      ]);
      assert.equal(p.errors.length, 1);
      const e = p.errors[0];
      assert.deepEqual(
        [e.errorClass, e.line, e.record, e.field, e.expected],
        ['oversize', 3, 2, '/b', 'field of at most 1048576 bytes'],
      );
    }
  });

  it('counts a field limit in bytes, not characters', () => {
    const p = parse('a\néé\nab\n', [], { maxFieldBytes: 3 });
    assert.deepEqual(fieldsOf(p), [['ab']]);
    assert.equal(p.errors[0].errorClass, 'oversize');
  });

  it('reports a wrong number of fields as parse, without a field', () => {
    const p = parse('a,b,c\n1,2\n1,2,3\n');
    assert.deepEqual(p.errors, [
      {
        source: 'in.csv',
        line: 2,
        record: 1,
        errorClass: 'parse',
        expected: '3 fields',
        found: '2 fields',
        raw: '1,2',
        rawEncoding: 'utf8',
      },
    ]);
    assert.deepEqual(fieldsOf(p), [['1', '2', '3']]);
  });

  it('throws when the header itself cannot be read', () => {
    assert.throws(() => parse('"a,b\n'), /in\.csv:1: cannot read the CSV header/);
    assert.throws(() => parse(Buffer.from([0x61, 0xff, 0x0a])), /not valid UTF-8/);
  });
});

/** One CSV cell: text with delimiters, quotes, line breaks, CR and multi-byte characters in it. */
const cellText = fc.string({
  unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', 'é', '€', '😀', '1'),
  maxLength: 8,
});

function quote(cell: string): string {
  return /[",\n\r]/.test(cell) || cell === '' ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/** A record as written: good, with a wrong field count, or with a bad byte. */
const recordSpec = fc.record({
  cells: fc.array(cellText, { minLength: 3, maxLength: 3 }),
  flaw: fc.constantFrom('none', 'none', 'none', 'short', 'long', 'badByte'),
  crlf: fc.boolean(),
});

type RecordSpec = typeof recordSpec extends fc.Arbitrary<infer T> ? T : never;

function writeRecord(r: RecordSpec): Buffer {
  const cells = r.flaw === 'short' ? r.cells.slice(0, 2) : r.flaw === 'long' ? [...r.cells, 'extra'] : r.cells;
  const text = Buffer.from(cells.map(quote).join(','));
  const body = r.flaw === 'badByte' ? Buffer.concat([text, Buffer.from([0xfe])]) : text;
  return Buffer.concat([body, Buffer.from(r.crlf ? '\r\n' : '\n')]);
}

function writeFile(records: readonly RecordSpec[]): Buffer {
  return Buffer.concat([Buffer.from('\ufeffa,b,c\n'), ...records.map(writeRecord)]);
}

describe('CsvParser: properties', () => {
  it('gives the same result however the input is cut into chunks', () => {
    fc.assert(
      fc.property(
        fc.array(recordSpec, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.boolean(),
        (records, rawCuts, cutTail) => {
          let input = writeFile(records);
          // Sometimes end mid-record, so truncation is split-checked too.
          if (cutTail && input.length > 10) input = input.subarray(0, input.length - 3);
          const cuts = rawCuts.map((c) => c % (input.length + 1));
          const whole = parse(input);
          assert.deepEqual(parse(input, cuts), whole);
          assert.deepEqual(
            parse(
              input,
              Array.from({ length: input.length }, (_, i) => i),
            ),
            whole,
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accounts for every record written: rows plus errors', () => {
    fc.assert(
      fc.property(fc.array(recordSpec, { maxLength: 30 }), (records) => {
        const p = parse(writeFile(records));
        assert.equal(p.rows.length + p.errors.length, records.length);
        const good = records.filter((r) => r.flaw === 'none');
        assert.deepEqual(
          fieldsOf(p),
          good.map((r) => r.cells),
        );
        const numbers = [...p.rows.map((r) => r.record), ...p.errors.map((e) => e.record)].sort((a, b) => a - b);
        assert.deepEqual(
          numbers,
          records.map((_, i) => i + 1),
        );
      }),
      { numRuns: 300 },
    );
  });
});
