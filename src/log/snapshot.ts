/**
 * A read-only view of a log for observers such as `napkin status`: it takes no lock and writes nothing (no torn tail
 * truncated, no index published), so a process appending to the log at the same time is not disturbed. It holds the
 * records acknowledged when it was opened: the sealed segments through their index (scanned when it is missing or
 * stale), the active segment up to its last valid commit frame. Bytes an append is writing at that moment lie past
 * that frame and are left out, as recovery would; a segment sealed or created after it was opened is not seen.
 */

import type { LogRecord } from './frame.ts';
import { recordOf } from './frame.ts';
import { type LogIO, nodeIO } from './io.ts';
import { partitionDir, readMeta } from './log.ts';
import type { PartitionContext } from './partition.ts';
import { planPartition } from './recover.ts';
import type { Segment } from './segment.ts';

export class LogSnapshot {
  private constructor(
    readonly dir: string,
    private readonly io: LogIO,
    private readonly parts: readonly (readonly Segment[])[],
  ) {}

  /** The log in `dir` as it stands, or undefined when there is none (or its creation did not finish). */
  static async open(dir: string, io: LogIO = nodeIO): Promise<LogSnapshot | undefined> {
    const n = await readMeta(io, dir);
    if (n === undefined) return undefined;
    const ctx: PartitionContext = {
      io,
      fsync: false,
      segmentBytes: Number.MAX_SAFE_INTEGER,
      indexInterval: 4096,
      retention: {},
      clock: Date.now,
      health: {},
    };
    const parts: Segment[][] = [];
    for (let p = 0; p < n; p++) parts.push((await planPartition(p, partitionDir(dir, p), ctx, false)).segments);
    return new LogSnapshot(dir, io, parts);
  }

  get partitions(): number {
    return this.parts.length;
  }

  startOffset(partition: number): number {
    return this.segments(partition)[0].baseOffset;
  }

  /** One past the last record acknowledged when the snapshot was taken. */
  endOffset(partition: number): number {
    const s = this.segments(partition);
    return s[s.length - 1].nextOffset;
  }

  /** Up to `maxRecords` records from `fromOffset` on, each frame checked again; none past {@link endOffset}. */
  async read(partition: number, fromOffset: number, maxRecords = 1000): Promise<LogRecord[]> {
    const segments = this.segments(partition);
    const out: LogRecord[] = [];
    for (const seg of segments) {
      if (out.length >= maxRecords) break;
      if (seg.nextOffset <= fromOffset) continue;
      const from = seg.baseOffset <= fromOffset ? seg.index.positionForOffset(fromOffset) : 0;
      await seg.visit(this.io, from, (buf, _at, f) => {
        if (f.offset >= fromOffset) out.push(recordOf(buf, f));
        return out.length < maxRecords;
      });
    }
    return out;
  }

  /** Closes the files reads opened. */
  async close(): Promise<void> {
    for (const p of this.parts) for (const s of p) await s.closeReader();
  }

  private segments(partition: number): readonly Segment[] {
    const s = this.parts[partition];
    if (s === undefined)
      throw new Error(
        `partition ${partition} is not in log ${this.dir}, which has partitions 0…${this.parts.length - 1}`,
      );
    return s;
  }
}
