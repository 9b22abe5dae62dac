import { GroupIndex, PairTable } from '../state/group-index.ts';
import { KeyedTimeRows } from '../state/keyed-time-rows.ts';
import { RowArena } from '../state/row-arena.ts';
import { TimeHeap } from '../state/time-heap.ts';
import { VersionedTable } from '../state/versioned-table.ts';
import { WaitingRows } from '../state/waiting-rows.ts';
import { WindowJoinRows } from '../state/window-join-rows.ts';
import { WindowStore } from '../state/window-store.ts';
import { WindowTable, WindowTables } from '../state/window-tables.ts';
import { PartitionFrontier } from './partition-frontier.ts';
import { SourceWatermark } from './source-watermark.ts';
import { DomainQueue, TimerQueue } from './timers.ts';
import { MinWatermark } from './watermark.ts';
import { HoldSet } from './window/holds.ts';

/**
 * The classes whose instances operator state may hold, by a name a snapshot records. A snapshot stores an instance
 * as its own fields and its class's name, and a restore gives the fields back their class, so an operator's state is
 * its plain fields: no per-class writer to keep in step with the class. Renaming an entry orphans older snapshots,
 * which is safe (a take-over without a usable snapshot replays the output's epochs) but slow.
 */
const CLASSES: Readonly<Record<string, { readonly prototype: object }>> = {
  DomainQueue,
  GroupIndex,
  HoldSet,
  KeyedTimeRows,
  MinWatermark,
  PairTable,
  PartitionFrontier,
  RowArena,
  SourceWatermark,
  TimeHeap,
  TimerQueue,
  VersionedTable,
  WaitingRows,
  WindowJoinRows,
  WindowStore,
  WindowTable,
  WindowTables,
};

const NAMES = new Map<object, string>(Object.entries(CLASSES).map(([name, c]) => [c.prototype, name]));

/** The field that marks an encoded class instance; NUL cannot start a contract's field name. */
const TAG = '\u0000class';
/** An encoded plain object that itself had a {@link TAG} field (user data): escaped, never mistaken for a class. */
const PLAIN = 'Object';

/** Operator state that cannot go into a snapshot (a function, an unknown class); the run falls back to replay. */
export class StateNotCapturable extends Error {}

/**
 * State as structured-clone data (what `v8.serialize` writes): maps, sets, arrays, typed arrays, dates, bigints and
 * plain objects pass through (copied where they hold something to encode); class instances become tagged plain
 * objects. Objects reached twice are encoded once, so shared references stay shared after {@link decodeState}.
 */
export function encodeState(value: unknown, where: string): unknown {
  return new Encoder(where).encode(value);
}

/** The inverse of {@link encodeState}. */
export function decodeState(value: unknown): unknown {
  return new Decoder().decode(value);
}

/**
 * Copies only what must change: a class instance becomes a tagged object, and a container holding one (at any depth)
 * a copy; plain data is returned as it is, for `v8.serialize` to write directly. Most state is plain data (windows,
 * accumulators, trigger states, columns), so a snapshot allocates little beyond the bytes. Containers with objects
 * in them are remembered, so one reached twice is walked once and encoded to the same result (sharing is kept);
 * state graphs are trees with shared leaves, so no container is reached again while it is being walked.
 */
class Encoder {
  private readonly seen = new Map<object, unknown>();
  /** The field names down to the value being encoded, for an error's message only. */
  private readonly path: string[] = [];

  constructor(private readonly root: string) {}

