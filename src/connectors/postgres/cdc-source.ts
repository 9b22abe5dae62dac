import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Value } from '../../expr/types.ts';
import { CDC_COLUMNS, type CdcOp, isCdcColumn } from '../../flow/cdc.ts';
import type { Contract } from '../../flow/contract.ts';
import { BATCH_ROWS } from '../../runtime/batch.ts';
import type { SourceChunk } from '../../runtime/execute.ts';
import { BAD } from '../../runtime/json-values.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { crashPoint } from '../crash-point.ts';
import {
  type ColumnDrift,
  type Converter,
  columnDrift,
  converterFor,
  describeDrift,
  kindOf,
  type PgTypes,
  parsePgTimestamp,
  type TableColumn,
  type ValueFault,
} from './cdc-values.ts';
import { connectPg, type PgConnection, pgFailure } from './connection.ts';
import { checkIdent, type TableName, tableName } from './identifiers.ts';
import {
  decodeReplicationMessage,
  formatLsn,
  type PgOutputMessage,
  parseLsn,
  pgTimeToMs,
  type RelationColumn,
  standbyStatus,
  type Tuple,
  UNCHANGED,
} from './pgoutput.ts';
import {
  createSlotWithSnapshot,
  endSnapshot,
  fetchSnapshot,
  openReplication,
  openSnapshotCursor,
  type ReplicationConnection,
  startReplication,
} from './replication.ts';

/**
 * Change data capture from one PostgreSQL table through a logical replication slot (pgoutput), into napkin's log.
 *
 * The log is the truth. Every append holds whole transactions and, in its marker, the position `lsn`: every change
 * whose transaction committed before it is in the log. The slot is confirmed (confirmed_flush_lsn) only up to a
 * position already durable in the log, so after a crash anywhere the server resends from at or below the log's
 * position, and transactions whose commit LSN is below it are skipped: nothing is missing and nothing is repeated.
 *
 * The first start takes a consistent snapshot: the slot is created with USE_SNAPSHOT inside a repeatable-read
 * transaction, which then reads the table exactly as of the slot's consistent point (as `snapshot` rows), and
 * streaming starts from that point. An exported snapshot dies with its connection, so a snapshot cut by a crash
 * cannot be resumed: it starts over in a new generation of the topic, with a new slot. Nothing reads the topic
 * before its snapshot is complete (it is taken before the flow's first epoch).
 */

/** The position stored with each append (numbers: an LSN fits in 2^53 for the first 8 PiB of WAL). */
export interface CdcPosition {
  /** Changes of transactions whose commit LSN is below this are in the log (snapshot: the consistent point). */
  readonly lsn: number;
  /** Snapshot rows in the log. */
  readonly snapshot: number;
  /** 1 once the snapshot is complete; 0 while it is read (or before the slot exists: `lsn` is then 0). */
  readonly snapshotDone: number;
}

/** The topic as the source sees it: its position, and atomic appends of a chunk with the position after it. */
export interface CdcLog {
  /** The position of this source's last append in the current generation (undefined: none). */
  position(): CdcPosition | undefined;
  /** Whether the current generation holds anything but its start (a half-taken snapshot). */
  hasRecords(): boolean;
  /** Starts a new generation: readers read from there. */
  startGeneration(): Promise<void>;
  append(chunk: SourceChunk, position: CdcPosition): Promise<void>;
}

export interface CdcSourceOptions {
  readonly dataset: string;
  /** `schema.name` or `name`. */
  readonly table: string;
  readonly connection: string;
  readonly slot: string;
  readonly publication: string;
  readonly contract: Contract;
  readonly stopAfterIdleMs?: number;
  /** How often an idle slot is moved on over unrelated WAL (a marker-only append, then a confirmation). */
  readonly progressMs?: number;
  /**
   * How long to keep reconnecting after the replication connection is lost (a server restart, a failover, a killed
   * walsender) before the run fails; default 5 minutes. Each new session resumes from the log's position.
   */
  readonly reconnectForMs?: number;
  /** One line per reconnection, for people; stderr by default. */
  readonly onNotice?: (line: string) => void;
}

/**
 * The replication connection was lost, or could not be opened for a reason a later attempt may not meet (the
 * server is down or restarting): nothing the log holds is affected, and a new session resumes from its position.
 */
export class ReplicationLost extends Error {}

