import type { Value } from '../expr/types.ts';
import { MIN_TIMESTAMP } from '../time/timestamps.ts';
import { MinWatermark } from './watermark.ts';

/** What a partitioned source keeps of its frontier across restarts: each partition's newest event time, and the frontier. */
export interface FrontierState {
  /** Per partition (its number as text), the largest event time read from it (−∞ as MIN_TIMESTAMP: none yet). */
  readonly times: Readonly<Record<string, number>>;
  readonly frontier: number;
}

/**
 * The event-time frontier of a source read from several partitions: each partition's newest event time is one input
 * of a {@link MinWatermark} (M2 over "every partition of every upstream stage", M7 per partition), so the frontier is
 * the oldest of the partitions that count and never decreases. A read stage's watermark strategy turns it into the
 * source's watermark (`frontier − bound`, M6): a partition far behind the others holds the watermark back instead of
 * seeing its records turned late, and an empty or silent partition stops holding it once it is idle.
 *
 * Idleness is judged at probes, one per fetch round whether or not it brought records (M7.2): a partition's countdown
 * starts at the first probe with no record from it since the previous one, and it is idle once strictly more than
 * `idleTimeoutMs` has passed since. Without a timeout no partition is ever idle: one that never receives a record
 * holds the frontier at −∞. After a restart the frontier stays at least where it was (`start.frontier`).
 */
export class PartitionFrontier {
  private readonly ports = new Map<number, number>();
  private readonly saw: boolean[] = [];
  /** Per port, the newest event time read, taken into the minimum at the next probe. */
  private readonly newest: number[] = [];
  private readonly countdownFrom: (number | undefined)[] = [];
  private readonly combined = new MinWatermark(0);
  private readonly floor: number;
  private value: number;

  constructor(
    private readonly idleTimeoutMs: number | undefined,
    start?: FrontierState,
  ) {
    this.floor = start?.frontier ?? MIN_TIMESTAMP;
    this.value = this.floor;
    // Every port first: the minimum never decreases, so setting them one by one would start it at the first's time.
    const known = Object.entries(start?.times ?? {}).map(([p, t]) => [this.add(Number(p)), t] as const);
    for (const [port, t] of known) {
      this.newest[port] = t;
      this.combined.set(port, t);
    }
  }

  /** A partition the source reads, as a port of the minimum; a known one keeps its port. */
  add(partition: number): number {
    let port = this.ports.get(partition);
    if (port === undefined) {
      port = this.combined.addPort();
      this.ports.set(partition, port);
      this.saw.push(false);
      this.newest.push(MIN_TIMESTAMP);
      this.countdownFrom.push(undefined);
    }
    return port;
  }

  /**
   * Records were read from `partition` (M7.1), rows `from` to `to` (exclusive) of `times` among them; records the
   * contract refused count for idleness but have no event time. Taken into the frontier at the next probe, so the
   * order partitions are read in within a round does not matter.
   */
  observe(partition: number, times: readonly Value[], from: number, to: number): void {
    const port = this.add(partition);
    let max = this.newest[port];
    for (let i = from; i < to; i++) {
      const t = times[i];
      if (typeof t === 'number' && t > max) max = t;
    }
    this.newest[port] = max;
    this.saw[port] = true;
  }

  /** A probe at processing time `now`, after a fetch round (M7.2); returns whether the frontier rose. */
  probe(now: number): boolean {
    const timeout = this.idleTimeoutMs;
    const c = this.combined;
    for (let port = 0; port < this.saw.length; port++) {
      if (this.saw[port]) {
        this.saw[port] = false;
        this.countdownFrom[port] = undefined;
        if (c.isIdle(port)) c.setIdle(port, false);
        c.set(port, this.newest[port]);
        continue;
      }
      if (timeout === undefined || c.isIdle(port)) continue;
      const from = this.countdownFrom[port] ?? now;
      this.countdownFrom[port] = from;
      if (now - from > timeout) c.setIdle(port, true);
    }
    const next = Math.max(this.floor, c.current);
    if (next <= this.value) return false;
    this.value = next;
    return true;
  }

  /** The frontier as of the last probe. */
  get frontier(): number {
    return this.value;
  }

  get state(): FrontierState {
    const times: Record<string, number> = {};
    // Partitions without a record too: restored, they hold the frontier as they did.
    for (const [p, port] of [...this.ports].sort((a, b) => a[0] - b[0])) times[String(p)] = this.newest[port];
    return { times, frontier: this.value };
  }
}
