/**
 * Checks a segment file frame by frame and rebuilds its index. Read-only: it decides, the caller acts.
 *
 * The committed part of a segment ends with its last valid commit frame. In the active (last) segment, invalid bytes
 * after it are an unacknowledged tail, to be truncated (spec reliability §2.9). An invalid frame with a valid commit
 * frame anywhere after it is damaged acknowledged data: the scan throws and nothing is changed. A sealed segment was
 * complete before the next one was created, so there any invalid byte is damage.
 */
import { LogCorruptionError } from './errors.ts';
import { FileWindow } from './file-window.ts';
import { COMMIT_FRAME_BYTES, COMMIT_TYPE, type DecodedFrame, decodeFrame } from './frame.ts';
import type { LogFile } from './io.ts';
import { SegmentIndex } from './segment-index.ts';

const SCAN_CHUNK = 4 << 20;

type RecordFrame = DecodedFrame & { kind: 'record' };
type CommitFrame = DecodedFrame & { kind: 'commit' };

export interface ScanResult {
  readonly index: SegmentIndex;
  /** End of the last valid commit frame. */
  readonly committedBytes: number;
  readonly nextOffset: number;
  /** Set when the file goes on past `committedBytes`: what was found there. */
  readonly tail?: { readonly bytes: number; readonly reason: string };
}

interface Pending {
  readonly offsets: number[];
  readonly positions: number[];
  readonly timestamps: number[];
}

/** Scans a segment file whose records have offsets at or above `baseOffset`. */
export async function scanSegment(
  path: string,
  file: LogFile,
  baseOffset: number,
  sealed: boolean,
  indexInterval: number,
): Promise<ScanResult> {
  const w = new FileWindow(file, await file.size(), SCAN_CHUNK);
  const index = new SegmentIndex(indexInterval);
  const batch: Pending = { offsets: [], positions: [], timestamps: [] };
  let pos = 0;
  let committed = 0;
  let nextOffset = baseOffset;
  let bad: string | undefined;
  while (pos < w.fileBytes) {
    const f = await frameAt(w, pos);
    if (f.kind === 'short' || f.kind === 'bad') {
      bad = f.kind === 'bad' ? f.check : shortCheck(f.need, w.fileBytes - pos);
      break;
    }
    bad = follows(f);
    if (bad !== undefined) break;
    if (f.kind === 'record') {
      batch.offsets.push(f.offset);
      batch.positions.push(pos);
      batch.timestamps.push(f.timestamp);
    } else {
      for (let i = 0; i < batch.offsets.length; i++)
        index.observe(batch.offsets[i], batch.positions[i], batch.timestamps[i]);
      if (batch.offsets.length > 0) nextOffset = batch.offsets[batch.offsets.length - 1] + 1;
      batch.offsets.length = batch.positions.length = batch.timestamps.length = 0;
      committed = pos + f.size;
    }
    pos += f.size;
  }
  if (bad === undefined && pos > committed) bad = 'records after the last commit frame';
  if (bad === undefined) return { index, committedBytes: committed, nextOffset };
  const badAt = bad === 'records after the last commit frame' ? committed : pos;
  if (sealed) throw new LogCorruptionError(path, badAt, bad, 'in a sealed segment, which was complete when closed');
  const laterCommit = await findCommitFrame(w, pos + 1, nextOffset);
  if (laterCommit !== undefined)
    throw new LogCorruptionError(
      path,
      pos,
      bad,
      `a valid commit frame follows at byte ${laterCommit}, so this data was acknowledged`,
    );
  return { index, committedBytes: committed, nextOffset, tail: { bytes: w.fileBytes - committed, reason: bad } };

  /** Why frame `f` cannot come next here, or undefined if it can. */
  function follows(f: RecordFrame | CommitFrame): string | undefined {
    const last = batch.offsets.length > 0 ? batch.offsets[batch.offsets.length - 1] : nextOffset - 1;
    if (f.kind === 'record')
      return f.offset > last ? undefined : `record offset ${f.offset} does not follow offset ${last}`;
    const n = batch.offsets.length;
    if (f.count !== n || (n > 0 && (f.firstOffset !== batch.offsets[0] || f.lastOffset !== last)))
      return `commit frame for ${f.count} records ${f.firstOffset}…${f.lastOffset} does not match the ${n} before it`;
    return undefined;
  }
}

const shortCheck = (need: number, left: number): string =>
  need === 8 ? `${left} bytes, less than a frame header` : `frame of ${need} bytes runs past the end of the file`;

async function frameAt(w: FileWindow, pos: number): Promise<DecodedFrame> {
  await w.load(pos, 8);
  let f = decodeFrame(w.buf, pos - w.start, w.length);
  if (f.kind === 'short' && pos + f.need <= w.fileBytes) {
    await w.load(pos, f.need);
    f = decodeFrame(w.buf, pos - w.start, w.length);
  }
  return f;
}

/**
 * The position of a valid commit frame at or after `from` (at any byte: the damaged frame's length cannot be
 * trusted to find the next one), or undefined. Cheap fields first; the CRC only where they fit.
 */
async function findCommitFrame(w: FileWindow, from: number, minOffset: number): Promise<number | undefined> {
  for (let q = from; q + COMMIT_FRAME_BYTES <= w.fileBytes; q++) {
    if (q + COMMIT_FRAME_BYTES > w.start + w.length) await w.load(q, SCAN_CHUNK);
    const at = q - w.start;
    if (w.buf[at + 8] !== COMMIT_TYPE || w.buf.readUInt32LE(at + 4) !== COMMIT_FRAME_BYTES - 8) continue;
    const f = decodeFrame(w.buf, at, w.length);
    if (f.kind === 'commit' && f.lastOffset >= f.firstOffset && f.firstOffset >= minOffset) return q;
  }
  return undefined;
}