/** SQLSTATE classes and client codes of a connection lost or refused (08: connection exception; 57P0x: shutdown). */
const CONNECTION_CODE = /^(08\w{3}|57P0[123]|E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_\w+)$/;

function connectionCode(e: unknown): boolean {
  const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : '';
  return CONNECTION_CODE.test(code);
}

/** A source's row in the log: contract field values in contract order. */
type Row = Value[];

interface Relation {
  readonly id: number;
  readonly ours: boolean;
  readonly columns: readonly RelationColumn[];
  /** Per contract field: the column index in the relation's tuples (−1: a changelog column). */
  readonly index: readonly number[];
  /** Indexes of the key columns (the contract's key) in the relation's tuples. */
  readonly keyIndex: readonly number[];
  readonly drift: ColumnDrift | null;
}

/** Changes of one transaction, converted. */
interface Txn {
  readonly lsn: bigint;
  readonly commitTime: number;
  readonly rows: Row[];
  readonly rejected: QuarantineEntry[];
  changes: number;
}

const SNAPSHOT_ROWS = BATCH_ROWS;
const STATUS_MS = 10_000;
const SLOT_BUSY_WAIT_MS = 30_000;
const RECONNECT_FOR_MS = 300_000;
/** The first wait before reconnecting, doubled per failed attempt up to the last. */
const RECONNECT_FIRST_MS = 200;
const RECONNECT_MAX_MS = 5_000;

export class CdcSource {
  private readonly table: TableName;
  private readonly fields: Contract['schema']['fields'];
  private readonly converters: Converter[];
  private readonly types: PgTypes = new Map();
  private readonly name: string;

  private constructor(
    private readonly o: CdcSourceOptions,
    private readonly conn: PgConnection,
  ) {
    this.table = tableName(o.table);
    checkIdent(o.slot, 'slot');
    checkIdent(o.publication, 'publication');
    this.fields = o.contract.schema.fields;
    this.converters = this.fields.map((f) => converterFor(f, o.contract.content));
    this.name = `postgres ${this.table.qualified}`;
  }

  /**
   * Checks the server, the table and the contract, creates the publication if missing, and takes the initial
   * snapshot unless the log holds a complete one (then the slot must still be there, not ahead of the log).
   */
  static async prepare(o: CdcSourceOptions, log: CdcLog): Promise<CdcSource> {
    const conn = connectPg(o.connection, { max: 1 });
    const s = new CdcSource(o, conn);
    try {
      await s.checkServer();
      await s.ensurePublication();
      const pos = log.position();
      if (pos?.snapshotDone === 1) await s.checkSlot(pos);
      else await s.snapshot(log);
      return s;
    } finally {
      await conn.sql.end({ timeout: 5 });
    }
  }

  // ─── checks ───

  private fail(what: string, e: unknown, otherwise?: string): Error {
    return pgFailure(`${this.o.dataset} (${this.name}): ${what}`, e, this.conn, otherwise);
  }

