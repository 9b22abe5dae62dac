/**
 * The watermark holds of one stage as a multiset of timestamps with a fast minimum, so that the stage's output
 * watermark (H6) costs O(log n) per round instead of a walk over every window. Each window contributes at most two
 * holds, its element hold (H2) and its end-of-window hold (H3); the stage adds and removes them as they change.
 */
export class HoldSet {
  private readonly counts = new Map<number, number>();
  // A min-heap of distinct held values; values whose count fell to 0 are removed lazily, when they reach the top.
  private readonly heap: number[] = [];

  add(t: number): void {
    const c = this.counts.get(t) ?? 0;
    this.counts.set(t, c + 1);
    if (c !== 0) return;
    // Released values stay in the heap until they reach the top; rebuild before they outnumber the held ones.
    if (this.heap.length > 64 && this.heap.length > 2 * this.counts.size) this.rebuild();
    else push(this.heap, t);
  }

  remove(t: number): void {
    const c = this.counts.get(t);
    if (c === undefined) throw new Error(`no watermark hold at ${t} to release`);
    if (c === 1) this.counts.delete(t);
    else this.counts.set(t, c - 1);
  }

  /** The smallest hold, or `undefined` when nothing is held. */
  min(): number | undefined {
    while (this.heap.length > 0 && !this.counts.has(this.heap[0])) pop(this.heap);
    return this.heap[0];
  }

  private rebuild(): void {
    this.heap.length = 0;
    for (const v of this.counts.keys()) push(this.heap, v);
  }
}

function push(heap: number[], v: number): void {
  let i = heap.length;
  heap.push(v);
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (heap[p] <= heap[i]) break;
    [heap[p], heap[i]] = [heap[i], heap[p]];
    i = p;
  }
}

function pop(heap: number[]): void {
  const last = heap.pop()!;
  if (heap.length === 0) return;
  heap[0] = last;
  let i = 0;
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < heap.length && heap[l] < heap[m]) m = l;
    if (r < heap.length && heap[r] < heap[m]) m = r;
    if (m === i) return;
    [heap[i], heap[m]] = [heap[m], heap[i]];
    i = m;
  }
}
