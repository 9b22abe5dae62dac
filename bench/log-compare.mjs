// The measurement behind the embedded log's storage choice (docs/ARCHITECTURE.md, "The embedded log"): the same
// durable appends (batches of 1,000 values, durable before the next batch) and a full read, through hand-written
// segment frames (length + CRC32C, one write and one fdatasync per batch), LMDB (one write transaction per batch,
// synced at commit) and SQLite (WAL, synchronous=FULL, one transaction per batch).
//
// LMDB and SQLite are not dependencies; to run it, in a scratch copy of the repository:
//   npm install --no-save lmdb better-sqlite3@12.11.1   (better-sqlite3 builds with node-gyp here: not a candidate)
//   node --import tsx bench/log-compare.mjs <valueBytes> <batches>
import { mkdirSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32c } from '../src/log/crc32c.ts';

const BATCH = 1000;
const size = Number(process.argv[2] ?? 100);
const batches = Number(process.argv[3] ?? 200);
const value = Buffer.alloc(size, 7);
const dir = join(tmpdir(), 'napkin-log-compare');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);

function report(name, t0, n) {
  const s = (performance.now() - t0) / 1000;
  const line = { name, valueBytes: size, records: n, seconds: +s.toFixed(3) };
  console.log(
    JSON.stringify({ ...line, mbPerSecond: +((n * size) / s / 1e6).toFixed(1), recordsPerSecond: Math.round(n / s) }),
  );
}

async function segments() {
  const fh = await open(join(dir, 'seg'), 'w+');
  const frame = 36 + size;
  let pos = 0;
  let offset = 0;
  let t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const buf = Buffer.allocUnsafe(frame * BATCH);
    for (let i = 0; i < BATCH; i++) {
      const p = i * frame;
      buf.writeUInt32LE(frame - 8, p + 4);
      buf[p + 8] = 0x52;
      buf.writeUInt32LE(offset++, p + 12);
      buf.writeDoubleLE(Date.now(), p + 20);
      buf.writeUInt32LE(0, p + 28);
      buf.writeUInt32LE(size, p + 32);
      value.copy(buf, p + 36);
      buf.writeUInt32LE(crc32c(buf, p + 4, p + frame), p);
    }
    await fh.write(buf, 0, buf.length, pos);
    pos += buf.length;
    await fh.datasync();
  }
  report('segments append', t0, batches * BATCH);
  t0 = performance.now();
  const chunk = Buffer.allocUnsafe(1 << 20);
  let n = 0;
  for (let p = 0; p < pos; ) {
    const { bytesRead } = await fh.read(chunk, 0, chunk.length, p);
    let q = 0;
    while (q + 8 <= bytesRead) {
      const len = chunk.readUInt32LE(q + 4);
      if (q + 8 + len > bytesRead) break;
      if (crc32c(chunk, q + 4, q + 8 + len) !== chunk.readUInt32LE(q)) throw new Error('crc');
      n++;
      q += 8 + len;
    }
    p += q;
  }
  report('segments read', t0, n);
  await fh.close();
}

async function lmdb() {
  const { open: openLmdb } = await import('lmdb');
  const db = openLmdb({ path: join(dir, 'lmdb'), encoding: 'binary', keyEncoding: 'uint32' });
  let offset = 0;
  let t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    await db.transaction(() => {
      for (let i = 0; i < BATCH; i++) db.put(offset++, value);
    });
  }
  report('lmdb append', t0, batches * BATCH);
  t0 = performance.now();
  let n = 0;
  for (const { value: v } of db.getRange({ start: 0 })) if (v.length === size) n++;
  report('lmdb read', t0, n);
  await db.close();
}

async function sqlite() {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(dir, 'sqlite.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('create table log (off integer primary key, ts integer, key blob, value blob)');
  const insert = db.prepare('insert into log values (?, ?, null, ?)');
  let offset = 0;
  const tx = db.transaction(() => {
    for (let i = 0; i < BATCH; i++) insert.run(offset++, Date.now(), value);
  });
  let t0 = performance.now();
  for (let b = 0; b < batches; b++) tx();
  report('sqlite append', t0, batches * BATCH);
  t0 = performance.now();
  let n = 0;
  for (const _ of db.prepare('select * from log order by off').iterate()) n++;
  report('sqlite read', t0, n);
  db.close();
}

await segments();
await lmdb();
await sqlite();
rmSync(dir, { recursive: true, force: true });