  private async checkServer(): Promise<void> {
    const { sql } = this.conn;
    const t = this.table;
    const ds = this.o.dataset;
    let info: { wal: string; replication: boolean; exists: boolean; ident: string };
    try {
      const [w] = await sql`show wal_level`;
      const [r] = await sql`select rolreplication or rolsuper as ok from pg_roles where rolname = current_user`;
      const [c] = await sql`select relreplident from pg_class where oid = to_regclass(${t.qualified})`;
      info = { wal: String(w.wal_level), replication: r?.ok === true, exists: c !== undefined, ident: c?.relreplident };
    } catch (e) {
      throw this.fail('reading the server settings failed', e);
    }
    if (info.wal !== 'logical')
      throw new Error(
        `${ds} (${this.name}): the server runs with wal_level = ${info.wal}; change data capture needs wal_level = logical (set it in postgresql.conf and restart the server)`,
      );
    if (!info.replication)
      throw new Error(
        `${ds} (${this.name}): the user in ${this.o.connection} may not replicate; ALTER ROLE <user> REPLICATION (or use a role that has it)`,
      );
    if (!info.exists)
      throw new Error(`${ds}: table ${t.qualified} does not exist in the database of ${this.o.connection}`);
    const cols = await sql`
      select a.attname as name, a.atttypid::int as oid, t.typtype, t.typcategory, t.typname,
             coalesce(nullif(t.typbasetype, 0), t.oid)::int as base
      from pg_attribute a join pg_type t on t.oid = a.atttypid
      where a.attrelid = to_regclass(${t.qualified}) and a.attnum > 0 and not a.attisdropped
      order by a.attnum`;
    const columns: TableColumn[] = [];
    for (const c of cols) {
      const oid = Number(c.oid);
      columns.push({ name: String(c.name), typeOid: oid });
      const kind = kindOf(Number(c.base), String(c.typtype), String(c.typcategory));
      if (!this.types.has(oid)) this.types.set(oid, { name: String(c.typname), kind });
    }
    const drift = columnDrift(this.o.contract, columns, this.types);
    if (drift !== null) throw this.driftError(drift, 'the table');
    const pk = (
      await sql`select a.attname as name from pg_index i
        join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
        where i.indrelid = to_regclass(${t.qualified}) and i.indisprimary`
    ).map((r) => String(r.name));
    const key = this.o.contract.key;
    if (pk.length === 0)
      throw new Error(
        `${ds}: table ${t.qualified} has no primary key; change data capture needs one to tell rows apart (add it, e.g. ALTER TABLE ${t.qualified} ADD PRIMARY KEY (${key.join(', ')}))`,
      );
    if (pk.length !== key.length || pk.some((k) => !key.includes(k)))
      throw new Error(
        `${ds}: the contract's key (${key.join(', ')}) is not the primary key of ${t.qualified} (${pk.join(', ')}); declare key: [${pk.map((k) => `'${k}'`).join(', ')}]`,
      );
    if (info.ident !== 'f') {
      const required = this.fields.filter((f) => !isCdcColumn(f.name) && !f.nullable && !key.includes(f.name));
      if (required.length > 0)
        throw new Error(
          `${ds}: table ${t.qualified} has REPLICA IDENTITY ${identName(info.ident)}, so a delete carries only its key, but the contract requires ${required.map((f) => f.name).join(', ')}; run ALTER TABLE ${t.qualified} REPLICA IDENTITY FULL (deletes then carry the whole row), or make those fields optional`,
        );
    }
  }

  private driftError(d: ColumnDrift, where: string, lsn?: bigint): Error {
    const at = lsn === undefined ? '' : ` at LSN ${formatLsn(lsn)}`;
    return new Error(
      `contract drift: ${where} ${this.table.qualified}${at} no longer matches dataset ${this.o.dataset}'s contract v${this.o.contract.version} (${describeDrift(d)}); change the contract to match (a new contract version; reprocess with napkin replay) or undo the table change, then run again: nothing after the last logged change is lost`,
    );
  }

  private async ensurePublication(): Promise<void> {
    const { sql } = this.conn;
    const pub = this.o.publication;
    const t = this.table;
    try {
      const [p] = await sql`select pubinsert, pubupdate, pubdelete from pg_publication where pubname = ${pub}`;
      if (p === undefined) {
        await sql`create publication ${sql(pub)} for table ${sql(t.qualified)}`;
        return;
      }
      if (!(p.pubinsert && p.pubupdate && p.pubdelete))
        throw new Error(
          `${this.o.dataset}: publication ${pub} does not publish every insert, update and delete; ALTER PUBLICATION ${pub} SET (publish = 'insert, update, delete, truncate'), or name another publication`,
        );
      const [has] = await sql`select 1 as x from pg_publication_tables
        where pubname = ${pub} and schemaname = ${t.schema} and tablename = ${t.name}`;
      if (has === undefined)
        throw new Error(
          `${this.o.dataset}: publication ${pub} exists but does not publish ${t.qualified}; ALTER PUBLICATION ${pub} ADD TABLE ${t.qualified}, or name another publication`,
        );
    } catch (e) {
      if (e instanceof Error && e.message.startsWith(`${this.o.dataset}: `)) throw e;
      throw this.fail(`creating publication ${pub} failed`, e);
    }
  }

  private async slotRow(): Promise<
    { plugin: string; database: string; here: string; confirmed: string | null } | undefined
  > {
    const [r] = await this.conn.sql`select plugin, database, current_database() as here,
        confirmed_flush_lsn::text as confirmed from pg_replication_slots where slot_name = ${this.o.slot}`;
    return r === undefined
      ? undefined
      : { plugin: String(r.plugin), database: String(r.database), here: String(r.here), confirmed: r.confirmed };
  }

