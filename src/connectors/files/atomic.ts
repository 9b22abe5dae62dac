import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A temporary path in the target's own folder (a rename is atomic only within one file system). */
export function tempPathFor(target: string): string {
  mkdirSync(dirname(target), { recursive: true });
  return join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Whether `name`, in the target's folder, is one of the temporary paths {@link tempPathFor} gives `target`. */
export function isTempNameFor(target: string, name: string): boolean {
  const prefix = `.${basename(target)}.`;
  return name.startsWith(prefix) && /^[0-9a-f]{12}\.tmp$/.test(name.slice(prefix.length));
}

/** Makes a finished temporary file durable and visible under its final name: fsync file, rename, fsync folder. */
export async function publishFile(tmp: string, target: string): Promise<void> {
  const fh = await open(tmp, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, target);
  await syncDir(dirname(target));
}

/** Makes a create, rename or removal in `dir` durable: until the folder is fsynced, a power cut may undo it. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
