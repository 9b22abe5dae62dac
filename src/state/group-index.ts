import type { Value } from '../expr/types.ts';

/**
 * Keyed state: maps each distinct key (one or more column values) to a dense group number, and keeps the key values
 * so they can be emitted.
 *
 * Each key column has its own dictionary from value to a dense code (hashing the value itself: no key text is built
 * per row). One key column's code is the group. With more columns, codes are combined pairwise through
 * {@link PairTable}s, open-addressing tables over int32 pairs that allocate nothing per lookup: (code0, code1) gets a
 * pair id, (pair id, code2) the next, and the last table's ids are the groups. List and struct values are keyed by
 * their JSON text, so equal values group together whichever object holds them. Each column also remembers its last
 * value and code, which makes runs of one value (sorted or clustered input, as times usually are) cost a comparison.
 */
export class GroupIndex {
  private readonly codes: Map<Value, number>[] = [];
  private readonly jsonCodes: Map<string, number>[] = [];
  private readonly pairs: PairTable[] = [];
  private readonly keys: Value[][];
  private readonly lastValue: Value[] = [];
  private readonly lastCode: number[] = [];
  /** Codes of the row being looked up by `groupOf`. */
  private readonly rowCodes: Int32Array;
  size = 0;

  constructor(private readonly width: number) {
    this.keys = Array.from({ length: width }, () => []);
    for (let c = 0; c < width; c++) {
      this.codes.push(new Map());
      this.jsonCodes.push(new Map());
      // No code yet: the first row of a column is always looked up.
      this.lastValue.push(null);
      this.lastCode.push(-1);
    }
    for (let c = 1; c < width; c++) this.pairs.push(new PairTable());
    this.rowCodes = new Int32Array(Math.max(width, 1));
  }

  /** Writes the group of each of the first `n` rows into `out`, creating groups for new keys. */
  assign(columns: readonly (readonly Value[])[], n: number, out: Int32Array): void {
    if (this.width === 0) out.fill(0, 0, n);
    else if (this.width === 1) this.assign1(columns[0], n, out);
    else if (this.width === 2) this.assign2(columns[0], columns[1], n, out);
    else for (let i = 0; i < n; i++) out[i] = this.groupOf(columns, i);
  }

  private assign1(c0: readonly Value[], n: number, out: Int32Array): void {
    let last = this.lastValue[0];
    let lastCode = this.lastCode[0];
    for (let i = 0; i < n; i++) {
      const v = c0[i];
      if (v !== last || lastCode < 0) {
        lastCode = this.codeOf(0, v);
        last = v;
        if (lastCode === this.size) {
          this.size++;
          this.keys[0].push(v);
        }
      }
      out[i] = lastCode;
    }
    this.lastValue[0] = last;
    this.lastCode[0] = lastCode;
  }

  private assign2(c0: readonly Value[], c1: readonly Value[], n: number, out: Int32Array): void {
    const pairs = this.pairs[0];
    let last0 = this.lastValue[0];
    let code0 = this.lastCode[0];
    let last1 = this.lastValue[1];
    let code1 = this.lastCode[1];
    for (let i = 0; i < n; i++) {
      const a = c0[i];
      const b = c1[i];
      if (a !== last0 || code0 < 0) {
        code0 = this.codeOf(0, a);
        last0 = a;
      }
      if (b !== last1 || code1 < 0) {
        code1 = this.codeOf(1, b);
        last1 = b;
      }
      const g = pairs.idOf(code0, code1);
      if (g === this.size) {
        this.size++;
        this.keys[0].push(a);
        this.keys[1].push(b);
      }
      out[i] = g;
    }
    this.lastValue[0] = last0;
    this.lastCode[0] = code0;
    this.lastValue[1] = last1;
    this.lastCode[1] = code1;
  }