  /** A resumed source: its slot must exist, decode pgoutput, and not be confirmed past what the log holds. */
  private async checkSlot(pos: CdcPosition): Promise<void> {
    const r = await this.slotRow();
    const ds = this.o.dataset;
    const slot = this.o.slot;
    const logged = formatLsn(BigInt(pos.lsn));
    if (r === undefined)
      throw new Error(
        `${ds}: replication slot ${slot} is gone, but napkin's log of ${this.table.qualified} stops at LSN ${logged}: the changes after it are no longer available. To start over from a new snapshot, remove the dataset's topic (.napkin/log/${ds}) and reprocess the flows that read it (napkin replay)`,
      );
    if (r.plugin !== 'pgoutput' || r.database !== r.here)
      throw new Error(
        `${ds}: replication slot ${slot} decodes ${r.plugin} in database ${r.database}; napkin needs a pgoutput slot in ${r.here}: name another slot`,
      );
    if (r.confirmed !== null && parseLsn(r.confirmed) > BigInt(pos.lsn))
      throw new Error(
        `${ds}: replication slot ${slot} was confirmed up to ${formatLsn(parseLsn(r.confirmed))}, past napkin's log (${logged}): another client consumed it, and the changes in between are lost to napkin. Give the flow a slot of its own, then remove the topic (.napkin/log/${ds}) to start from a new snapshot`,
      );
  }

  // ─── snapshot ───

  private async snapshot(log: CdcLog): Promise<void> {
    // Only a slot this log announced (below) is napkin's to drop: anything else may be another consumer's.
    const owned = log.position() !== undefined;
    if ((await this.slotRow()) !== undefined) {
      if (!owned)
        throw new Error(
          `${this.o.dataset}: replication slot ${this.o.slot} already exists, and napkin's log does not know it (another consumer's slot, or a log that was removed); drop it with SELECT pg_drop_replication_slot('${this.o.slot}') or name another slot`,
        );
      await this.dropSlot();
    }
    // A half-taken snapshot is dropped with its generation: readers start from the new one.
    if (log.hasRecords()) await log.startGeneration();
    const empty = { batch: { length: 0, columns: this.fields.map(() => []) }, rejected: [] };
    // Announces the slot before creating it: a crash before the snapshot completes leaves a slot this log owns.
    await log.append(empty, { lsn: 0, snapshot: 0, snapshotDone: 0 });
    const rep = openReplication(this.o.connection);
    try {
      const columns = this.fields.filter((f) => !isCdcColumn(f.name)).map((f) => f.name);
      let created: Awaited<ReturnType<typeof createSlotWithSnapshot>>;
      try {
        created = await createSlotWithSnapshot(rep, this.o.slot);
      } catch (e) {
        throw pgFailure(
          `${this.o.dataset}: creating replication slot ${this.o.slot} failed`,
          e,
          rep.conn,
          'check max_replication_slots and that the user may replicate',
        );
      }
      crashPoint('cdc-slot-created');
      try {
        await openSnapshotCursor(rep, this.table, columns);
      } catch (e) {
        throw pgFailure(
          `${this.o.dataset}: reading the snapshot of ${this.table.qualified} failed`,
          e,
          rep.conn,
          'if the table was altered while the snapshot started, run again: the next run compares it with the contract first',
        );
      }
      const lsn = parseLsn(created.consistentPoint);
      const at = parsePgTimestamp(created.snapshotTime) ?? null;
      const lsnText = formatLsn(lsn);
      let rows = 0;
      for (;;) {
        const got = await fetchSnapshot(rep, SNAPSHOT_ROWS);
        const chunk = this.snapshotChunk(got, columns, rows, lsnText, at);
        rows += got.length;
        const done = got.length < SNAPSHOT_ROWS ? 1 : 0;
        await log.append(chunk, { lsn: Number(lsn), snapshot: rows, snapshotDone: done });
        crashPoint('cdc-snapshot-chunk');
        if (done === 1) break;
      }
      await endSnapshot(rep);
    } finally {
      await rep.sql.end({ timeout: 5 });
    }
  }

