import type { Value } from '../expr/types.ts';

/** One key's windows, each under a numeric window id chosen by the caller. */
export interface KeyWindows<S> {
  readonly key: Value;
  /** A dense number for the key, stable while the key has windows: timers and touched-sets refer to keys by it. */
  readonly id: number;
  /** The key as text (strings as they are, other values as JSON): output is ordered by it. */
  readonly text: string;
  readonly windows: Map<number, S>;
}

type Scalar = string | number | boolean | null;

/**
 * Keyed window state: key → window id → state `S`, as an explicit store rather than closures, so that the state can
 * be inspected and (later) checkpointed. Scalar keys are looked up as they are (so `1` and `'1'` stay apart); list
 * and struct keys by their JSON text. A key disappears with its last window.
 */
export class WindowStore<S> {
  private readonly scalars = new Map<Scalar, KeyWindows<S>>();
  private readonly composites = new Map<string, KeyWindows<S>>();
  private readonly ids = new Map<number, KeyWindows<S>>();
  private nextId = 0;
  private windowCount = 0;

  /** How many windows are stored, over all keys. */
  get size(): number {
    return this.windowCount;
  }

  find(key: Value): KeyWindows<S> | undefined {
    return isScalar(key) ? this.scalars.get(key) : this.composites.get(JSON.stringify(key));
  }

  /** The key's entry, created empty if the key has no windows. */
  entry(key: Value): KeyWindows<S> {
    const found = this.find(key);
    if (found !== undefined) return found;
    const text = typeof key === 'string' ? key : JSON.stringify(key);
    const entry: KeyWindows<S> = { key, id: this.nextId++, text, windows: new Map() };
    if (isScalar(key)) this.scalars.set(key, entry);
    else this.composites.set(text, entry);
    this.ids.set(entry.id, entry);
    return entry;
  }

  byId(id: number): KeyWindows<S> | undefined {
    return this.ids.get(id);
  }

  set(entry: KeyWindows<S>, windowId: number, state: S): void {
    if (!entry.windows.has(windowId)) this.windowCount++;
    entry.windows.set(windowId, state);
  }

  /** Removes a window; the key goes too once it has none left. */
  delete(entry: KeyWindows<S>, windowId: number): void {
    if (!entry.windows.delete(windowId)) return;
    this.windowCount--;
    if (entry.windows.size === 0) this.dropKey(entry);
  }

  /** Forgets a key that holds no windows (one created by {@link entry} and then left unused). */
  dropIfEmpty(entry: KeyWindows<S>): void {
    if (entry.windows.size === 0) this.dropKey(entry);
  }

  keys(): IterableIterator<KeyWindows<S>> {
    return this.ids.values();
  }

  private dropKey(entry: KeyWindows<S>): void {
    if (isScalar(entry.key)) this.scalars.delete(entry.key);
    else this.composites.delete(entry.text);
    this.ids.delete(entry.id);
  }
}

function isScalar(v: Value): v is Scalar {
  return v === null || typeof v !== 'object';
}
