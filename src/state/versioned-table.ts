import type { Value } from '../expr/types.ts';
import { MIN_TIMESTAMP } from '../time/timestamps.ts';
import { TimeHeap } from './time-heap.ts';

/** A table row version's values, or `null` for a tombstone (the key has no row from that time on). */
export type VersionRow = readonly Value[] | null;

/** One key's versions, oldest first; `rows[i]` is valid from `times[i]` until the next version. */
interface KeyVersions {
  readonly id: number;
  readonly key: Value;
  readonly times: number[];
  readonly rows: VersionRow[];
  /** The earliest time this key is queued at in `due` (+Infinity: not queued), so a key is not queued twice. */
  due: number;
  /** The same for `settlingQueue`. */
  settling: number;
}

/** What a {@link VersionedTable} holds, for tests and metrics. */
export interface VersionedTableSize {
  readonly keys: number;
  readonly versions: number;
  /** Pruning schedule entries (at most one live entry per key and heap, plus stale ones not yet popped). */
  readonly scheduled: number;
}

/**
 * A keyed changelog read "as of" a time: per key a small sorted array of versions, each valid from its event time
 * until the next one (the state of an event-time temporal join; Flink's versioned table, Kafka Streams' versioned
 * KTable). Two bounds keep it small:
 *
 * - the **horizon** `H`: no lookup will ask for a time below `H` (the probe side's watermark, held by probes still
 *   waiting). Per key, every version older than the latest one at or before `H` is dead and dropped;
 * - **settled** `S`: no version with a time below `S` will be put any more (the changelog's watermark). A tombstone
 *   that is a key's oldest live version can only go once `S` has passed it: before that, an older version could
 *   still arrive and would wrongly become visible again.
 *
 * Keys are queued by the time at which they can next shed a version, so pruning touches only keys that can shrink.
 * A version put at a time some version of the key already has replaces it: the last one received wins.
 */
export class VersionedTable {
  private readonly byKey = new Map<Value, KeyVersions>();
  private readonly byId = new Map<number, KeyVersions>();
  /** Keys that can shed a version once the horizon reaches the queued time. */
  private readonly due = new TimeHeap();
  /** Keys whose oldest version is a tombstone at or before the horizon, droppable once `settled` passes it. */
  private readonly settlingQueue = new TimeHeap();
  private nextId = 0;
  private versionCount = 0;
  private horizonAt = MIN_TIMESTAMP;
  private settledAt = MIN_TIMESTAMP;

  get horizon(): number {
    return this.horizonAt;
  }

  get settled(): number {
    return this.settledAt;
  }

  /**
   * Puts a version of `key` valid from `time` (`row` null: a tombstone). Returns false, storing nothing, when
   * `time` is below {@link settled}: the version is late and could change lookups already answered.
   */
  put(key: Value, time: number, row: VersionRow): boolean {
    if (time < this.settledAt) return false;
    const k = this.byKey.get(key) ?? this.create(key);
    const at = floorIndex(k.times, time);
    if (at >= 0 && k.times[at] === time) {
      k.rows[at] = row;
    } else {
      k.times.splice(at + 1, 0, time);
      k.rows.splice(at + 1, 0, row);
      this.versionCount++;
    }
    this.prune(k);
    return true;
  }

  /** The row of `key` as of `time`: the version with the greatest time ≤ `time`; null if none or a tombstone. */
  lookup(key: Value, time: number): VersionRow {
    if (time < this.horizonAt) {
      throw new RangeError(`VersionedTable.lookup(${time}): below the horizon ${this.horizonAt}, versions are pruned`);
    }
    const k = this.byKey.get(key);
    if (k === undefined) return null;
    const at = floorIndex(k.times, time);
    return at < 0 ? null : k.rows[at];
  }

  /** Raises the horizon and the settled time (each only goes up) and drops the versions no lookup can reach. */
  advance(horizon: number, settled: number): void {
    if (horizon > this.horizonAt) this.horizonAt = horizon;
    if (settled > this.settledAt) this.settledAt = settled;
    while (this.due.minTime <= this.horizonAt) {
      const k = this.byId.get(this.due.topA);
      const t = this.due.minTime;
      this.due.pop();
      if (k === undefined) continue;
      if (k.due === t) k.due = Number.POSITIVE_INFINITY;
      this.prune(k);
    }
    while (this.settlingQueue.minTime < this.settledAt) {
      const k = this.byId.get(this.settlingQueue.topA);
      const t = this.settlingQueue.minTime;
      this.settlingQueue.pop();
      if (k === undefined) continue;
      if (k.settling === t) k.settling = Number.POSITIVE_INFINITY;
      this.prune(k);
    }
  }

  /** The version times kept for `key`, oldest first (for tests). */
  versionTimes(key: Value): readonly number[] {
    return this.byKey.get(key)?.times ?? [];
  }

  stateSize(): VersionedTableSize {
    return {
      keys: this.byKey.size,
      versions: this.versionCount,
      scheduled: this.due.size + this.settlingQueue.size,
    };
  }

  private create(key: Value): KeyVersions {
    const k: KeyVersions = {
      id: this.nextId++,
      key,
      times: [],
      rows: [],
      due: Number.POSITIVE_INFINITY,
      settling: Number.POSITIVE_INFINITY,
    };
    this.byKey.set(key, k);
    this.byId.set(k.id, k);
    return k;
  }

  /** Drops the key's dead versions, then queues the key for the next time it can shrink. */
  private prune(k: KeyVersions): void {
    const h = this.horizonAt;
    const floor = floorIndex(k.times, h);
    if (floor > 0) {
      k.times.splice(0, floor);
      k.rows.splice(0, floor);
      this.versionCount -= floor;
    }
    // A tombstone in force at the horizon answers like no version at all, once nothing older can arrive.
    if (k.times.length > 0 && k.rows[0] === null && k.times[0] <= h && k.times[0] < this.settledAt) {
      k.times.shift();
      k.rows.shift();
      this.versionCount--;
    }
    if (k.times.length === 0) {
      this.byKey.delete(k.key);
      // Entries still queued for it find no key by id and are skipped.
      this.byId.delete(k.id);
      return;
    }
    this.schedule(k);
  }

  private schedule(k: KeyVersions): void {
    const tombstone = k.rows[0] === null;
    // The oldest version dies when the horizon reaches the next one; a tombstone also when it reaches the tombstone.
    const next = tombstone ? k.times[0] : k.times.length > 1 ? k.times[1] : Number.POSITIVE_INFINITY;
    if (next > this.horizonAt) {
      if (next < k.due) {
        k.due = next;
        this.due.push(next, k.id);
      }
    } else if (tombstone && k.times[0] < k.settling) {
      k.settling = k.times[0];
      this.settlingQueue.push(k.times[0], k.id);
    }
  }
}

/** The index of the last element ≤ `t` in ascending `times`, or −1 when all are greater. */
function floorIndex(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}
