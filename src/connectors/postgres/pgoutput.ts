/**
 * A decoder of PostgreSQL's logical replication stream: the CopyData messages of START_REPLICATION (XLogData 'w',
 * primary keepalive 'k') and, inside XLogData, the messages of the pgoutput plugin, protocol version 1 (see the
 * PostgreSQL manual, "Logical Replication Message Formats"). Column values stay as the server's text output, with
 * null and "unchanged TOASTed value" told apart, so the CDC source converts them under the contract itself.
 */

/** A value in a tuple: the text output, SQL null, or a TOASTed value the server did not send (unchanged). */
export const UNCHANGED: unique symbol = Symbol('unchanged toast');
export type TupleValue = string | null | typeof UNCHANGED;
export type Tuple = readonly TupleValue[];

export interface RelationColumn {
  readonly name: string;
  /** Part of the replica identity (the key, or every column under REPLICA IDENTITY FULL). */
  readonly key: boolean;
  readonly typeOid: number;
  readonly typeMod: number;
}

export type PgOutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: bigint; readonly commitTime: bigint; readonly xid: number }
  | {
      readonly tag: 'commit';
      readonly commitLsn: bigint;
      readonly endLsn: bigint;
      readonly commitTime: bigint;
    }
  | {
      readonly tag: 'relation';
      readonly relationId: number;
      readonly schema: string;
      readonly name: string;
      /** d (default: the primary key), n (nothing), f (full), i (an index). */
      readonly replicaIdentity: string;
      readonly columns: readonly RelationColumn[];
    }
  | { readonly tag: 'type'; readonly typeOid: number; readonly schema: string; readonly name: string }
  | { readonly tag: 'insert'; readonly relationId: number; readonly row: Tuple }
  | {
      readonly tag: 'update';
      readonly relationId: number;
      /** 'K': the old key (sent when the key changed), 'O': the old row (REPLICA IDENTITY FULL), or absent. */
      readonly oldKind?: 'K' | 'O';
      readonly old?: Tuple;
      readonly row: Tuple;
    }
  | { readonly tag: 'delete'; readonly relationId: number; readonly oldKind: 'K' | 'O'; readonly old: Tuple }
  | { readonly tag: 'truncate'; readonly relationIds: readonly number[]; readonly cascade: boolean }
  | { readonly tag: 'origin'; readonly lsn: bigint; readonly name: string }
  | { readonly tag: 'message'; readonly prefix: string };

/** One CopyData message of the replication stream. */
export type ReplicationMessage =
  | { readonly kind: 'xlog'; readonly walStart: bigint; readonly walEnd: bigint; readonly message: PgOutputMessage }
  | { readonly kind: 'keepalive'; readonly walEnd: bigint; readonly replyRequested: boolean };

const decoder = new TextDecoder('utf-8', { fatal: true });

