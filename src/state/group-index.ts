import type { Value } from '../flow/types.ts';

/**
 * Keyed state: maps each distinct key (one or more column values) to a dense group number, and keeps the key values
 * so they can be emitted. Single keys hash on the value itself; composite keys on a collision-free encoding
 * (length-prefixed strings), never on JSON of the whole row.
 */
export class GroupIndex {
  private readonly single = new Map<Value, number>();
  private readonly composite = new Map<string, number>();
  private readonly keys: Value[][];
  size = 0;

  constructor(private readonly width: number) {
    this.keys = Array.from({ length: width }, () => []);
  }

  /** Writes the group of each of the first `n` rows into `out`, creating groups for new keys. */
  assign(columns: readonly (readonly Value[])[], n: number, out: Int32Array): void {
    if (this.width === 0) {
      out.fill(0, 0, n);
      return;
    }
    if (this.width === 1) {
      const c = columns[0];
      const map = this.single;
      for (let i = 0; i < n; i++) {
        const v = c[i];
        let g = map.get(v);
        if (g === undefined) {
          g = this.size++;
          map.set(v, g);
          this.keys[0].push(v);
        }
        out[i] = g;
      }
      return;
    }
    for (let i = 0; i < n; i++) out[i] = this.groupOf(columns, i);
  }

  /** The group of row `i` (creating it when new). */
  groupOf(columns: readonly (readonly Value[])[], i: number): number {
    if (this.width === 0) {
      if (this.size === 0) this.size = 1;
      return 0;
    }
    let k = '';
    for (let c = 0; c < this.width; c++) k += encodeKeyPart(columns[c][i]);
    let g = this.composite.get(k);
    if (g === undefined) {
      g = this.size++;
      this.composite.set(k, g);
      for (let c = 0; c < this.width; c++) this.keys[c].push(columns[c][i]);
    }
    return g;
  }

  /** The key values of groups `start .. start+len`, one array per key column. */
  keyColumns(start: number, len: number): Value[][] {
    return this.keys.map((k) => k.slice(start, start + len));
  }
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
