// The CDC source's pieces that need no server: the pgoutput decoder, LSN text, the conversion of PostgreSQL's text
// output under a contract, drift between a table and its contract, the contract rule and postgresCdc() options.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cdcContractProblems, cdcFields } from '../../flow/cdc.ts';
import { contract, t } from '../../flow/contract.ts';
import { postgresCdc } from '../../flow/storage.ts';
import { BAD } from '../../runtime/json-values.ts';
import { columnDrift, converterFor, describeDrift, parsePgTimestamp, type ValueFault } from './cdc-values.ts';
import {
  decodeReplicationMessage,
  formatLsn,
  PG_EPOCH_MS,
  parseLsn,
  pgTimeToMs,
  standbyStatus,
  UNCHANGED,
} from './pgoutput.ts';

/** Bytes of a message, built from parts: strings are NUL-terminated, numbers tagged by width. */
function bytes(...parts: (string | ['u8' | 'i16' | 'i32', number] | ['i64', bigint] | Buffer)[]): Buffer {
  return Buffer.concat(
    parts.map((p) => {
      if (typeof p === 'string') return Buffer.from(`${p}\0`);
      if (Buffer.isBuffer(p)) return p;
      const b = Buffer.alloc(p[0] === 'u8' ? 1 : p[0] === 'i16' ? 2 : p[0] === 'i32' ? 4 : 8);
      if (p[0] === 'u8') b.writeUInt8(p[1]);
      else if (p[0] === 'i16') b.writeInt16BE(p[1]);
      else if (p[0] === 'i32') b.writeInt32BE(p[1]);
      else b.writeBigInt64BE(p[1] as bigint);
      return b;
    }),
  );
}
const ch = (c: string): ['u8', number] => ['u8', c.charCodeAt(0)];
const text = (s: string) => Buffer.concat([Buffer.from('t'), bytes(['i32', Buffer.byteLength(s)]), Buffer.from(s)]);
const xlog = (body: Buffer) => Buffer.concat([bytes(ch('w'), ['i64', 10n], ['i64', 20n], ['i64', 0n]), body]);