  /** The group of row `i` (creating it when new). */
  groupOf(columns: readonly (readonly Value[])[], i: number): number {
    const w = this.width;
    if (w === 0) {
      if (this.size === 0) this.size = 1;
      return 0;
    }
    const codes = this.rowCodes;
    for (let c = 0; c < w; c++) codes[c] = this.codeOf(c, columns[c][i]);
    let g = codes[0];
    for (let c = 1; c < w; c++) g = this.pairs[c - 1].idOf(g, codes[c]);
    if (g === this.size) {
      this.size++;
      for (let c = 0; c < w; c++) this.keys[c].push(columns[c][i]);
    }
    return g;
  }

  /** The dense code of value `v` in key column `c`, adding it when new (the next code is the dictionary's size). */
  private codeOf(c: number, v: Value): number {
    const codes = this.codes[c];
    let code = codes.get(v);
    if (code !== undefined) return code;
    if (typeof v === 'object' && v !== null) {
      const text = JSON.stringify(v);
      const json = this.jsonCodes[c];
      code = json.get(text);
      if (code === undefined) {
        code = codes.size + json.size;
        json.set(text, code);
      }
      return code;
    }
    code = codes.size + this.jsonCodes[c].size;
    codes.set(v, code);
    return code;
  }

  /** The key values of groups `start .. start+len`, one array per key column. */
  keyColumns(start: number, len: number): Value[][] {
    return this.keys.map((k) => k.slice(start, start + len));
  }
}

const EMPTY = -1;

/**
 * A hash table from pairs of non-negative int32 to dense ids (0, 1, 2 … in order of first lookup), in typed arrays
 * with linear probing: a lookup allocates nothing and touches one or two cache lines.
 */
export class PairTable {
  private left: Int32Array;
  private right: Int32Array;
  private ids: Int32Array;
  private mask: number;
  size = 0;

  constructor(capacity = 1024) {
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.ids = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
  }

  /** The id of `(x, y)`; a new pair gets id `size`. */
  idOf(x: number, y: number): number {
    const ids = this.ids;
    const mask = this.mask;
    let s = hashPair(x, y) & mask;
    for (;;) {
      const id = ids[s];
      if (id === EMPTY) break;
      if (this.left[s] === x && this.right[s] === y) return id;
      s = (s + 1) & mask;
    }
    const id = this.size++;
    this.left[s] = x;
    this.right[s] = y;
    ids[s] = id;
    if (this.size * 2 > ids.length) this.grow();
    return id;
  }

  private grow(): void {
    const { left, right, ids } = this;
    const capacity = ids.length * 2;
    this.left = new Int32Array(capacity);
    this.right = new Int32Array(capacity);
    this.ids = new Int32Array(capacity).fill(EMPTY);
    this.mask = capacity - 1;
    for (let s = 0; s < ids.length; s++) {
      if (ids[s] === EMPTY) continue;
      let t = hashPair(left[s], right[s]) & this.mask;
      while (this.ids[t] !== EMPTY) t = (t + 1) & this.mask;
      this.left[t] = left[s];
      this.right[t] = right[s];
      this.ids[t] = ids[s];
    }
  }
}

/** Mixes two small dense codes so that neighbouring pairs spread over the table (murmur3's finaliser). */
function hashPair(x: number, y: number): number {
  let h = Math.imul(x, 0x9e3779b1) ^ y;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** `~` for null, `n<number>;`, `b0;`/`b1;`, or `s<length>:<text>` — no two distinct keys share an encoding. */
export function encodeKeyPart(v: Value): string {
  if (v === null) return '~';
  switch (typeof v) {
    case 'number':
      return `n${v};`;
    case 'boolean':
      return v ? 'b1;' : 'b0;';
    case 'string':
      return `s${v.length}:${v}`;
    default: {
      const s = JSON.stringify(v);
      return `j${s.length}:${s}`;
    }
  }
}

/**
 * The hash key of row `i` over key columns: the value itself for one scalar column (JSON text for a list or struct),
 * else the concatenation of {@link encodeKeyPart}s. Null is a key like any other here; callers that must not match
 * nulls (joins) check first.
 */
export function rowKey(cols: readonly (readonly Value[])[], i: number): Value {
  if (cols.length === 1) {
    const v = cols[0][i];
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
  }
  let k = '';
  for (const c of cols) k += encodeKeyPart(c[i]);
  return k;
}
