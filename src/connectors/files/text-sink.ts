import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import type { Field, Schema, Value } from '../../expr/types.ts';
import type { Batch } from '../../runtime/batch.ts';
import type { SinkWriter } from '../../runtime/execute.ts';
import { reorderTo } from '../reorder.ts';
import { publishFile, tempPathFor } from './atomic.ts';

const FLUSH_BYTES = 1 << 20;

/**
 * Writes CSV (with a header) or JSON Lines to a temporary file as batches arrive, and publishes it with fsync and
 * rename on commit. Timestamps are written as ISO 8601 UTC (`2024-05-01T12:00:00.000Z`), dates as `YYYY-MM-DD`, so
 * napkin's own readers accept the files back under the same contract.
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
  const tmp = tempPathFor(o.path);
  const fd = openSync(tmp, 'w');
  const reorder = reorderTo(o.input, o.contract);
  const fields = o.contract.fields;
  const delim = o.delimiter ?? ',';
  let buf = o.format === 'csv' ? `${fields.map((f) => csvCell(f.name, delim)).join(delim)}\n` : '';
  let rows = 0;
  let open = true;
  const flush = () => {
    if (buf.length > 0) writeSync(fd, buf);
    buf = '';
  };
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    write(batch) {
      const b = reorder(batch);
      buf += o.format === 'csv' ? csvRows(b, fields, delim) : jsonRows(b, fields);
      rows += b.length;
      if (buf.length >= FLUSH_BYTES) flush();
    },
    async commit() {
      flush();
      close();
      await publishFile(tmp, o.path);
      return `${o.format} ${o.display} (${rows} rows)`;
    },
    async abort() {
      close();
      rmSync(tmp, { force: true });
    },
  };
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