  private snapshotChunk(
    got: readonly (string | null)[][],
    columns: readonly string[],
    before: number,
    lsn: string,
    at: number | null,
  ): SourceChunk {
    const colOf = this.fields.map((f) => columns.indexOf(f.name));
    const out: Row[] = [];
    const rejected: QuarantineEntry[] = [];
    got.forEach((values, i) => {
      const record = before + i + 1;
      const row = this.convert(
        (k) => values[colOf[k]] ?? null,
        { op: 'snapshot', lsn, before: null, at },
        (fault) =>
          rejected.push(
            this.entry(`${this.name} snapshot`, record, fault, {
              op: 'snapshot',
              lsn,
              row: Object.fromEntries(columns.map((c, j) => [c, values[j]])),
            }),
          ),
      );
      if (row !== undefined) out.push(row);
    });
    return toChunk(out, rejected, this.fields.length);
  }

  private async dropSlot(): Promise<void> {
    const deadline = Date.now() + SLOT_BUSY_WAIT_MS;
    for (;;) {
      try {
        await this.conn.sql`select pg_drop_replication_slot(${this.o.slot})`;
        return;
      } catch (e) {
        // 55006: still active, held by the walsender of a killed run that the server has not reaped yet.
        if ((e as { code?: string }).code !== '55006' || Date.now() > deadline)
          throw this.fail(`dropping the unfinished snapshot's slot ${this.o.slot} failed`, e);
        await sleep(200);
      }
    }
  }

  // ─── one value, one row ───

  /** Reads a row's values (by contract field index) into contract order; undefined after reporting a bad value. */
  private convert(
    value: (k: number) => string | null | typeof UNCHANGED,
    meta: { op: CdcOp; lsn: string; before: string | null; at: number | null },
    reject: (fault: ValueFault & { field: string }) => void,
  ): Row | undefined {
    const row: Row = new Array(this.fields.length);
    const fault: ValueFault = { errorClass: 'type', expected: '', found: '' };
    for (let k = 0; k < this.fields.length; k++) {
      const f = this.fields[k];
      let v: Value | typeof BAD;
      if (f.name === CDC_COLUMNS.op) v = meta.op;
      else if (f.name === CDC_COLUMNS.lsn) v = meta.lsn;
      else if (f.name === CDC_COLUMNS.before) v = meta.before;
      else if (f.name === CDC_COLUMNS.committedAt) v = meta.at;
      else {
        const text = value(k);
        if (text === UNCHANGED) {
          reject({
            field: f.name,
            errorClass: 'missing',
            expected: `the value (an unchanged TOASTed value the server did not send; ALTER TABLE ${this.table.qualified} REPLICA IDENTITY FULL sends it)`,
            found: 'no value',
          });
          return undefined;
        }
        v = text === null ? null : this.converters[k](text, fault);
        if (v === BAD) {
          reject({ field: f.name, ...fault });
          return undefined;
        }
      }
      if (v === null && !f.nullable) {
        reject({ field: f.name, errorClass: 'missing', expected: `a value (${f.name} is required)`, found: 'null' });
        return undefined;
      }
      row[k] = v;
    }
    return row;
  }

  private entry(
    source: string,
    record: number,
    fault: ValueFault & { field: string },
    raw: Record<string, unknown>,
  ): QuarantineEntry {
    return {
      source,
      record,
      field: `/${fault.field}`,
      errorClass: fault.errorClass,
      expected: fault.expected,
      found: fault.found,
      raw: JSON.stringify({ table: this.table.qualified, ...raw }),
      rawEncoding: 'utf8',
    };
  }

  // ─── streaming ───

  /**
   * Streams committed changes into the log until `signal` aborts or, with `stopAfterIdleMs`, no change arrived for
   * that long. Returns the number of records appended.
   */
  async stream(log: CdcLog, signal: AbortSignal, now: () => number, onAppend?: () => void): Promise<number> {
    let records = 0;
    let lostAt: number | undefined;
    let wait = RECONNECT_FIRST_MS;
    for (let attempt = 1; ; attempt++) {
      const start = log.position();
      if (start?.snapshotDone !== 1) throw new Error(`${this.o.dataset}: streaming before the snapshot is complete`);
      const s = new Streamer(this, log, start, signal, now, onAppend);
      try {
        return records + (await s.run());
      } catch (e) {
        records += s.appended;
        if (!(e instanceof ReplicationLost) || signal.aborted) throw e;
        // A session that got as far as appending starts the budget and the backoff afresh.
        if (s.appended > 0 || s.streamed) {
          lostAt = undefined;
          wait = RECONNECT_FIRST_MS;
          attempt = 1;
        }
        lostAt ??= Date.now();
        const budget = this.o.reconnectForMs ?? RECONNECT_FOR_MS;
        if (Date.now() - lostAt + wait > budget)
          throw new Error(`${e.message}; gave up reconnecting after ${Math.round(budget / 1000)} s`);
        const notice = this.o.onNotice ?? ((line: string) => process.stderr.write(`${line}\n`));
        notice(`napkin: ${e.message}; reconnecting in ${wait} ms (attempt ${attempt})`);
        await sleep(wait, undefined, { signal }).catch(() => undefined);
        wait = Math.min(RECONNECT_MAX_MS, wait * 2);
        if (signal.aborted) return records;
      }
    }
  }

