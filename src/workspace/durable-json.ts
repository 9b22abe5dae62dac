import { readFile } from 'node:fs/promises';
import { publish } from '../log/durable.ts';
import { nodeIO } from '../log/io.ts';

/**
 * Writes `value` as JSON to `path` so that it exists whole or not at all: a temporary file, fsync, rename, fsync of
 * the folder (spec reliability §2.2). An fsync failure is a `LogFailedError`: the process must not go on.
 */
export async function writeDurableJson(path: string, value: unknown): Promise<void> {
  await publish(nodeIO, path, Buffer.from(`${JSON.stringify(value, null, 1)}\n`), true);
}

/** The parsed file, or undefined when it does not exist. A file that does not parse is an error naming it. */
export async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(
      `${path} is damaged: it does not parse as JSON (${(e as Error).message}); it was written whole, so the disk or another program changed it`,
    );
  }
}
