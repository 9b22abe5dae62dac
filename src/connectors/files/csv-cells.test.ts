import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Value } from '../../expr/types.ts';
import { contract, t } from '../../flow/contract.ts';
import { type BatchBuilder, newColumns } from '../../runtime/batch.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { compileTextValidator } from '../../runtime/validate.ts';
import { CsvParser, type ParsedRows } from './csv-parser.ts';

// The text source reads CSV in offsets mode (`cells: 'offsets'`): cells as positions in the chunk text, parsed by
// the validator in place. It must be indistinguishable from the string mode the parser's own tests pin: the same
// records, lines, record numbers, raw texts and errors, and, through a validator, the same batches and entries.

interface Out {
  rows: { fields: string[]; line: number; record: number; raw: string }[];
  errors: QuarantineEntry[];
}

function cellsOf(r: ParsedRows, i: number): string[] {
  const cells = r.cells;
  if (cells === undefined) return r.fields.map((col) => col[i]);
  return Array.from({ length: cells.width }, (_, c) => {
    const k = i * cells.width + c;
    const a = cells.starts[k];
    return a < 0 ? (cells.texts.get(i) as string[])[c] : cells.text.slice(a, cells.ends[k]);
  });
}

function collect(out: Out, r: ParsedRows): void {
  for (let i = 0; i < r.count; i++) {
    out.rows.push({ fields: cellsOf(r, i), line: r.lines[i], record: (r.records ?? [])[i], raw: r.raws[i] });
  }
  out.errors.push(...r.errors);
}

function pieces(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts].map((c) => c % (bytes.length + 1)).sort((a, b) => a - b)) {
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  out.push(bytes.subarray(from));
  return out;
}

function parse(bytes: Buffer, cuts: readonly number[], mode: 'strings' | 'offsets'): Out {
  const p = new CsvParser({ source: 'in.csv', cells: mode, maxFieldBytes: 24 });
  const out: Out = { rows: [], errors: [] };
  for (const piece of pieces(bytes, cuts)) collect(out, p.push(piece));
  collect(out, p.finish());
  return out;
}

const cellText = fc.string({
  unit: fc.constantFrom('a', 'b', ' ', ',', '"', '\n', '\r', 'é', '€', '😀', '1', '-', ':', 'T', 'Z', '.'),
  maxLength: 10,
});
const quote = (cell: string): string =>
  /[",\n\r]/.test(cell) || cell === '' ? `"${cell.replaceAll('"', '""')}"` : cell;
const lineSpec = fc.record({
  cells: fc.array(cellText, { minLength: 2, maxLength: 4 }),
  quoted: fc.boolean(),
  crlf: fc.boolean(),
  flaw: fc.constantFrom('none', 'none', 'none', 'blank', 'badByte', 'long'),
});
type LineSpec = typeof lineSpec extends fc.Arbitrary<infer T> ? T : never;

function writeLine(l: LineSpec): Buffer {
  const eol = l.crlf ? '\r\n' : '\n';
  if (l.flaw === 'blank') return Buffer.from(eol);
  const cells = l.flaw === 'long' ? [...l.cells, 'x'.repeat(30)] : l.cells;
  const text = Buffer.from(cells.map((c) => (l.quoted ? `"${c.replaceAll('"', '""')}"` : quote(c))).join(','));
  return Buffer.concat([text, ...(l.flaw === 'badByte' ? [Buffer.from([0xff])] : []), Buffer.from(eol)]);
}

describe('CsvParser cells: offsets', () => {
  it('reads what string mode reads, however the input is cut', () => {
    fc.assert(
      fc.property(
        fc.array(lineSpec, { maxLength: 14 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        (lines, cuts, cutTail) => {
          let input = Buffer.concat([Buffer.from('a,b,c\n'), ...lines.map(writeLine)]);
          if (cutTail && input.length > 10) input = input.subarray(0, input.length - 2);
          assert.deepEqual(parse(input, cuts, 'offsets'), parse(input, cuts, 'strings'));
        },
      ),
      { numRuns: 400 },
    );
  });

  const c = contract({
    fields: {
      n: t.int64(),
      x: t.float64().optional(),
      d: t.decimal(6, 2).optional(),
      day: t.date().optional(),
      at: t.timestamp().optional(),
      flag: t.bool().optional(),
      e: t.enum('E', ['ok', 'okay', 'no']).optional(),
      big: t.enum('B', ['s0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9']).optional(),
      name: t.string().optional(),
    },
  });
  const cell = fc.oneof(
    fc.constantFrom('', '0', '-1', '+7', '12.5', '1e3', '1.5e', 'abc', '-', '.', '9007199254740993'),
    fc.constantFrom('2024-02-29', '2023-02-29', '2024-01-01T10:00:00Z', '2024-01-01 10:00:00.123+02:00'),
    fc.constantFrom('2024-01-01T10:00Z', '2024-01-01T25:00:00Z', '2024-01-01T10:00:00', 'true', 'FALSE', 'yes'),
    fc.constantFrom('ok', 'okay', 'no', 'o', 'okayy', 's3', 's10', 'é€', '"q""uoted"', 'a,b'),
  );

  it('gives the validator the same batches and entries as string mode', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 9, maxLength: 9 }), { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.shuffledSubarray(['n', 'x', 'd', 'day', 'at', 'flag', 'e', 'big', 'name', 'extra'], { minLength: 1 }),
        (records, cuts, header) => {
          const bytes = Buffer.from(
            [header.join(','), ...records.map((r) => r.slice(0, header.length).map(quote).join(','))]
              .map((l) => `${l}\n`)
              .join(''),
          );
          const run = (mode: 'strings' | 'offsets') => {
            const p = new CsvParser({ source: 'in.csv', cells: mode });
            const into: BatchBuilder = { length: 0, columns: newColumns(c.schema.fields.length) };
            const rejected: QuarantineEntry[] = [];
            let v: ReturnType<typeof compileTextValidator> | null = null;
            const take = (r: ParsedRows) => {
              rejected.push(...r.errors);
              if (v === null && p.header !== null) v = compileTextValidator(c, p.header, 'in.csv');
              if (v !== null) v.validateInto(r, 0, into, rejected);
            };
            for (const piece of pieces(bytes, cuts)) take(p.push(piece));
            take(p.finish());
            const rows: Value[][] = [];
            for (let i = 0; i < into.length; i++) rows.push(into.columns.map((col) => col[i]));
            return { rows, rejected };
          };
          assert.deepEqual(run('offsets'), run('strings'));
        },
      ),
      { numRuns: 400 },
    );
  });
});
