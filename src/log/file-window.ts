import type { LogFile } from './io.ts';

/** A moving window over a file, for scanning it front to back in large reads. */
export class FileWindow {
  buf: Buffer;
  /** File position of `buf[0]`. */
  start = 0;
  /** Valid bytes in `buf`. */
  length = 0;

  constructor(
    private readonly file: LogFile,
    readonly fileBytes: number,
    private readonly chunk: number,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(chunk, Math.max(fileBytes, 1)));
  }

  /** Loads `[pos, pos + need)` (less at the end of the file); returns how many bytes from `pos` are in the window. */
  async load(pos: number, need: number): Promise<number> {
    const want = Math.min(need, this.fileBytes - pos);
    if (pos >= this.start && pos + want <= this.start + this.length) return this.start + this.length - pos;
    const length = Math.min(Math.max(this.chunk, want), this.fileBytes - pos);
    if (length > this.buf.length) this.buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = await this.file.read(this.buf, got, length - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    this.start = pos;
    this.length = got;
    return got;
  }
}
