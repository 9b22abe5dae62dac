/**
 * One writer per log directory: a `LOCK` file holding the owner's pid. A lock whose pid is no longer alive was left
 * by a killed process and is taken over. The lock appears whole (written aside, then hard-linked into place, which
 * fails if one exists), so a reader never sees an empty one. Two processes taking over the same stale lock at the
 * same instant could both succeed; this guards against mistakes, not against a race the coordinator's fencing
 * (spec reliability §2.6) already covers.
 */
import { link, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LogLockedError } from './errors.ts';

const held = new Set<string>();

export interface DirLock {
  release(): Promise<void>;
  /**
   * The temporary files (`LOCK.<pid>.tmp`) of processes killed while taking the lock, removed once it was held: the
   * caller says so.
   */
  readonly removed: readonly string[];
}

export async function lockDir(dir: string): Promise<DirLock> {
  const key = resolve(dir);
  const path = join(dir, 'LOCK');
  if (held.has(key)) throw new LogLockedError(dir, process.pid, path);
  const tmp = join(dir, `LOCK.${process.pid}.tmp`);
  await writeFile(tmp, `${process.pid}\n`);
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await link(tmp, path);
        held.add(key);
        return { release: () => release(key, path), removed: await removeDeadTemporaries(dir) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const pid = await holder(path);
      if (pid !== undefined && pid !== process.pid && processAlive(pid)) throw new LogLockedError(dir, pid, path);
      // Stale: its owner died without closing the log, or was an earlier process that had our pid.
      await unlink(path).catch(ignoreMissing);
    }
    throw new Error(`could not lock ${dir}: ${path} keeps reappearing; another process is opening the log`);
  } finally {
    await unlink(tmp).catch(ignoreMissing);
  }
}

/** Removes `LOCK.<pid>.tmp` files whose process is gone; one of a live process is about to become its lock. */
async function removeDeadTemporaries(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const m = /^LOCK\.(\d+)\.tmp$/.exec(name);
    if (m === null || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    await unlink(join(dir, name)).catch(ignoreMissing);
    removed.push(join(dir, name));
  }
  return removed;
}

async function release(key: string, path: string): Promise<void> {
  held.delete(key);
  if ((await holder(path)) === process.pid) await unlink(path).catch(ignoreMissing);
}

async function holder(path: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt(await readFile(path, 'utf8'), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch (e) {
    ignoreMissing(e);
    return undefined;
  }
}

/** Whether process `pid` exists (signal 0 checks without sending anything). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
}
