/**
 * Write helpers that keep the log's two failure classes apart: a failed write (ENOSPC…) leaves the log as it was
 * and is reported as a `LogWriteError`; a failed fsync is a `LogFailedError`, after which nothing may be retried.
 */
import { dirname } from 'node:path';
import { LogFailedError, LogWriteError } from './errors.ts';
import type { LogFile, LogIO } from './io.ts';

/** pwrite(2) until every byte is written. */
export async function writeAll(file: LogFile, path: string, buf: Uint8Array, position: number): Promise<void> {
  let done = 0;
  try {
    while (done < buf.length) {
      const n = await file.write(buf, done, buf.length - done, position + done);
      if (n === 0) throw new Error('the file system wrote 0 bytes');
      done += n;
    }
  } catch (e) {
    throw new LogWriteError(path, position + done, e);
  }
}

export async function datasync(file: LogFile, path: string): Promise<void> {
  try {
    await file.datasync();
  } catch (e) {
    throw new LogFailedError(path, e);
  }
}

export async function syncDir(io: LogIO, dir: string): Promise<void> {
  try {
    await io.syncDir(dir);
  } catch (e) {
    throw new LogFailedError(dir, e);
  }
}

export async function unlinkIfPresent(io: LogIO, path: string): Promise<void> {
  try {
    await io.unlink(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Publishes `buf` as `path`: a temporary file beside it, fsync, rename, fsync of the folder. A failure before the
 * rename removes the temporary file and leaves `path` as it was.
 */
export async function publish(io: LogIO, path: string, buf: Uint8Array, fsync: boolean): Promise<void> {
  const tmp = `${path}.tmp`;
  await unlinkIfPresent(io, tmp);
  let file: LogFile;
  try {
    file = await io.open(tmp, 'create');
  } catch (e) {
    throw new LogWriteError(tmp, 0, e);
  }
  try {
    await writeAll(file, tmp, buf, 0);
    if (fsync) await datasync(file, tmp);
  } catch (e) {
    await file.close();
    if (e instanceof LogWriteError) await unlinkIfPresent(io, tmp);
    throw e;
  }
  await file.close();
  try {
    await io.rename(tmp, path);
  } catch (e) {
    await unlinkIfPresent(io, tmp);
    throw new LogWriteError(path, 0, e);
  }
  if (fsync) await syncDir(io, dirname(path));
}
