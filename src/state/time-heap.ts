/**
 * A min-heap of entries `(time, a, b)` with integer payloads `a` and `b`, ordered by time and, among equal times, by
 * insertion order, so that entries pushed in one order come out in that order whatever the batch boundaries were.
 * Entries live in parallel number arrays: pushing and popping allocate nothing per entry.
 */
export class TimeHeap {
  private readonly times: number[] = [];
  private readonly seqs: number[] = [];
  private readonly as: number[] = [];
  private readonly bs: number[] = [];
  private nextSeq = 0;

  get size(): number {
    return this.times.length;
  }

  /** The smallest time in the heap, or +Infinity when it is empty. */
  get minTime(): number {
    return this.times.length === 0 ? Number.POSITIVE_INFINITY : this.times[0];
  }

  /** Payload `a` of the entry with the smallest time; read it before {@link pop}. */
  get topA(): number {
    return this.as[0];
  }

  get topB(): number {
    return this.bs[0];
  }

  push(time: number, a: number, b = 0): void {
    let i = this.times.length;
    const seq = this.nextSeq++;
    this.times.push(time);
    this.seqs.push(seq);
    this.as.push(a);
    this.bs.push(b);
    while (i > 0) {
      const p = (i - 1) >> 1;
      // The new entry has the largest seq, so it goes above its parent only with a strictly smaller time.
      if (this.times[p] <= time) break;
      this.move(p, i);
      i = p;
    }
    this.put(i, time, seq, a, b);
  }

  /** Removes the entry with the smallest time. */
  pop(): void {
    const n = this.times.length - 1;
    if (n < 0) return;
    const time = this.times[n];
    const seq = this.seqs[n];
    const a = this.as[n];
    const b = this.bs[n];
    this.times.length = n;
    this.seqs.length = n;
    this.as.length = n;
    this.bs.length = n;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.less(c + 1, this.times[c], this.seqs[c])) c++;
      if (!this.less(c, time, seq)) break;
      this.move(c, i);
      i = c;
    }
    this.put(i, time, seq, a, b);
  }

  /** Whether entry j comes before an entry at (time, seq). */
  private less(j: number, time: number, seq: number): boolean {
    const t = this.times[j];
    return t < time || (t === time && this.seqs[j] < seq);
  }

  private move(from: number, to: number): void {
    this.put(to, this.times[from], this.seqs[from], this.as[from], this.bs[from]);
  }

  private put(i: number, time: number, seq: number, a: number, b: number): void {
    this.times[i] = time;
    this.seqs[i] = seq;
    this.as[i] = a;
    this.bs[i] = b;
  }
}