describe('pgoutput decoding', () => {
  it('reads begin, relation, insert, update with the old row, delete by key, commit and keepalives', () => {
    const begin = decodeReplicationMessage(
      xlog(bytes(ch('B'), ['i64', 0x1_0000_0010n], ['i64', 1_000_000n], ['i32', 7])),
    );
    assert.deepEqual(begin, {
      kind: 'xlog',
      walStart: 10n,
      walEnd: 20n,
      message: { tag: 'begin', finalLsn: 0x1_0000_0010n, commitTime: 1_000_000n, xid: 7 },
    });
    const rel = decodeReplicationMessage(
      xlog(
        bytes(ch('R'), ['i32', 42], 'shop', 'items', ch('f'), ['i16', 1], ['u8', 1], 'id', ['i32', 23], ['i32', -1]),
      ),
    );
    assert.ok(rel.kind === 'xlog' && rel.message.tag === 'relation');
    assert.deepEqual(rel.message.columns, [{ name: 'id', key: true, typeOid: 23, typeMod: -1 }]);
    const rel2 = decodeReplicationMessage(
      xlog(
        bytes(
          ch('R'),
          ['i32', 42],
          'shop',
          'items',
          ch('d'),
          ['i16', 2],
          ['u8', 1],
          'id',
          ['i32', 23],
          ['i32', -1],
          ['u8', 0],
          'note',
          ['i32', 25],
          ['i32', -1],
        ),
      ),
    );
    assert.ok(rel2.kind === 'xlog' && rel2.message.tag === 'relation');
    assert.deepEqual(
      rel2.message.columns.map((c) => [c.name, c.key, c.typeOid]),
      [
        ['id', true, 23],
        ['note', false, 25],
      ],
    );
    const ins = decodeReplicationMessage(xlog(bytes(ch('I'), ['i32', 42], ch('N'), ['i16', 2], text('1'), ch('n'))));
    assert.deepEqual(ins.kind === 'xlog' && ins.message, { tag: 'insert', relationId: 42, row: ['1', null] });
    const upd = decodeReplicationMessage(
      xlog(
        bytes(ch('U'), ['i32', 42], ch('O'), ['i16', 2], text('1'), text('é'), ch('N'), ['i16', 2], text('1'), ch('u')),
      ),
    );
    assert.deepEqual(upd.kind === 'xlog' && upd.message, {
      tag: 'update',
      relationId: 42,
      oldKind: 'O',
      old: ['1', 'é'],
      row: ['1', UNCHANGED],
    });
    const del = decodeReplicationMessage(xlog(bytes(ch('D'), ['i32', 42], ch('K'), ['i16', 2], text('1'), ch('n'))));
    assert.deepEqual(del.kind === 'xlog' && del.message, {
      tag: 'delete',
      relationId: 42,
      oldKind: 'K',
      old: ['1', null],
    });
    const commit = decodeReplicationMessage(
      xlog(bytes(ch('C'), ['u8', 0], ['i64', 0x1_0000_0010n], ['i64', 0x1_0000_0040n], ['i64', 5n])),
    );
    assert.deepEqual(commit.kind === 'xlog' && commit.message, {
      tag: 'commit',
      commitLsn: 0x1_0000_0010n,
      endLsn: 0x1_0000_0040n,
      commitTime: 5n,
    });
    const trunc = decodeReplicationMessage(xlog(bytes(ch('T'), ['i32', 1], ['u8', 1], ['i32', 42])));
    assert.deepEqual(trunc.kind === 'xlog' && trunc.message, { tag: 'truncate', relationIds: [42], cascade: true });
    const k = decodeReplicationMessage(bytes(ch('k'), ['i64', 99n], ['i64', 0n], ['u8', 1]));
    assert.deepEqual(k, { kind: 'keepalive', walEnd: 99n, replyRequested: true });
  });

  it('refuses what it does not know rather than guessing', () => {
    assert.throws(() => decodeReplicationMessage(bytes(ch('x'))), /unknown message 'x'/);
    assert.throws(() => decodeReplicationMessage(xlog(bytes(ch('Z')))), /unknown message 'Z'/);
    assert.throws(
      () => decodeReplicationMessage(xlog(bytes(ch('I'), ['i32', 1], ch('N'), ['i16', 1], ch('b')))),
      /unknown kind 'b'/,
    );
  });

  it('writes a standby status update confirming one LSN as written, flushed and applied', () => {
    const b = standbyStatus(0x2_0000_0001n, PG_EPOCH_MS + 1000);
    assert.equal(b.length, 34);
    assert.equal(String.fromCharCode(b[0]), 'r');
    for (const at of [1, 9, 17]) assert.equal(b.readBigUInt64BE(at), 0x2_0000_0001n);
    assert.equal(b.readBigInt64BE(25), 1_000_000n);
    assert.equal(pgTimeToMs(1_000_000n), PG_EPOCH_MS + 1000);
  });

  it('prints LSNs zero-padded so they sort as text, and reads PostgreSQL’s form back', () => {
    assert.equal(formatLsn(0x1b3f2c8n), '00000000/01B3F2C8');
    assert.equal(formatLsn((0xan << 32n) | 0x1n), '0000000A/00000001');
    assert.equal(parseLsn('A/1'), (0xan << 32n) | 1n);
    assert.equal(parseLsn(formatLsn(123456789012n)), 123456789012n);
    assert.ok(formatLsn(0x9_0000_0000n) < formatLsn(0x10_0000_0000n));
    assert.throws(() => parseLsn('1/2/3'), /not an LSN/);
  });
});

