// A throwaway PostgreSQL server for the integration tests (*.pg.test.ts): Debian's binaries, a temp data directory, a
// free port on 127.0.0.1, password authentication. Debian's initdb refuses to run as root, so as root the server runs
// as the `postgres` OS user (created when missing).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const DEBIAN_ROOT = '/usr/lib/postgresql';

export interface PgServer {
  /** A connection URL with the password: hand it to the code under test through an environment variable only. */
  readonly url: string;
  readonly port: number;
  readonly password: string;
  stop(): Promise<void>;
}

export interface PgServerOptions {
  /**
   * Logical decoding for change data capture: wal_level = logical with room for replication slots and WAL senders
   * (the default pg_hba.conf already lets the superuser `napkin` open replication connections from 127.0.0.1).
   */
  logical?: boolean | { maxReplicationSlots?: number; maxWalSenders?: number };
  /** Extra postgresql.conf settings, written after napkin's own (later lines win). */
  settings?: Readonly<Record<string, string | number>>;
}

/** The directory holding initdb and pg_ctl: NAPKIN_PG_BIN, else the newest /usr/lib/postgresql/<n>/bin. */
export function pgBinDir(): string | undefined {
  const given = process.env.NAPKIN_PG_BIN;
  if (given !== undefined && given !== '') return existsSync(join(given, 'initdb')) ? given : undefined;
  if (!existsSync(DEBIAN_ROOT)) return undefined;
  const versions = readdirSync(DEBIAN_ROOT)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(DEBIAN_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? undefined : join(DEBIAN_ROOT, versions[0], 'bin');
}

/**
 * Starts one server for the calling test file (before its tests, stopped after them) and puts its URL in the
 * environment variable `env` (default NAPKIN_PG_URL), which is how napkin is given connections. Returns a getter.
 */
export function usePgServer(env = 'NAPKIN_PG_URL', options: PgServerOptions = {}): () => PgServer {
  let server: PgServer | undefined;
  before(async () => {
    server = await startPgServer(options);
    process.env[env] = server.url;
  });
  after(async () => {
    delete process.env[env];
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error('the PostgreSQL test server is not running (usePgServer before hooks)');
    return server;
  };
}

export async function startPgServer(options: PgServerOptions = {}): Promise<PgServer> {
  const bin = pgBinDir();
  if (bin === undefined)
    throw new Error('no PostgreSQL server binaries found; run apt-get install -y postgresql or set NAPKIN_PG_BIN');
  const owner = await serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'napkin-pg-'));
  const data = join(dir, 'data');
  const password = randomBytes(18).toString('base64url');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (owner !== undefined) {
    chownSync(dir, owner.uid, owner.gid);
    chownSync(pwfile, owner.uid, owner.gid);
  }
  const as = (cmd: string, args: string[]) =>
    owner === undefined ? run(join(bin, cmd), args) : run('runuser', ['-u', owner.name, '--', join(bin, cmd), ...args]);
  try {
    await as('initdb', [
      '-D',
      data,
      '-U',
      'napkin',
      `--pwfile=${pwfile}`,
      '--auth=scram-sha-256',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    rmSync(pwfile);
    let lastError: unknown;
    // The port is free when picked but may be taken before the server binds it: try a few.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      appendFileSync(join(data, 'postgresql.conf'), serverSettings(port, dir, options));
      try {
        await as('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
        const url = `postgres://napkin:${password}@127.0.0.1:${port}/postgres`;
        return {
          url,
          port,
          password,
          async stop() {
            await as('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
            rmSync(dir, { recursive: true, force: true });
          },
        };
      } catch (e) {
        lastError = e;
      }
    }
    throw lastError;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`starting PostgreSQL from ${bin} failed: ${(e as Error).message.split('\n')[0]}`);
  }
}

// The tests kill clients, never the server, so the server's own fsyncs only cost time. Later lines of
// postgresql.conf win, so a retry on another port just appends again.
function serverSettings(port: number, dir: string, options: PgServerOptions): string {
  const logical = options.logical === true ? {} : options.logical === false ? undefined : options.logical;
  const extra: Record<string, string | number> = {
    ...(logical === undefined
      ? {}
      : {
          wal_level: 'logical',
          max_replication_slots: logical.maxReplicationSlots ?? 10,
          max_wal_senders: logical.maxWalSenders ?? 10,
        }),
    ...options.settings,
  };
  return [
    '',
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    'fsync = off',
    'full_page_writes = off',
    'max_connections = 100',
    ...Object.entries(extra).map(([k, v]) => `${k} = ${typeof v === 'number' ? v : `'${v.replaceAll("'", "''")}'`}`),
    '',
  ].join('\n');
}

async function serverUser(): Promise<{ name: string; uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const name = 'postgres';
  const id = async () => ({
    uid: Number((await run('id', ['-u', name])).stdout.trim()),
    gid: Number((await run('id', ['-g', name])).stdout.trim()),
  });
  try {
    return { name, ...(await id()) };
  } catch {
    await run('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]);
    return { name, ...(await id()) };
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}