  encode(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) {
      if (typeof v === 'function' || typeof v === 'symbol') this.refuse(`a ${typeof v}`);
      return v;
    }
    if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof ArrayBuffer) return v;
    const known = this.seen.get(v);
    if (known !== undefined) return known;
    if (Array.isArray(v)) return this.array(v);
    if (v instanceof Map) return this.map(v);
    if (v instanceof Set) return this.set(v);
    const proto = Object.getPrototypeOf(v) as object | null;
    if (proto === Object.prototype || proto === null) {
      const fields = this.fields(v as Record<string, unknown>);
      // User data with the tag's own name is escaped, so decoding never takes it for an instance.
      const out = Object.hasOwn(v, TAG) ? { [TAG]: PLAIN, fields } : fields;
      if (out !== v) this.seen.set(v, out);
      return out;
    }
    const name = NAMES.get(proto);
    if (name === undefined)
      this.refuse(
        `an instance of ${(proto as { constructor?: { name?: string } }).constructor?.name ?? 'an unknown class'}, which snapshots do not know,`,
      );
    // `v8.serialize` writes an instance's own fields as a plain object's: the instance itself can be the fields.
    const out: { [TAG]: string; fields: unknown } = { [TAG]: name, fields: undefined };
    this.seen.set(v, out);
    out.fields = this.fields(v as Record<string, unknown>);
    return out;
  }

  /** The object's own fields, encoded: the object itself when none changed, else a plain copy. */
  private fields(o: Record<string, unknown>): Record<string, unknown> {
    let copy: Record<string, unknown> | undefined;
    let nested = false;
    for (const k in o) {
      if (!Object.hasOwn(o, k)) continue;
      const x = o[k];
      let r = x;
      if (typeof x === 'object' ? x !== null : typeof x === 'function' || typeof x === 'symbol') {
        // Reached again while its fields are walked, it stands for itself (see the class comment).
        if (!nested && !this.seen.has(o)) this.seen.set(o, o);
        nested = true;
        this.path.push(k);
        r = this.encode(x);
        this.path.pop();
      }
      if (r !== x && copy === undefined) copy = { ...o };
      if (copy !== undefined) copy[k] = r;
    }
    return copy ?? o;
  }

  private array(v: unknown[]): unknown[] {
    let copy: unknown[] | undefined;
    let nested = false;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x === 'object' ? x === null : typeof x !== 'function' && typeof x !== 'symbol') continue;
      if (!nested) {
        nested = true;
        this.seen.set(v, v);
      }
      const r = this.encode(x);
      if (r !== x && copy === undefined) copy = v.slice();
      if (copy !== undefined) copy[i] = r;
    }
    if (copy !== undefined) this.seen.set(v, copy);
    return copy ?? v;
  }

  private map(v: Map<unknown, unknown>): Map<unknown, unknown> {
    this.seen.set(v, v);
    let copy: Map<unknown, unknown> | undefined;
    let i = 0;
    for (const [k, x] of v) {
      const ek = typeof k === 'object' || typeof k === 'function' ? this.encode(k) : k;
      const ex = typeof x === 'object' || typeof x === 'function' || typeof x === 'symbol' ? this.encode(x) : x;
      if ((ek !== k || ex !== x) && copy === undefined) {
        copy = new Map();
        let j = 0;
        for (const [k2, x2] of v) {
          if (j++ === i) break;
          copy.set(this.encode(k2), this.encode(x2));
        }
      }
      copy?.set(ek, ex);
      i++;
    }
    if (copy !== undefined) this.seen.set(v, copy);
    return copy ?? v;
  }

  private set(v: Set<unknown>): Set<unknown> {
    this.seen.set(v, v);
    let changed = false;
    for (const x of v)
      if ((typeof x === 'object' && x !== null) || typeof x === 'function' || typeof x === 'symbol')
        changed = this.encode(x) !== x || changed;
    if (!changed) return v;
    const copy = new Set<unknown>();
    for (const x of v) copy.add(this.encode(x));
    this.seen.set(v, copy);
    return copy;
  }

  private refuse(what: string): never {
    const at = this.path.length === 0 ? 'its top' : this.path.join('.');
    throw new StateNotCapturable(`${this.root}: state holds ${what} at ${at}; it cannot be snapshotted`);
  }
}

class Decoder {
  private readonly seen = new Map<object, unknown>();

  decode(v: unknown): unknown {
    if (typeof v !== 'object' || v === null) return v;
    if (ArrayBuffer.isView(v) || v instanceof Date || v instanceof ArrayBuffer) return v;
    const known = this.seen.get(v);
    if (known !== undefined) return known;
    if (Array.isArray(v)) {
      this.seen.set(v, v);
      for (let i = 0; i < v.length; i++) v[i] = this.decode(v[i]);
      return v;
    }
    if (v instanceof Map) {
      const out = new Map<unknown, unknown>();
      this.seen.set(v, out);
      for (const [k, x] of v) out.set(this.decode(k), this.decode(x));
      return out;
    }
    if (v instanceof Set) {
      const out = new Set<unknown>();
      this.seen.set(v, out);
      for (const x of v) out.add(this.decode(x));
      return out;
    }
    const o = v as Record<string, unknown>;
    if (!Object.hasOwn(o, TAG)) {
      this.seen.set(o, o);
      for (const k of Object.keys(o)) o[k] = this.decode(o[k]);
      return o;
    }
    const name = o[TAG] as string;
    const cls = name === PLAIN ? undefined : CLASSES[name];
    if (name !== PLAIN && cls === undefined)
      throw new Error(`a snapshot names class ${name}, which this version does not know`);
    const out = Object.create(cls === undefined ? Object.prototype : cls.prototype) as Record<string, unknown>;
    this.seen.set(o, out);
    const fields = o.fields as Record<string, unknown>;
    for (const k of Object.keys(fields)) out[k] = this.decode(fields[k]);
    return out;
  }
}

/**
 * Puts decoded fields back onto an instance the run built itself (its configuration and functions intact). Only
 * fields the instance already has are set: a snapshot of another shape is refused rather than half applied.
 */
export function restoreFields(target: object, fields: unknown, where: string): void {
  if (typeof fields !== 'object' || fields === null) throw new Error(`${where}: the snapshot holds no state for it`);
  for (const [k, v] of Object.entries(fields)) {
    if (!Object.hasOwn(target, k)) throw new Error(`${where}: the snapshot has a field ${k} this version does not`);
    (target as Record<string, unknown>)[k] = v;
  }
}