describe('PostgreSQL text output under a contract', () => {
  const fault: ValueFault = { errorClass: 'type', expected: '', found: '' };
  const conv = (type: ReturnType<typeof t.string>, s: string) =>
    converterFor({ name: 'x', type: type.type, nullable: false }, 'closed')(s, fault);

  it('converts every mapped type', () => {
    assert.equal(conv(t.int64(), '-42'), -42);
    assert.equal(conv(t.int64(), '9007199254740993'), BAD);
    assert.equal(fault.expected, 'int64 (an integer within ±2^53)');
    assert.equal(conv(t.decimal(8, 2), '19.99'), 19.99);
    assert.equal(conv(t.decimal(8, 2), '123456789.5'), BAD);
    assert.deepEqual(fault, { errorClass: 'type', expected: 'decimal(8,2)', found: '123456789.5' });
    assert.equal(conv(t.decimal(8, 2), 'NaN'), BAD);
    assert.equal(conv(t.float64(), '1.5e3'), 1500);
    assert.equal(conv(t.float64(), 'Infinity'), BAD);
    assert.equal(conv(t.bool(), 't'), true);
    assert.equal(conv(t.bool(), 'f'), false);
    assert.equal(conv(t.string(), ''), '');
    assert.equal(conv(t.date(), '2024-03-01'), 19783);
    assert.equal(conv(t.date(), 'infinity'), BAD);
    assert.equal(conv(t.timestamp(), '2024-03-01 10:00:00.123456+00'), Date.UTC(2024, 2, 1, 10, 0, 0, 123));
    assert.equal(conv(t.timestamp(), '2024-03-01 10:00:00'), Date.UTC(2024, 2, 1, 10));
    assert.equal(conv(t.timestamp(), '2024-03-01 12:00:00+05:30'), Date.UTC(2024, 2, 1, 6, 30));
    assert.equal(parsePgTimestamp('0044-03-15 00:00:00+00 BC'), undefined);
    assert.equal(conv(t.enum('S', ['a', 'b']), 'b'), 'b');
    assert.equal(conv(t.enum('S', ['a', 'b']), 'c'), BAD);
    assert.equal(fault.errorClass, 'enum');
    assert.deepEqual(conv(t.list(t.int64()), '[1,2]'), [1, 2]);
    assert.equal(conv(t.list(t.int64()), '[1,"x"]'), BAD);
    assert.match(fault.expected, /int64 at \/1/);
  });

  const ITEMS = contract({
    key: ['id'],
    fields: { ...cdcFields(), id: t.int64(), name: t.string().optional(), price: t.decimal(8, 2) },
  });

  it('reports drift between the table and the contract: added, removed and changed columns', () => {
    const types = new Map();
    assert.equal(
      columnDrift(
        ITEMS,
        [
          { name: 'id', typeOid: 23 },
          { name: 'name', typeOid: 1043 },
          { name: 'price', typeOid: 1700 },
        ],
        types,
      ),
      null,
    );
    const d = columnDrift(
      ITEMS,
      [
        { name: 'id', typeOid: 25 },
        { name: 'price', typeOid: 1700 },
        { name: 'colour', typeOid: 25 },
      ],
      types,
    );
    assert.ok(d !== null);
    assert.equal(
      describeDrift(d),
      'added colour (text); removed name (string); changed: id is text, the contract says int64',
    );
    const open = contract({ key: ['id'], content: 'open', fields: { ...cdcFields(), id: t.int64() } });
    assert.equal(
      columnDrift(
        open,
        [
          { name: 'id', typeOid: 20 },
          { name: 'extra', typeOid: 25 },
        ],
        types,
      ),
      null,
    );
  });

  it('names what a CDC contract lacks', () => {
    assert.deepEqual(cdcContractProblems(ITEMS), []);
    assert.deepEqual(cdcContractProblems(contract({ fields: { id: t.int64(), _before: t.string() } })), [
      "it lacks the changelog column _op (t.enum('CdcOp', ['snapshot', 'insert', 'update', 'delete']))",
      'it lacks the changelog column _lsn (t.string())',
      '_before must be t.string().optional()',
      "it has no key (declare the table's primary key columns as its key)",
    ]);
  });
});

describe('postgresCdc()', () => {
  it('checks its options, naming the table and the option', () => {
    assert.deepEqual(postgresCdc({ table: 'shop.items', connection: 'env:PG', stopAfterIdle: '2s', slot: 'my_slot' }), {
      kind: 'postgresCdc',
      table: 'shop.items',
      connection: 'env:PG',
      slot: 'my_slot',
      stopAfterIdleMs: 2000,
    });
    assert.throws(() => postgresCdc({ table: 'Shop.Items', connection: 'env:PG' }), /table 'Shop.Items' must be/);
    assert.throws(
      () => postgresCdc({ table: 'items', connection: 'postgres://u:secret@h/db' }),
      (e: Error) =>
        /postgresCdc\(\{ table: 'items' \}\): connection must be a reference/.test(e.message) &&
        !e.message.includes('secret'),
    );
    assert.throws(
      () => postgresCdc({ table: 'items', connection: 'env:PG', slot: 'bad-slot' }),
      /postgresCdc\(\{ table: 'items' \}\): slot 'bad-slot' must be a lower-case name/,
    );
    assert.throws(
      () => postgresCdc({ table: 'items', connection: 'env:PG', publication: '"x"' }),
      /publication '"x"' must be/,
    );
    assert.throws(() => postgresCdc({ table: 'items', connection: 'env:PG', stopAfterIdle: 'soon' }), /stopAfterIdle/);
  });
});
