/**
 * Opening a partition in two steps. `planPartition` only reads: it checks every segment (sealed ones through their
 * index when it matches, the active one frame by frame) and throws on damaged committed data, so a failed open
 * changes nothing. `applyPlan` then truncates a torn tail (and logs it), publishes rebuilt indexes and removes
 * leftovers of interrupted writes.
 */
import { join } from 'node:path';
import { datasync, publish, syncDir, unlinkIfPresent } from './durable.ts';
import { LogCorruptionError, LogWriteError } from './errors.ts';
import type { LogFile } from './io.ts';
import { Partition, type PartitionContext } from './partition.ts';
import { scanSegment } from './scan.ts';
import { INDEX_EXT, Segment, segmentName } from './segment.ts';
import { SegmentIndex } from './segment-index.ts';

/** Receives what recovery did to the files (a truncated tail, say); the default writes to stderr. */
export interface LogLogger {
  warn(message: string): void;
}

export interface PartitionPlan {
  readonly id: number;
  readonly dir: string;
  readonly segments: Segment[];
  /** Sealed segments whose index file was missing or stale and has been rebuilt in memory. */
  readonly rebuilt: Segment[];
  /** Temporary files of interrupted writes, indexes without a segment, and the active segment's stale index. */
  readonly leftovers: string[];
  readonly tail?: { readonly bytes: number; readonly reason: string };
  readonly create: boolean;
}

const SEGMENT = /^(\d{20})\.seg$/;

export async function planPartition(
  id: number,
  dir: string,
  ctx: PartitionContext,
  creating: boolean,
): Promise<PartitionPlan> {
  const { io } = ctx;
  const names = (await io.exists(dir)) ? (await io.readdir(dir)).sort() : [];
  const bases = names.flatMap((n) => SEGMENT.exec(n)?.[1] ?? []).map(Number);
  if (bases.length === 0) {
    if (creating) return { id, dir, segments: [], rebuilt: [], leftovers: [], create: true };
    throw new LogCorruptionError(dir, 0, 'no segment files', 'every partition of an existing log has at least one');
  }
  const segNames = new Set(bases.map(segmentName));
  const leftovers = names
    .filter((n) => n.endsWith('.tmp') || (n.endsWith(INDEX_EXT) && !segNames.has(n.slice(0, -INDEX_EXT.length))))
    .map((n) => join(dir, n));
  const segments: Segment[] = [];
  const rebuilt: Segment[] = [];
  for (let i = 0; i < bases.length - 1; i++) {
    const { segment, fromScan } = await openSealed(dir, bases[i], ctx);
    checkOrder(segments[segments.length - 1], segment);
    segments.push(segment);
    if (fromScan) rebuilt.push(segment);
  }
  const active = new Segment(dir, bases[bases.length - 1], 0, 0, new SegmentIndex(ctx.indexInterval));
  const scan = await withFile(ctx, active.path, (f) =>
    scanSegment(active.path, f, active.baseOffset, false, ctx.indexInterval),
  );
  active.bytes = scan.committedBytes;
  active.nextOffset = scan.nextOffset;
  active.index = scan.index;
  checkOrder(segments[segments.length - 1], active);
  segments.push(active);
  if (names.includes(segmentName(active.baseOffset) + INDEX_EXT)) leftovers.push(active.indexPath);
  return { id, dir, segments, rebuilt, leftovers, tail: scan.tail, create: false };
}

async function openSealed(
  dir: string,
  base: number,
  ctx: PartitionContext,
): Promise<{ segment: Segment; fromScan: boolean }> {
  const seg = new Segment(dir, base, 0, base, new SegmentIndex(ctx.indexInterval));
  const bytes = await withFile(ctx, seg.path, (f) => f.size());
  const buf = await ctx.io.readFile(seg.indexPath);
  const parsed = buf === undefined ? undefined : SegmentIndex.parse(buf, ctx.indexInterval);
  if (parsed !== undefined && parsed.summary.bytes === bytes) {
    seg.bytes = bytes;
    seg.nextOffset = parsed.summary.nextOffset;
    seg.index = parsed.index;
    return { segment: seg, fromScan: false };
  }
  const scan = await withFile(ctx, seg.path, (f) => scanSegment(seg.path, f, base, true, ctx.indexInterval));
  seg.bytes = scan.committedBytes;
  seg.nextOffset = scan.nextOffset;
  seg.index = scan.index;
  return { segment: seg, fromScan: true };
}

function checkOrder(prev: Segment | undefined, next: Segment): void {
  if (prev !== undefined && next.baseOffset < prev.nextOffset)
    throw new LogCorruptionError(
      next.path,
      0,
      `segment starts at offset ${next.baseOffset}, inside the previous one (which ends at ${prev.nextOffset - 1})`,
      'segments never overlap',
    );
}

async function withFile<T>(ctx: PartitionContext, path: string, fn: (f: LogFile) => Promise<T>): Promise<T> {
  const f = await ctx.io.open(path, 'read');
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

/** Carries out a plan and returns the open partition. */
export async function applyPlan(plan: PartitionPlan, ctx: PartitionContext, logger: LogLogger): Promise<Partition> {
  const { io, fsync } = ctx;
  if (plan.create) return createPartition(plan, ctx);
  for (const path of plan.leftovers) await unlinkIfPresent(io, path);
  for (const seg of plan.rebuilt) await publish(io, seg.indexPath, seg.index.serialize(seg.summary), fsync);
  const active = plan.segments[plan.segments.length - 1];
  const writer = await io.open(active.path, 'write');
  if (plan.tail !== undefined) {
    try {
      await writer.truncate(active.bytes);
    } catch (e) {
      await writer.close();
      throw new LogWriteError(active.path, active.bytes, e);
    }
    await datasync(writer, active.path);
    logger.warn(
      `napkin log: truncated the torn tail of ${active.path} at byte ${active.bytes}: dropped ${plan.tail.bytes} ` +
        `bytes (${plan.tail.reason}); they were never acknowledged`,
    );
  }
  if (plan.leftovers.length > 0 && fsync) await syncDir(io, plan.dir);
  return new Partition(plan.id, plan.dir, ctx, plan.segments, writer);
}

async function createPartition(plan: PartitionPlan, ctx: PartitionContext): Promise<Partition> {
  const { io } = ctx;
  await io.mkdir(plan.dir);
  const seg = new Segment(plan.dir, 0, 0, 0, new SegmentIndex(ctx.indexInterval));
  const writer = await io.open(seg.path, 'create');
  if (ctx.fsync) await syncDir(io, plan.dir);
  return new Partition(plan.id, plan.dir, ctx, [seg], writer);
}