  /** The replication connection, started on the slot; waits while a killed run's walsender still holds it. */
  async startStream(): Promise<{ rep: ReplicationConnection; stream: Duplex }> {
    const deadline = Date.now() + SLOT_BUSY_WAIT_MS;
    for (;;) {
      const rep = openReplication(this.o.connection);
      try {
        const stream = await startReplication(rep, this.o.slot, this.o.publication);
        return { rep, stream };
      } catch (e) {
        await rep.sql.end({ timeout: 1 }).catch(() => undefined);
        if ((e as { code?: string }).code !== '55006' || Date.now() > deadline) {
          const failure = pgFailure(
            `${this.o.dataset}: starting replication from slot ${this.o.slot} failed`,
            e,
            rep.conn,
          );
          throw connectionCode(e) ? new ReplicationLost(failure.message) : failure;
        }
        await sleep(200);
      }
    }
  }

  /** What a Relation message means for this source: ours or not, the column map, and any drift from the contract. */
  relation(m: Extract<PgOutputMessage, { tag: 'relation' }>): Relation {
    const ours = m.schema === this.table.schema && m.name === this.table.name;
    const names = m.columns.map((c) => c.name);
    const index = this.fields.map((f) => (isCdcColumn(f.name) ? -1 : names.indexOf(f.name)));
    const keyIndex = this.o.contract.key.map((k) => names.indexOf(k));
    const drift = ours ? columnDrift(this.o.contract, m.columns, this.types) : null;
    return { id: m.relationId, ours, columns: m.columns, index, keyIndex, drift };
  }

  noteType(m: Extract<PgOutputMessage, { tag: 'type' }>): void {
    if (!this.types.has(m.typeOid)) this.types.set(m.typeOid, { name: m.name, kind: 'other' });
  }

  /** Converts one insert, update or delete of a transaction into changelog rows (or quarantine entries). */
  change(txn: Txn, rel: Relation, m: Extract<PgOutputMessage, { tag: 'insert' | 'update' | 'delete' }>): void {
    if (rel.drift !== null) throw this.driftError(rel.drift, 'table', txn.lsn);
    const lsn = formatLsn(txn.lsn);
    const at = txn.commitTime;
    const text = (t: Tuple, i: number) => (i < 0 ? null : (t[i] ?? null));
    const image = (t: Tuple, only?: readonly number[]): string =>
      JSON.stringify(
        Object.fromEntries(
          (only ?? rel.columns.map((_, i) => i))
            .filter((i) => i >= 0 && t[i] !== UNCHANGED)
            .map((i) => [rel.columns[i].name, t[i]]),
        ),
      );
    const emit = (op: CdcOp, t: Tuple, before: string | null, fallback?: Tuple): void => {
      const record = ++txn.changes;
      const row = this.convert(
        (k) => {
          const i = rel.index[k];
          const v = text(t, i);
          return v === UNCHANGED && fallback !== undefined && fallback[i] !== UNCHANGED ? text(fallback, i) : v;
        },
        { op, lsn, before, at },
        (fault) =>
          txn.rejected.push(
            this.entry(`${this.name} lsn ${lsn}`, record, fault, {
              op,
              lsn,
              row: JSON.parse(image(t)),
              ...(before === null ? {} : { before: JSON.parse(before) }),
            }),
          ),
      );
      if (row !== undefined) txn.rows.push(row);
    };
    if (m.tag === 'insert') emit('insert', m.row, null);
    else if (m.tag === 'delete') emit('delete', m.old, image(m.old, m.oldKind === 'K' ? rel.keyIndex : undefined));
    else {
      // An update: the old image (FULL), the old key (when the key changed), or the key of the new row.
      const old = m.old;
      const before =
        old === undefined ? image(m.row, rel.keyIndex) : image(old, m.oldKind === 'K' ? rel.keyIndex : undefined);
      const full = m.oldKind === 'O' ? old : undefined;
      if (old === undefined || !rel.keyIndex.some((i) => old[i] !== m.row[i] && old[i] !== UNCHANGED))
        emit('update', m.row, before, full);
      else {
        emit('delete', old, before);
        emit('insert', m.row, before, full);
      }
    }
  }

