/**
 * The file operations the log uses, behind an interface so that tests can inject faults (ENOSPC after K bytes, a
 * failing fsync; spec reliability §3). `nodeIO` is the real thing.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';

export interface LogFile {
  read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** May write fewer bytes than asked, like pwrite(2); returns how many it wrote. */
  write(buf: Uint8Array, offset: number, length: number, position: number): Promise<number>;
  /** fdatasync(2): the data and the size, which is all an append needs. */
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  size(): Promise<number>;
  close(): Promise<void>;
}

export interface LogIO {
  /** 'read' an existing file; 'write' an existing one for reading and writing; 'create' a new one (fails if it exists). */
  open(path: string, mode: 'read' | 'write' | 'create'): Promise<LogFile>;
  readdir(path: string): Promise<string[]>;
  /** The whole file, or undefined if it does not exist. */
  readFile(path: string): Promise<Buffer | undefined>;
  mkdir(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  unlink(path: string): Promise<void>;
  /** fsync(2) on a directory, so that a create, rename or unlink in it survives a power cut. */
  syncDir(path: string): Promise<void>;
  exists(path: string): Promise<boolean>;
}

class NodeFile implements LogFile {
  constructor(private readonly fh: FileHandle) {}
  async read(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return (await this.fh.read(buf, offset, length, position)).bytesRead;
  }
  async write(buf: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    return (await this.fh.write(buf, offset, length, position)).bytesWritten;
  }
  datasync(): Promise<void> {
    return this.fh.datasync();
  }
  truncate(length: number): Promise<void> {
    return this.fh.truncate(length);
  }
  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }
  close(): Promise<void> {
    return this.fh.close();
  }
}

const FLAGS = {
  read: constants.O_RDONLY,
  write: constants.O_RDWR,
  create: constants.O_RDWR | constants.O_CREAT | constants.O_EXCL,
} as const;

export const nodeIO: LogIO = {
  async open(path, mode) {
    return new NodeFile(await open(path, FLAGS[mode], 0o644));
  },
  readdir: (path) => readdir(path),
  async readFile(path) {
    try {
      return await readFile(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  },
  async mkdir(path) {
    await mkdir(path, { recursive: true });
  },
  rename: (from, to) => rename(from, to),
  unlink: (path) => unlink(path),
  async syncDir(path) {
    const fh = await open(path, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  },
  async exists(path) {
    try {
      await stat(path);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
  },
};
