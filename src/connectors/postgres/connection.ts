import postgres from 'postgres';
import { SECRET_REFERENCE } from '../../flow/storage.ts';

/** A client of the `postgres` package: only tagged-template queries, identifiers through `sql(name)`. */
export type Pg = postgres.Sql;

export interface PgConnectOptions {
  /** Sees every statement's text and parameters before it is sent (the injection test records them). */
  readonly onQuery?: (text: string, parameters: readonly unknown[]) => void;
  /** Connections in the pool; a sink holds one for its open staging transaction. */
  readonly max?: number;
}

/** A connected client and the strings no message may show: the resolved URL and its password. */
export interface PgConnection {
  readonly sql: Pg;
  readonly secrets: readonly string[];
  /** The reference it was made from (`env:NAME`), the only name for it that may be shown. */
  readonly reference: string;
}

/**
 * Connects through a reference (`env:NAME`), resolved here, at connect time, and nowhere else. The URL stays in this
 * process's memory: errors name the reference, and {@link redact} strips the URL and password from driver messages.
 */
export function connectPg(reference: string, options: PgConnectOptions = {}): PgConnection {
  const { url, secrets } = resolveReference(reference);
  const onQuery = options.onQuery;
  const sql = postgres(url, {
    max: options.max ?? 4,
    // Idempotent DDL (IF NOT EXISTS) raises notices; the default handler would print them.
    onnotice: () => undefined,
    // UTC, so nothing the session prints or parses depends on the server's zone.
    connection: { application_name: 'napkin', TimeZone: 'UTC' },
    ...(onQuery === undefined ? {} : { debug: (_c: number, text: string, params: unknown[]) => onQuery(text, params) }),
  });
  return { sql, secrets, reference };
}

/** The URL a reference (`env:NAME`) names, and the strings no message may show; resolved at connect time only. */
export function resolveReference(reference: string): { readonly url: string; readonly secrets: readonly string[] } {
  if (!SECRET_REFERENCE.test(reference))
    throw new Error(`postgres connection must be a reference such as 'env:NAPKIN_PG_URL'; put the URL in it`);
  const name = reference.slice('env:'.length);
  const url = process.env[name];
  if (url === undefined || url === '')
    throw new Error(`postgres connection ${reference}: environment variable ${name} is not set; set it to the URL`);
  return { url, secrets: secretsOf(url) };
}

/**
 * A one-line error for a failed database call: what failed (no secret in it), the driver's message redacted, its
 * code, and what to do: from the code when it tells (credentials, reachability), else `otherwise`.
 */
export function pgFailure(what: string, e: unknown, conn: PgConnection, otherwise?: string): Error {
  const text = redact(e instanceof Error ? e.message : String(e), conn.secrets).split('\n')[0];
  const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : undefined;
  const hint = hintFor(code, conn.reference) ?? otherwise;
  return new Error(`${what}: ${text}${code === undefined ? '' : ` [${code}]`}${hint === undefined ? '' : `; ${hint}`}`);
}

function hintFor(code: string | undefined, reference: string): string | undefined {
  if (code === '28P01' || code === '28000') return `check the user and password in ${reference}`;
  if (code === '3D000') return `check the database name in ${reference}`;
  if (code === '42501') return `grant the user in ${reference} the rights to create and write the tables`;
  if (code === '23505')
    return "two rows share a key the contract declares unique; dedupe them or write with mode 'merge'";
  if (code !== undefined && /^(E[A-Z]+|CONNECT_TIMEOUT|CONNECTION_\w+)$/.test(code))
    return `check that the server in ${reference} is up and reachable`;
  return undefined;
}

/** Removes every secret, plain and URL-encoded, from a message. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s !== '') out = out.split(s).join('***');
  return out;
}

function secretsOf(url: string): string[] {
  const out = [url];
  try {
    const u = new URL(url);
    if (u.password !== '') out.push(u.password, decodeURIComponent(u.password));
  } catch {
    // Not a URL (a key=value string, say): the whole value is the secret.
  }
  // Longest first, so a password inside the URL does not leave the rest of the URL behind.
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}
