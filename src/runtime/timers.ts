/**
 * Timers, a general runtime facility (not special-cased inside windows): a callback-free queue of timers in two time
 * domains, each timer named by (key, id) within its domain. Event-time timers are due once the watermark is past
 * them (`watermark > at`, M4); processing-time timers once processing time reaches them (`now ≥ at`, G8). Due timers
 * come out in `(at, order set)` order and are removed; what a due timer means is up to the caller.
 *
 * Setting a timer again under the same name moves it. Each domain is an indexed binary heap, so moving and cancelling
 * are O(log n) and leave nothing behind. Timers are plain data ({@link TimerQueue.timers}), so a checkpoint can store
 * them and {@link TimerQueue.restore} can rebuild the queue.
 */
export type TimeDomain = 'eventTime' | 'processingTime';

export interface Timer<K, I = string> {
  readonly domain: TimeDomain;
  readonly key: K;
  readonly id: I;
  readonly at: number;
}

interface Entry<K, I> {
  readonly domain: TimeDomain;
  readonly key: K;
  readonly id: I;
  at: number;
  seq: number;
  /** Position in the heap; −1 once removed. */
  pos: number;
}

export class TimerQueue<K, I = string> {
  private readonly queues: Record<TimeDomain, DomainQueue<K, I>> = {
    eventTime: new DomainQueue('eventTime'),
    processingTime: new DomainQueue('processingTime'),
  };

  /** How many timers are set, in both domains. */
  get size(): number {
    return this.queues.eventTime.size + this.queues.processingTime.size;
  }

  /** Sets the timer, or moves it if it is already set. */
  set(domain: TimeDomain, key: K, id: I, at: number): void {
    this.queues[domain].set(key, id, at);
  }

  get(domain: TimeDomain, key: K, id: I): Timer<K, I> | undefined {
    return this.queues[domain].get(key, id);
  }

  /** Removes the timer; returns whether it was set. */
  cancel(domain: TimeDomain, key: K, id: I): boolean {
    return this.queues[domain].cancel(key, id);
  }

  /** Removes and returns the event-time timers the watermark has passed (`at < watermark`, M4). */
  popEventTime(watermark: number): Timer<K, I>[] {
    return this.queues.eventTime.popThrough(watermark - 1);
  }

  /** Removes and returns the processing-time timers that processing time has reached (`at ≤ now`). */
  popProcessingTime(now: number): Timer<K, I>[] {
    return this.queues.processingTime.popThrough(now);
  }

  /** The earliest timer of a domain, if any. */
  peek(domain: TimeDomain): Timer<K, I> | undefined {
    return this.queues[domain].peek();
  }

  /** Every set timer as plain data, earliest first per domain. */
  timers(): Timer<K, I>[] {
    return [...this.queues.eventTime.all(), ...this.queues.processingTime.all()];
  }

  static restore<K, I>(timers: readonly Timer<K, I>[]): TimerQueue<K, I> {
    const q = new TimerQueue<K, I>();
    for (const t of timers) q.set(t.domain, t.key, t.id, t.at);
    return q;
  }
}

/** One time domain's timers: a heap by time and sequence, and the live timer of each (key, id). */
export class DomainQueue<K, I> {
  private readonly live = new Map<K, Map<I, Entry<K, I>>>();
  private readonly heap: Entry<K, I>[] = [];
  private seq = 0;

  constructor(private readonly domain: TimeDomain) {}

  get size(): number {
    return this.heap.length;
  }

  set(key: K, id: I, at: number): void {
    let byId = this.live.get(key);
    if (byId === undefined) {
      byId = new Map();
      this.live.set(key, byId);
    }
    const e = byId.get(id);
    if (e === undefined) {
      const entry: Entry<K, I> = { domain: this.domain, key, id, at, seq: this.seq++, pos: this.heap.length };
      byId.set(id, entry);
      this.heap.push(entry);
      this.up(entry.pos);
    } else if (e.at !== at) {
      e.at = at;
      e.seq = this.seq++;
      this.down(this.up(e.pos));
    }
  }

  get(key: K, id: I): Timer<K, I> | undefined {
    const e = this.live.get(key)?.get(id);
    return e === undefined ? undefined : plain(e);
  }

  cancel(key: K, id: I): boolean {
    const e = this.live.get(key)?.get(id);
    if (e === undefined) return false;
    this.remove(e);
    return true;
  }

  popThrough(last: number): Timer<K, I>[] {
    const due: Timer<K, I>[] = [];
    while (this.heap.length > 0 && this.heap[0].at <= last) {
      const e = this.heap[0];
      this.remove(e);
      due.push(e);
    }
    return due;
  }

  peek(): Timer<K, I> | undefined {
    return this.heap.length === 0 ? undefined : plain(this.heap[0]);
  }

  all(): Timer<K, I>[] {
    return [...this.heap].sort(compare).map(plain);
  }

  private remove(e: Entry<K, I>): void {
    const byId = this.live.get(e.key);
    byId?.delete(e.id);
    if (byId?.size === 0) this.live.delete(e.key);
    const pos = e.pos;
    const last = this.heap.pop()!;
    e.pos = -1;
    if (last === e) return;
    this.heap[pos] = last;
    last.pos = pos;
    this.down(this.up(pos));
  }

  /** Moves the entry at `i` towards the root while it is earlier than its parent; returns where it ends. */
  private up(i: number): number {
    const heap = this.heap;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(heap[i], heap[parent]) >= 0) break;
      this.swap(i, parent);
      i = parent;
    }
    return i;
  }

  private down(i: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && compare(heap[l], heap[m]) < 0) m = l;
      if (r < heap.length && compare(heap[r], heap[m]) < 0) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }

  private swap(i: number, j: number): void {
    const heap = this.heap;
    const a = heap[i];
    heap[i] = heap[j];
    heap[j] = a;
    heap[i].pos = i;
    heap[j].pos = j;
  }
}

function compare<K, I>(a: Entry<K, I>, b: Entry<K, I>): number {
  return a.at - b.at || a.seq - b.seq;
}

function plain<K, I>(e: Entry<K, I>): Timer<K, I> {
  return { domain: e.domain, key: e.key, id: e.id, at: e.at };
}
