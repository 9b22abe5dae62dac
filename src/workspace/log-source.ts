import type { Contract } from '../flow/contract.ts';
import type { LogRecord } from '../log/log.ts';
import { BATCH_ROWS, type BatchBuilder, emptyBatch, finishBuilder, newColumns } from '../runtime/batch.ts';
import type { SourceChunk, SourceReader } from '../runtime/execute.ts';
import { type QuarantineEntry, quarantineId } from '../runtime/quarantine.ts';
import { decodeEntry, decodeMarker, kindOf } from './topic.ts';
import type { Topic } from './topic-log.ts';

/** Records asked of the log per read. */
const READ_RECORDS = BATCH_ROWS;

export interface LogRange {
  readonly from: number;
  /** Exclusive; always just past a marker, so a range holds whole chunks. */
  readonly to: number;
}

/**
 * Reads a range of a dataset's topic as the source of a flow. One chunk per ingested chunk (the records up to a
 * marker), never split or merged: a source's watermark is derived per chunk, so the same range read in one epoch or
 * in many gives the same watermarks at the same records, and the same results (the mode changes only latency).
 *
 * A partitioned source's markers hold its event-time frontier, which each chunk carries (`eventFrontier`) for the
 * read stage's watermark strategy.
 *
 * A quarantined record that a replay chunk before the end of the range resolved (`napkin quarantine replay`) is
 * skipped: its fixed row, in that chunk, stands for it. So a range gives the same records whenever it is read, and a
 * run that recomputes from the generation's start has the record once, as a row.
 */
export function openLogSource(
  topic: Topic,
  contract: Contract,
  range: LogRange,
  live: readonly boolean[] | undefined,
): SourceReader {
  const fields = contract.schema.fields;
  const width = fields.length;
  const stored = topic.state.fields;
  // Column c of the contract is element at[c] of a stored row (−1: absent from the generation, null).
  const at = fields.map((f) => stored.indexOf(f.name));
  const resolved = topic.state.resolved ?? {};
  const replayed = Object.keys(resolved).length > 0;
  const keep = (e: QuarantineEntry): boolean => {
    if (!replayed) return true;
    const by = resolved[quarantineId(topic.dataset, e)];
    return by === undefined || by >= range.to;
  };
  const missing = fields.find((f, c) => at[c] < 0 && !f.nullable);
  if (missing !== undefined) {
    throw new Error(
      `dataset ${topic.dataset}: its log has no field '${missing.name}', which the contract requires; ingest it again (a new generation) or make the field optional`,
    );
  }
  return {
    async *chunks(): AsyncIterable<SourceChunk> {
      let builder: BatchBuilder = { length: 0, columns: newColumns(width, 0, live) };
      let rejected: QuarantineEntry[] = [];
      let frontier: number | undefined;
      const take = (done: number): SourceChunk => {
        const chunk = {
          batch: builder.length === 0 ? emptyBatch(width) : finishBuilder(builder),
          rejected,
          progress: { done: done - range.from, total: range.to - range.from },
          ...(frontier === undefined ? {} : { eventFrontier: frontier }),
        };
        builder = { length: 0, columns: newColumns(width, 0, live) };
        rejected = [];
        return chunk;
      };
      let next = range.from;
      while (next < range.to) {
        const records = await topic.read(next, Math.min(READ_RECORDS, range.to - next));
        if (records.length === 0) break;
        for (const r of records) {
          if (r.offset >= range.to) break;
          const kind = kindOf(r);
          if (kind === 'row') addRow(builder, r, at, live);
          else if (kind === 'quarantine') {
            const e = decodeEntry(r);
            if (keep(e)) rejected.push(e);
          } else {
            const f = frontierOf(r);
            // A marker with nothing before it still matters when the frontier moved (a partition turned idle).
            const rose = f !== undefined && (frontier === undefined || f > frontier);
            if (f !== undefined) frontier = f;
            if (builder.length > 0 || rejected.length > 0 || rose) yield take(r.offset + 1);
          }
        }
        next = records[records.length - 1].offset + 1;
      }
      if (next < range.to) {
        throw new Error(
          `dataset ${topic.dataset}: its log ends at offset ${next}, before the end of the range to read (${range.to}); the log lost acknowledged records`,
        );
      }
      if (builder.length > 0 || rejected.length > 0) yield take(range.to);
    },
  };
}

const decoder = new TextDecoder();

/** The event-time frontier a chunk marker holds (a partitioned source's), if any. */
function frontierOf(r: LogRecord): number | undefined {
  const m = decodeMarker(r);
  return m.kind === 'chunk' ? m.frontier : undefined;
}

function addRow(b: BatchBuilder, r: LogRecord, at: readonly number[], live: readonly boolean[] | undefined): void {
  const row = JSON.parse(decoder.decode(r.value as Uint8Array)) as unknown[];
  const i = b.length++;
  const cols = b.columns;
  for (let c = 0; c < cols.length; c++) {
    if (live !== undefined && !live[c]) continue;
    const k = at[c];
    cols[c][i] = k < 0 ? null : (row[k] as never);
  }
}
