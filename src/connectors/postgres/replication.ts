/**
 * The replication commands of the CDC source. This is the reviewed module allowed `sql.unsafe` (spec reliability §5,
 * test/sql-unsafe-lint.test.ts): a walsender connection (`replication=database`) accepts the simple query protocol
 * only, so its commands cannot take bound parameters. Every text built here is a constant, or a constant with names
 * that passed {@link checkIdent} (`[a-z_][a-z0-9_]*`, so they hold no quote, backslash or space) inside double quotes;
 * no value from data or configuration is spliced in otherwise. START_REPLICATION always asks for LSN 0/0: the server
 * then starts at the slot's confirmed_flush_lsn, which never passes what napkin's log holds.
 */
import type { Duplex } from 'node:stream';
import postgres from 'postgres';
import { type PgConnection, resolveReference } from './connection.ts';
import { checkIdent, type TableName } from './identifiers.ts';

/** A walsender connection: SQL (simple protocol) and replication commands. */
export interface ReplicationConnection {
  readonly sql: postgres.Sql;
  readonly conn: PgConnection;
}

/** Opens a replication connection for the reference (`env:NAME`); its session runs in UTC with ISO dates. */
export function openReplication(reference: string): ReplicationConnection {
  const { url, secrets } = resolveReference(reference);
  const sql = postgres(url, {
    max: 1,
    fetch_types: false,
    idle_timeout: 0,
    max_lifetime: null,
    onnotice: () => undefined,
    connection: {
      application_name: 'napkin-cdc',
      replication: 'database',
      TimeZone: 'UTC',
      DateStyle: 'ISO, YMD',
      extra_float_digits: '3',
    } as Record<string, string>,
  });
  return { sql, conn: { sql, secrets, reference } };
}

const quote = (name: string, what: string): string => `"${checkIdent(name, what)}"`;

/** What CREATE_REPLICATION_SLOT answered, and the time of the snapshot's transaction. */
export interface CreatedSlot {
  readonly consistentPoint: string;
  /** `transaction_timestamp()` of the snapshot transaction, as PostgreSQL prints it in UTC. */
  readonly snapshotTime: string;
}

/**
 * Starts a repeatable-read transaction and creates the logical slot (pgoutput) in it with USE_SNAPSHOT, so the
 * transaction sees the table exactly as of the slot's consistent point. Then {@link openSnapshotCursor}, read it with
 * {@link fetchSnapshot}, and {@link endSnapshot}.
 */
export async function createSlotWithSnapshot(r: ReplicationConnection, slot: string): Promise<CreatedSlot> {
  await r.sql.unsafe('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const [created] = await r.sql.unsafe(`CREATE_REPLICATION_SLOT ${quote(slot, 'slot')} LOGICAL pgoutput USE_SNAPSHOT`);
  const [at] = await r.sql.unsafe('SELECT transaction_timestamp()::text AS t');
  return { consistentPoint: String(created.consistent_point), snapshotTime: String(at.t) };
}

/** A cursor over the table's columns as text, in the snapshot's transaction. */
export async function openSnapshotCursor(
  r: ReplicationConnection,
  table: TableName,
  columns: readonly string[],
): Promise<void> {
  const list = columns.map((c) => `${quote(c, 'column')}::text`).join(', ');
  await r.sql.unsafe(
    `DECLARE napkin_snapshot NO SCROLL CURSOR FOR SELECT ${list} FROM ${quote(table.schema, 'schema')}.${quote(table.name, 'table')}`,
  );
}

/** The next `n` rows of the snapshot, each the columns' text (or null) in the order given. */
export async function fetchSnapshot(r: ReplicationConnection, n: number): Promise<(string | null)[][]> {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`fetchSnapshot: ${n} is not a row count`);
  const rows = await r.sql.unsafe(`FETCH FORWARD ${n} FROM napkin_snapshot`).values();
  return rows as unknown as (string | null)[][];
}

export async function endSnapshot(r: ReplicationConnection): Promise<void> {
  await r.sql.unsafe('COMMIT');
}

/** Streams the slot's changes (pgoutput protocol 1) from its confirmed_flush_lsn: CopyData in and out. */
export async function startReplication(r: ReplicationConnection, slot: string, publication: string): Promise<Duplex> {
  // publication_names is a string literal holding a list of identifiers: the quoted name inside single quotes.
  const command = `START_REPLICATION SLOT ${quote(slot, 'slot')} LOGICAL 0/0 (proto_version '1', publication_names '${quote(publication, 'publication')}')`;
  return (await r.sql.unsafe(command).writable()) as unknown as Duplex;
}
