import { closeSync, createReadStream, createWriteStream, openSync, rmSync, writeSync } from 'node:fs';
import { copyFile, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Field, Schema, Value } from '../../expr/types.ts';
import type { Batch } from '../../runtime/batch.ts';
import type { SinkWriter } from '../../runtime/execute.ts';
import { reorderTo } from '../reorder.ts';
import { tempPathFor } from './atomic.ts';
import { type BuiltFile, type CommittedPrefix, checkFileEpoch, commitFileEpoch } from './sink-manifest.ts';

const FLUSH_BYTES = 1 << 20;

/**
 * Writes CSV (with a header) or JSON Lines. Each epoch's rows go to a temporary file beside the target as batches
 * arrive; its commit publishes them with fsync and rename, and records the commit key in the sink manifest (see
 * `commitFileEpoch`): a fresh epoch's file is the new output, a later epoch's is the committed start of the current
 * file followed by its rows. Timestamps are written as ISO 8601 UTC (`2024-05-01T12:00:00.000Z`), dates as
 * `YYYY-MM-DD`, so napkin's own readers accept the files back under the same contract.
 */
export function openTextSink(o: {
  readonly format: 'csv' | 'jsonl';
  readonly path: string;
  /** The path as the run summary shows it (relative to the project root). */
  readonly display: string;
  readonly delimiter?: string;
  readonly contract: Schema;
  readonly input: Schema;
}): SinkWriter {
  const reorder = reorderTo(o.input, o.contract);
  const fields = o.contract.fields;
  const delim = o.delimiter ?? ',';
  const header = o.format === 'csv' ? `${fields.map((f) => csvCell(f.name, delim)).join(delim)}\n` : '';
  let part: TextPart | undefined;
  return {
    write(batch) {
      const b = reorder(batch);
      part ??= new TextPart(o.path, o.display, header);
      part.add(o.format === 'csv' ? csvRows(b, fields, delim) : jsonRows(b, fields), b.length);
    },
    prepare(e) {
      return checkFileEpoch(o.path, e);
    },
    async commit(e) {
      const p = part ?? new TextPart(o.path, o.display, header);
      part = undefined;
      try {
        p.close();
        const done = await commitFileEpoch(o.path, e, (prefix) => p.build(o.path, prefix));
        if (!done.committed) return `${o.format} ${o.display} (epoch ${e?.epoch} already committed)`;
        return `${o.format} ${o.display} (${done.rows} rows)`;
      } catch (err) {
        throw isNoSpace(err) ? noSpace(o.display, o.path, 'publishing', err) : err;
      } finally {
        p.discard();
      }
    },
    async abort() {
      part?.discard();
      part = undefined;
    },
  };
}

/** One epoch's text in a temporary file beside the target: the header (CSV), then the rows as they come. */
class TextPart {
  readonly path: string;
  private readonly display: string;
  private readonly target: string;
  private readonly fd: number;
  private readonly headerBytes: number;
  private buf: string;
  private open = true;
  rows = 0;

  constructor(target: string, display: string, header: string) {
    this.target = target;
    this.display = display;
    this.path = tempPathFor(target);
    this.fd = openSync(this.path, 'w');
    this.buf = header;
    this.headerBytes = Buffer.byteLength(header);
  }

  add(text: string, rows: number): void {
    this.buf += text;
    this.rows += rows;
    if (this.buf.length >= FLUSH_BYTES) this.flush();
  }

  close(): void {
    if (!this.open) return;
    this.flush();
    closeSync(this.fd);
    this.open = false;
  }

  /** Removes the file, unless a commit renamed it into place. */
  discard(): void {
    if (this.open) closeSync(this.fd);
    this.open = false;
    rmSync(this.path, { force: true });
  }

