import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DataType } from '../../expr/types.ts';
import { encodeRows, encoderFor, escapeCopy, formatDate, formatTimestamp } from './copy-text.ts';

const enc = (type: DataType, nullable = true) => encoderFor({ type, nullable });

describe('COPY text encoding', () => {
  it('escapes the characters COPY text treats specially and nothing else', () => {
    assert.equal(escapeCopy('plain'), 'plain');
    assert.equal(escapeCopy('a\tb\nc\rd\\e'), 'a\\tb\\nc\\rd\\\\e');
    assert.equal(escapeCopy(`'; DROP TABLE x; --`), `'; DROP TABLE x; --`);
    assert.equal(escapeCopy('\\N'), '\\\\N', 'a literal backslash-N is data, not NULL');
  });

  it('writes each type in a form PostgreSQL reads back exactly', () => {
    assert.equal(enc({ kind: 'int64' })(-9007199254740991), '-9007199254740991');
    assert.equal(enc({ kind: 'float64' })(-0), '-0');
    assert.equal(enc({ kind: 'float64' })(0.1), '0.1');
    assert.equal(enc({ kind: 'float64' })(Number.NaN), 'NaN');
    assert.equal(enc({ kind: 'decimal', precision: 12, scale: 2 })(1.005), '1.00', 'the binary value 1.00499…');
    assert.equal(enc({ kind: 'decimal', precision: 12, scale: 2 })(-2.5), '-2.50');
    assert.equal(enc({ kind: 'bool' })(false), 'f');
    assert.equal(enc({ kind: 'string' })(null), '\\N');
    assert.equal(enc({ kind: 'list', item: { type: { kind: 'int64' }, nullable: false } })([1, 2]), '[1,2]');
  });

  it('formats timestamps in UTC with milliseconds, and years before 1 AD as BC', () => {
    assert.equal(formatTimestamp(Date.UTC(2024, 3, 3, 10, 0, 0, 7)), '2024-04-03 10:00:00.007+00');
    assert.equal(formatTimestamp(-1), '1969-12-31 23:59:59.999+00');
    assert.equal(formatTimestamp(Date.UTC(-43, 2, 15)), '0044-03-15 00:00:00.000+00 BC');
    assert.equal(formatTimestamp(Date.parse('0001-01-01T00:00:00Z') - 1), '0001-12-31 23:59:59.999+00 BC');
    assert.equal(formatTimestamp(Date.UTC(9999, 11, 31, 23, 59, 59, 999)), '9999-12-31 23:59:59.999+00');
    assert.equal(formatTimestamp(Date.UTC(10000, 0, 1)), '10000-01-01 00:00:00.000+00');
    assert.equal(formatDate(0), '1970-01-01');
    assert.equal(formatDate(-719528), '0001-01-01 BC', 'year 0 is 1 BC');
  });

  it('refuses a value the column cannot take, naming column and row but not the value', () => {
    const names = ['id', 'note', 'amount'];
    const encoders = [
      enc({ kind: 'int64' }, false),
      enc({ kind: 'string' }),
      enc({ kind: 'decimal', precision: 4, scale: 2 }),
    ];
    const bad = (columns: unknown[][]) => () =>
      encodeRows({ length: 1, columns: columns as never }, encoders, names, 'tx', 10);
    assert.throws(bad([[null], ['a'], [1]]), /column 'id', row 11 of the epoch: null in a required column/);
    assert.throws(bad([[1.5], ['a'], [1]]), /column 'id'.*not an int64/);
    assert.throws(bad([[1], ['secret\0value'], [1]]), (e: Error) => {
      assert.match(e.message, /column 'note'.*NUL character/);
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
    assert.throws(bad([[1], ['a'], [99.995]]), /column 'amount'.*does not fit decimal\(4,2\)/);
    assert.throws(bad([[1], ['a'], [Number.POSITIVE_INFINITY]]), /does not fit decimal/);
    assert.throws(() => enc({ kind: 'timestamp' })(Date.UTC(-5000, 0, 1)), /outside the range/);
  });

  it('leads each row with the staging tag and a sequence number', () => {
    const text = encodeRows(
      {
        length: 2,
        columns: [
          [1, 2],
          ['a\tb', null],
        ],
      },
      [enc({ kind: 'int64' }), enc({ kind: 'string' })],
      ['id', 's'],
      '["f","s","0",1,1]',
      5,
    );
    assert.equal(text, '["f","s","0",1,1]\t5\t1\ta\\tb\n["f","s","0",1,1]\t6\t2\t\\N\n');
  });
});