  truncated(lsn: bigint): Error {
    return new Error(
      `${this.o.dataset}: table ${this.table.qualified} was truncated (transaction at LSN ${formatLsn(lsn)}); a changelog cannot express TRUNCATE. Napkin stopped before it: delete rows with DELETE instead, or start over from a new snapshot (drop slot ${this.o.slot}, remove .napkin/log/${this.o.dataset}, napkin replay the flows that read it)`,
    );
  }

  get options(): CdcSourceOptions {
    return this.o;
  }
}

function identName(c: string): string {
  return c === 'd' ? 'DEFAULT' : c === 'n' ? 'NOTHING' : c === 'i' ? 'USING INDEX' : 'FULL';
}

function toChunk(rows: readonly Row[], rejected: QuarantineEntry[], width: number): SourceChunk {
  const columns: Value[][] = Array.from({ length: width }, () => new Array(rows.length));
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    for (let c = 0; c < width; c++) columns[c][i] = r[c];
  }
  return { batch: { length: rows.length, columns }, rejected };
}

/**
 * One streaming session: reads the replication stream, converts whole transactions, appends them (per batch of
 * transactions, as soon as nothing more is buffered) and confirms each append's position once it is durable.
 */
class Streamer {
  private readonly queue: Buffer[] = [];
  private wake: (() => void) | undefined;
  private closed: { error?: unknown } | undefined;
  private readonly relations = new Map<number, Relation>();
  private txn: (Txn & { skip: boolean }) | undefined;
  private pending: { rows: Row[]; rejected: QuarantineEntry[]; lsn: bigint } | undefined;
  private logged: bigint;
  private records = 0;
  /** The server sent something: the session was up. */
  streamed = false;
  private lastStatus = 0;
  private lastProgress: number;
  private lastData: number;
  private stream: Duplex | undefined;

  constructor(
    private readonly src: CdcSource,
    private readonly log: CdcLog,
    private readonly start: CdcPosition,
    private readonly signal: AbortSignal,
    private readonly now: () => number,
    private readonly onAppend: (() => void) | undefined,
  ) {
    this.logged = BigInt(start.lsn);
    this.lastProgress = now();
    this.lastData = now();
  }

  /** Records appended so far, also when the session ends in an error. */
  get appended(): number {
    return this.records;
  }