  /**
   * The new data file: this part as it is for a fresh output (its header included); else a copy of the current
   * file cut to its committed prefix, then this part's rows. The prefix is what the manifest says, so a tail an
   * interrupted commit of this epoch left behind is cut off, not kept twice.
   */
  async build(target: string, prefix: CommittedPrefix | undefined): Promise<BuiltFile> {
    if (prefix === undefined) return { path: this.path, rows: this.rows };
    const size = (await stat(target).catch(() => undefined))?.size;
    if (size === undefined || size < prefix.bytes) {
      throw new Error(
        `${target}: the sink manifest commits its first ${prefix.bytes} bytes but the file has ${size ?? 'none'}; ` +
          'the committed data is damaged: restore the file, or delete it and its manifest and rerun the flow',
      );
    }
    const tmp = tempPathFor(target);
    try {
      await copyFile(target, tmp);
      await truncate(tmp, prefix.bytes);
      await pipeline(createReadStream(this.path, { start: this.headerBytes }), createWriteStream(tmp, { flags: 'a' }));
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
    return { path: tmp, rows: prefix.rows + this.rows };
  }

  /**
   * Writes the buffered text to the temporary file. write(2) may write fewer bytes than asked (a full disk takes what
   * fits, then refuses): it is called again for the rest, and a refusal fails the epoch, which then publishes nothing.
   */
  private flush(): void {
    if (this.buf.length === 0) return;
    const bytes = Buffer.from(this.buf, 'utf8');
    this.buf = '';
    for (let done = 0; done < bytes.length; ) {
      let n: number;
      try {
        n = writeSync(this.fd, bytes, done, bytes.length - done);
      } catch (e) {
        throw isNoSpace(e) ? noSpace(this.display, this.target, 'writing', e) : e;
      }
      if (n <= 0) {
        const e = Object.assign(new Error('the file system took 0 bytes of a write'), { code: 'ENOSPC' });
        throw noSpace(this.display, this.target, 'writing', e);
      }
      done += n;
    }
  }
}

function isNoSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** The error of a sink that ran out of space: one line naming the file, what happened to the epoch, and what to do. */
function noSpace(display: string, target: string, what: 'writing' | 'publishing', cause: unknown): Error {
  const code = (cause as NodeJS.ErrnoException).code ?? 'ENOSPC';
  const doing =
    what === 'writing' ? "writing this epoch's rows to a temporary file beside" : 'publishing this epoch as';
  return new Error(
    `${display}: no space left on device (${code}) while ${doing} ${target}; the epoch is not committed (its sink ` +
      `manifest is unchanged): free space in ${dirname(target)} and run the flow again`,
    { cause },
  );
}

function csvRows(b: Batch, fields: readonly Field[], delim: string): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    for (let c = 0; c < fields.length; c++) {
      if (c > 0) s += delim;
      const v = b.columns[c][i];
      if (v !== null) s += csvCell(textOf(v, fields[c]), delim);
    }
    s += '\n';
  }
  return s;
}

function jsonRows(b: Batch, fields: readonly Field[]): string {
  let s = '';
  for (let i = 0; i < b.length; i++) {
    const o: Record<string, Value> = {};
    for (let c = 0; c < fields.length; c++) {
      const v = b.columns[c][i];
      const t = fields[c].type.kind;
      o[fields[c].name] =
        v !== null && (t === 'timestamp' || t === 'date' || t === 'decimal') ? textOf(v, fields[c]) : v;
    }
    s += `${JSON.stringify(o)}\n`;
  }
  return s;
}

/** The text form of a value, shared by CSV cells and JSON temporal fields. */
export function textOf(v: Value, f: Field): string {
  switch (f.type.kind) {
    case 'timestamp':
      return new Date(v as number).toISOString();
    case 'date':
      return new Date((v as number) * 86_400_000).toISOString().slice(0, 10);
    case 'decimal':
      return (v as number).toFixed(f.type.scale);
    case 'list':
    case 'struct':
      return JSON.stringify(v);
    default:
      return String(v);
  }
}

function csvCell(s: string, delim: string): string {
  if (s.includes(delim) || s.includes('"') || s.includes('\n') || s.includes('\r') || s === '') {
    return `"${s.replaceAll('"', '""')}"`;
  }
  return s;
}