class Reader {
  pos = 0;
  constructor(private readonly b: Buffer) {}
  u8(): number {
    return this.b.readUInt8(this.pos++);
  }
  i16(): number {
    const v = this.b.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    const v = this.b.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u32(): number {
    const v = this.b.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  i64(): bigint {
    const v = this.b.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  u64(): bigint {
    const v = this.b.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }
  /** A NUL-terminated string. */
  str(): string {
    const end = this.b.indexOf(0, this.pos);
    if (end < 0) throw new Error('pgoutput: a string without its terminating NUL');
    const s = decoder.decode(this.b.subarray(this.pos, end));
    this.pos = end + 1;
    return s;
  }
  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.b.length) throw new Error('pgoutput: a value runs past the end of its message');
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
}

/** Decodes one CopyData message of a logical replication stream ('w' or 'k'). */
export function decodeReplicationMessage(b: Buffer): ReplicationMessage {
  const r = new Reader(b);
  const kind = r.u8();
  if (kind === 0x77 /* w */) {
    const walStart = r.u64();
    const walEnd = r.u64();
    r.i64(); // the server's send time
    return { kind: 'xlog', walStart, walEnd, message: decodePgOutput(r) };
  }
  if (kind === 0x6b /* k */) {
    const walEnd = r.u64();
    r.i64();
    return { kind: 'keepalive', walEnd, replyRequested: r.u8() === 1 };
  }
  throw new Error(`replication stream: unknown message '${String.fromCharCode(kind)}'`);
}

function decodePgOutput(r: Reader): PgOutputMessage {
  const tag = String.fromCharCode(r.u8());
  switch (tag) {
    case 'B':
      return { tag: 'begin', finalLsn: r.u64(), commitTime: r.i64(), xid: r.u32() };
    case 'C': {
      r.u8(); // flags, unused
      return { tag: 'commit', commitLsn: r.u64(), endLsn: r.u64(), commitTime: r.i64() };
    }
    case 'O':
      return { tag: 'origin', lsn: r.u64(), name: r.str() };
    case 'R': {
      const relationId = r.u32();
      const schema = r.str();
      const name = r.str();
      const replicaIdentity = String.fromCharCode(r.u8());
      const n = r.i16();
      const columns: RelationColumn[] = [];
      for (let i = 0; i < n; i++) {
        const flags = r.u8();
        columns.push({ name: r.str(), key: (flags & 1) === 1, typeOid: r.u32(), typeMod: r.i32() });
      }
      return { tag: 'relation', relationId, schema, name, replicaIdentity, columns };
    }
    case 'Y':
      return { tag: 'type', typeOid: r.u32(), schema: r.str(), name: r.str() };
    case 'I': {
      const relationId = r.u32();
      expect(r, 'N', 'insert');
      return { tag: 'insert', relationId, row: tuple(r) };
    }
    case 'U': {
      const relationId = r.u32();
      const next = String.fromCharCode(r.u8());
      if (next === 'N') return { tag: 'update', relationId, row: tuple(r) };
      if (next !== 'K' && next !== 'O') throw new Error(`pgoutput: update with unknown tuple '${next}'`);
      const old = tuple(r);
      expect(r, 'N', 'update');
      return { tag: 'update', relationId, oldKind: next, old, row: tuple(r) };
    }
    case 'D': {
      const relationId = r.u32();
      const kind = String.fromCharCode(r.u8());
      if (kind !== 'K' && kind !== 'O') throw new Error(`pgoutput: delete with unknown tuple '${kind}'`);
      return { tag: 'delete', relationId, oldKind: kind, old: tuple(r) };
    }
    case 'T': {
      const n = r.i32();
      const options = r.u8();
      const relationIds: number[] = [];
      for (let i = 0; i < n; i++) relationIds.push(r.u32());
      return { tag: 'truncate', relationIds, cascade: (options & 1) === 1 };
    }
    case 'M': {
      r.u8();
      r.u64();
      return { tag: 'message', prefix: r.str() };
    }
    default:
      throw new Error(`pgoutput: unknown message '${tag}'`);
  }
}

function expect(r: Reader, want: string, what: string): void {
  const got = String.fromCharCode(r.u8());
  if (got !== want) throw new Error(`pgoutput: ${what} message has tuple '${got}' where '${want}' was expected`);
}

function tuple(r: Reader): Tuple {
  const n = r.i16();
  const out: TupleValue[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    if (kind === 0x6e /* n */) out[i] = null;
    else if (kind === 0x75 /* u */) out[i] = UNCHANGED;
    else if (kind === 0x74 /* t */) out[i] = decoder.decode(r.bytes(r.i32()));
    else throw new Error(`pgoutput: column ${i + 1} has unknown kind '${String.fromCharCode(kind)}' (binary?)`);
  }
  return out;
}

/** A Standby Status Update ('r'): `lsn` written, flushed and applied; the slot's confirmed_flush_lsn follows it. */
export function standbyStatus(lsn: bigint, nowMs: number, replyRequested = false): Buffer {
  const b = Buffer.alloc(34);
  b.write('r', 0, 'latin1');
  b.writeBigUInt64BE(lsn, 1);
  b.writeBigUInt64BE(lsn, 9);
  b.writeBigUInt64BE(lsn, 17);
  b.writeBigInt64BE(BigInt(nowMs - PG_EPOCH_MS) * 1000n, 25);
  b.writeUInt8(replyRequested ? 1 : 0, 33);
  return b;
}

/** 2000-01-01T00:00:00Z, PostgreSQL's epoch, in ms since the Unix epoch. */
export const PG_EPOCH_MS = 946_684_800_000;

/** A pgoutput time (µs since 2000-01-01 UTC) in ms since the Unix epoch. */
export function pgTimeToMs(us: bigint): number {
  return Number(us / 1000n) + PG_EPOCH_MS;
}

/** `0000000A/01B3F2C8`: the two halves zero-padded, so LSNs sort as text; PostgreSQL reads it as a pg_lsn. */
export function formatLsn(lsn: bigint): string {
  const hi = (lsn >> 32n).toString(16).toUpperCase().padStart(8, '0');
  const lo = (lsn & 0xffffffffn).toString(16).toUpperCase().padStart(8, '0');
  return `${hi}/${lo}`;
}

/** Reads an LSN as PostgreSQL prints it (`0/1B3F2C8`). */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (m === null) throw new Error(`'${text}' is not an LSN`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}