  async run(): Promise<number> {
    const { rep, stream } = await this.src.startStream();
    this.stream = stream;
    stream.on('data', (b: Buffer) => {
      this.streamed = true;
      this.queue.push(b);
      if (this.queue.length > 4096) stream.pause();
      this.notify();
    });
    stream.on('error', (error: unknown) => {
      this.closed ??= { error };
      this.notify();
    });
    stream.on('close', () => {
      this.closed ??= {};
      this.notify();
    });
    const onAbort = (): void => this.notify();
    this.signal.addEventListener('abort', onAbort);
    try {
      this.status();
      await this.loop();
      await this.flush();
      this.status();
      return this.records;
    } finally {
      this.signal.removeEventListener('abort', onAbort);
      stream.removeAllListeners('data');
      stream.on('error', () => undefined);
      stream.end();
      await rep.sql.end({ timeout: 2 }).catch(() => undefined);
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async loop(): Promise<void> {
    const idleMs = this.src.options.stopAfterIdleMs;
    for (;;) {
      if (this.signal.aborted) return;
      const b = this.queue.shift();
      if (b === undefined) {
        if (this.closed !== undefined) throw this.lost(this.closed.error);
        await this.flush();
        const t = this.now();
        if (idleMs !== undefined && this.txn === undefined && t - this.lastData >= idleMs) return;
        if (t - this.lastStatus >= STATUS_MS) this.status();
        const wait = Math.max(10, Math.min(STATUS_MS, idleMs === undefined ? STATUS_MS : idleMs - (t - this.lastData)));
        await new Promise<void>((resolve) => {
          this.wake = resolve;
          setTimeout(resolve, wait).unref();
        });
        continue;
      }
      if (this.queue.length < 256) this.stream?.resume();
      await this.handle(b);
      if (this.pending !== undefined && this.pending.rows.length + this.pending.rejected.length >= BATCH_ROWS)
        await this.flush();
    }
  }

  private lost(error: unknown): Error {
    const o = this.src.options;
    const why = error === undefined ? 'the server closed it' : (error as Error).message.split('\n')[0];
    return new ReplicationLost(
      `${o.dataset}: the replication stream of slot ${o.slot} ended (${why}); it resumes from LSN ${formatLsn(this.logged)}`,
    );
  }

  private async handle(b: Buffer): Promise<void> {
    const msg = decodeReplicationMessage(b);
    if (msg.kind === 'keepalive') {
      if (msg.replyRequested) this.status();
      await this.progress(msg.walEnd);
      return;
    }
    const m = msg.message;
    switch (m.tag) {
      case 'begin':
        this.txn = {
          lsn: m.finalLsn,
          commitTime: pgTimeToMs(m.commitTime),
          rows: [],
          rejected: [],
          changes: 0,
          // Already in the log: a transaction that committed before the logged position.
          skip: m.finalLsn < this.logged,
        };
        return;
      case 'relation':
        this.relations.set(m.relationId, this.src.relation(m));
        return;
      case 'type':
        this.src.noteType(m);
        return;
      case 'insert':
      case 'update':
      case 'delete': {
        const txn = this.txn;
        if (txn === undefined) throw new Error(`pgoutput: a ${m.tag} outside a transaction`);
        const rel = this.relations.get(m.relationId);
        if (rel === undefined) throw new Error(`pgoutput: a ${m.tag} of relation ${m.relationId} before its Relation`);
        if (txn.skip || !rel.ours) return;
        if (rel.drift !== null) await this.flush();
        this.src.change(txn, rel, m);
        return;
      }
      case 'truncate': {
        const txn = this.txn;
        if (txn === undefined || txn.skip) return;
        if (m.relationIds.some((id) => this.relations.get(id)?.ours === true)) {
          await this.flush();
          throw this.src.truncated(txn.lsn);
        }
        return;
      }
      case 'commit': {
        const txn = this.txn;
        this.txn = undefined;
        if (txn === undefined || txn.skip) return;
        // Idleness counts this table's changes only (before PostgreSQL 15, other tables' transactions come empty).
        if (txn.changes > 0) this.lastData = this.now();
        const p = this.pending ?? { rows: [], rejected: [], lsn: m.endLsn };
        p.rows.push(...txn.rows);
        p.rejected.push(...txn.rejected);
        p.lsn = m.endLsn;
        this.pending = p;
        return;
      }
      default:
        return;
    }
  }

  /** Appends the pending transactions with the position after them, then confirms that position. */
  private async flush(): Promise<void> {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    const width = this.src.options.contract.schema.fields.length;
    await this.log.append(toChunk(p.rows, p.rejected, width), this.position(p.lsn));
    this.logged = p.lsn;
    this.lastProgress = this.now();
    this.records += p.rows.length + p.rejected.length;
    crashPoint('cdc-appended');
    this.onAppend?.();
    this.status();
    crashPoint('cdc-acknowledged');
  }

  /**
   * A keepalive between transactions says the server decoded the WAL up to `walEnd` and sent every transaction that
   * committed before it: with nothing pending, the log may record that position (a marker-only append, now and then)
   * and the slot be confirmed to it, so WAL of other tables is not held for a quiet one.
   */
  private async progress(walEnd: bigint): Promise<void> {
    if (this.txn !== undefined || this.pending !== undefined || walEnd <= this.logged) return;
    if (this.now() - this.lastProgress < (this.src.options.progressMs ?? STATUS_MS)) return;
    this.pending = { rows: [], rejected: [], lsn: walEnd };
    await this.flush();
  }

  private position(lsn: bigint): CdcPosition {
    return { lsn: Number(lsn), snapshot: this.start.snapshot, snapshotDone: 1 };
  }

  /** Confirms the logged position: written, flushed and applied, as far as the server is concerned. */
  private status(): void {
    this.lastStatus = this.now();
    if (this.closed === undefined) this.stream?.write(standbyStatus(this.logged, Date.now()));
  }
}
