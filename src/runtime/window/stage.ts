import type { Value } from '../../expr/types.ts';
import { type KeyWindows, WindowStore } from '../../state/window-store.ts';
import { GLOBAL_MAX, isElementTimestamp, isTime, MIN_TIMESTAMP } from '../../time/timestamps.ts';
import { hasWatermarkPart } from '../../time/triggers.ts';
import type { Windowing } from '../../time/windowing.ts';
import {
  assignStarts,
  compareWindows,
  GLOBAL_WINDOW,
  type IntervalWindow,
  interval,
  isMerging,
  maxTs,
  mergeSweep,
  type SessionWindows,
  sameWindow,
  spanAll,
  type Window,
  windowLength,
  windowStart,
} from '../../time/windows.ts';
import { restoreFields } from '../state-codec.ts';
import { type Timer, TimerQueue } from '../timers.ts';
import type { CombineFn } from './combine.ts';
import { HoldSet } from './holds.ts';
import { mergedHold, mergeRetractions } from './merge.ts';
import { describePane } from './pane.ts';
import { compileTrigger, type TriggerContext, type TriggerMachine } from './triggers.ts';
import type { DropCounters, Element, MergeRetraction, Pane, StageOutput, WindowState } from './types.ts';

export interface WindowedAggregationOptions<V, A, O> {
  /** A resolved strategy (`resolveWindowing`), so the defaults live in one place. */
  readonly windowing: Windowing;
  readonly combine: CombineFn<V, A, O>;
  /** Receives every pane (and, in retracting mode, every merge retraction) as it is produced. */
  readonly emit: (output: StageOutput<O>) => void;
  /**
   * Told of every (element, window) pair the stage drops (L3: the window had expired; G16: its trigger had finished),
   * after it is counted, so a caller can route late data to a side output instead of losing it.
   */
  readonly onDrop?: (element: Element<V>, window: Window, reason: DropReason) => void;
}

/** Why an element was dropped from a window: `late` past its allowed lateness (L3), `closed` trigger finished (G16). */
export type DropReason = 'late' | 'closed';

/** What {@link WindowedAggregation.inspect} shows of one window. */
export interface WindowView {
  readonly key: Value;
  readonly window: Window;
  readonly hold: number | null;
  readonly eowPending: boolean;
  readonly closed: boolean;
  readonly nonEmpty: boolean;
}

type State<A, O> = WindowState<A, O>;

/**
 * One keyed, windowed aggregation stage, run by the reference algorithm of spec §8. The caller drives it with three
 * kinds of rounds: a bundle of elements, a watermark advance and a processing-time advance. Panes go to `emit`;
 * within one round they come out in order of key (as text), then window start, then end.
 *
 * State lives in a {@link WindowStore} (key → window → {@link WindowState}); its window id is the window's start,
 * which identifies a window within a key: fixed and sliding windows of a stage share one size, sessions of a key
 * are disjoint after merging (W7), and there is one global window.
 *
 * End of window, garbage collection and processing-time targets are timers in a {@link TimerQueue}. L5 makes the
 * decision depend on the window's state, not on which timer fired, so the queue only says when to look at a window:
 * each window has one event-time timer at its next decision point, `maxTs` while its end-of-window timer is pending
 * (L4) and `gcTime` otherwise, and a window whose timer is due is handled exactly as §8 says. Every window L5 would
 * act on has a due timer, so no round walks all windows. Processing-time targets (G8) are a second timer per window.
 */
export class WindowedAggregation<V, A, O> {
  private readonly windowing: Windowing;
  private readonly combine: CombineFn<V, A, O>;
  private readonly emit: (output: StageOutput<O>) => void;
  private readonly onDrop: ((element: Element<V>, window: Window, reason: DropReason) => void) | undefined;
  private readonly trigger: TriggerMachine;
  /** The trigger has a watermark part, so pending end-of-window timers hold the output watermark (H3). */
  private readonly eowHolds: boolean;
  private readonly store = new WindowStore<State<A, O>>();
  /** Timers named (key id, window start): per window one event-time timer (its next L5 check) and one target. */
  private readonly timers = new TimerQueue<number, number>();
  private readonly holds = new HoldSet();
  private readonly ctx: TriggerContext;
  private readonly starts: number[] = [];
  /** The windows the current bundle added to, in order of first touch; reused across bundles. */
  private readonly touched: State<A, O>[] = [];
  /** Counts bundles, for {@link WindowState.bundle}. */
  private bundle = 0;
  private inputWM = MIN_TIMESTAMP;
  private now = 0;
  private lateness = 0;
  private closedDrops = 0;
  private noWindow = 0;

  constructor(options: WindowedAggregationOptions<V, A, O>) {
    this.windowing = options.windowing;
    this.combine = options.combine;
    this.emit = options.emit;
    this.onDrop = options.onDrop;
    this.trigger = compileTrigger(options.windowing.trigger);
    this.eowHolds = hasWatermarkPart(options.windowing.trigger);
    this.ctx = { maxTs: 0, inputWM: MIN_TIMESTAMP, now: 0, merging: isMerging(options.windowing.window) };
  }

  get inputWatermark(): number {
    return this.inputWM;
  }

  get processingTime(): number {
    return this.now;
  }

  get counters(): DropCounters {
    return {
      droppedDueToLateness: this.lateness,
      droppedDueToClosedWindow: this.closedDrops,
      droppedNoWindow: this.noWindow,
    };
  }

  /**
   * The state of spec §8 (windows, timers, holds) and the counters, for a snapshot: plain data by the combine
   * function's contract. Scratch arrays and the trigger machine are rebuilt by the constructor.
   */
  snapshot(): unknown {
    const { store, timers, holds, bundle, inputWM, now, lateness, closedDrops, noWindow } = this;
    return { store, timers, holds, bundle, inputWM, now, lateness, closedDrops, noWindow };
  }

  restore(state: unknown): void {
    restoreFields(this, state, 'windowed aggregation');
  }

  /** `min(input watermark, every hold)` over all keys and windows (H6, M3). */
  outputWatermark(): number {
    const held = this.holds.min();
    return held === undefined ? this.inputWM : Math.min(this.inputWM, held);
  }

  /** Adds a bundle at the current watermark and processing time; triggers are evaluated once, after it (G2.1). */
  onBundle(elements: readonly Element<V>[]): void {
    checkTimes(elements);
    const owm = this.outputWatermark();
    this.bundle++;
    const touched = this.touched;
    touched.length = 0;
    const fn = this.windowing.window;
    if (isMerging(fn)) this.addMerging(fn, elements, owm, touched);
    else this.addFixed(elements, owm, touched);
    this.fireReady(touched, owm);
    // Drop the references so that deleted windows can be collected before the next bundle.
    touched.length = 0;
  }

  /** Advances the input watermark (ignored unless it rises, T6) and runs end-of-window and GC handling (L5). */
  onWatermark(wm: number): void {
    if (!isTime(wm)) throw new RangeError(`watermark must be an integer number of ms; got ${wm}`);
    if (wm <= this.inputWM) return;
    this.inputWM = wm;
    const owm = this.outputWatermark();
    for (const s of this.ordered(this.dueStates(this.timers.popEventTime(wm)))) {
      const m = maxTs(s.window);
      if (wm > this.gcTime(m)) {
        if (!s.closed) this.producePane(s, true, owm);
        this.deleteWindow(s);
      } else if (!s.closed && wm > m && s.eowPending) {
        this.setEowPending(s, false);
        this.setContext(s.window);
        if (this.trigger.shouldFire(s.trigger, this.ctx)) this.fire(s, owm);
        this.syncProcessingTimer(s);
      } else {
        this.armEventTimer(s);
      }
    }
  }

  /** Advances processing time (a clock stepping back is clamped, T6) and fires windows whose target is due (G2.3). */
  onProcessingTime(p: number): void {
    if (!isTime(p)) throw new RangeError(`processing time must be an integer number of ms; got ${p}`);
    this.now = Math.max(this.now, p);
    const owm = this.outputWatermark();
    const due = this.dueStates(this.timers.popProcessingTime(this.now));
    for (const s of due) s.ptTimer = null;
    // Expired windows ignore their processing-time timers (G8); they are collected at the next watermark.
    for (const s of due) if (this.gcTime(maxTs(s.window)) < this.inputWM) due.delete(s);
    this.fireReady([...due], owm);
  }

  /**
   * Fires the open windows whose trigger is ready, in output order, then re-arms their processing-time timers.
   * Readiness is decided for all of them before any fires: windows share nothing within a round, so this equals
   * deciding one by one, and only the windows that fire need sorting.
   */
  private fireReady(candidates: readonly State<A, O>[], owm: number): void {
    const ready: State<A, O>[] = [];
    for (const s of candidates) {
      if (s.closed) continue;
      this.setContext(s.window);
      if (this.trigger.shouldFire(s.trigger, this.ctx)) ready.push(s);
    }
    for (const s of this.ordered(ready)) {
      this.setContext(s.window);
      this.fire(s, owm);
    }
    for (const s of candidates) this.syncProcessingTimer(s);
  }

  /** A view of every stored window (open or closed), for tests and diagnostics. */
  inspect(): WindowView[] {
    const out: WindowView[] = [];
    for (const entry of this.store.keys()) {
      for (const s of entry.windows.values()) {
        const { window, hold, eowPending, closed, nonEmpty } = s;
        out.push({ key: entry.key, window, hold, eowPending, closed, nonEmpty });
      }
    }
    return out;
  }

  // --- adding elements ---------------------------------------------------------------------------------------

  /**
   * Fixed, sliding and global windows: elements go straight to their windows, in bundle order. §8 walks keys in order
   * of first appearance; without merging, keys share nothing within a round (hold decisions use the round's output
   * watermark), so the order of adds does not matter.
   */
  private addFixed(elements: readonly Element<V>[], owm: number, touched: State<A, O>[]): void {
    let lastKey: Value | undefined;
    let entry: KeyWindows<State<A, O>> | undefined;
    for (const e of elements) {
      const n = this.assign(e.time);
      if (n === 0) this.noWindow++;
      for (let j = 0; j < n; j++) {
        const start = this.starts[j];
        if (this.expired(start)) {
          this.lateness++;
          this.onDrop?.(e, this.windowAt(start), 'late');
          continue;
        }
        if (entry === undefined || e.key !== lastKey) {
          entry = this.store.entry(e.key);
          lastKey = e.key;
        }
        const s = entry.windows.get(start) ?? this.createWindow(entry, this.windowAt(start));
        this.add(s, e, owm, touched);
      }
    }
  }

  /** Sessions: per key, in order of first appearance, merge once and then add (W7). */
  private addMerging(fn: SessionWindows, elements: readonly Element<V>[], owm: number, touched: State<A, O>[]): void {
    const byKey = new Map<KeyWindows<State<A, O>>, Element<V>[]>();
    for (const e of elements) {
      const entry = this.store.entry(e.key);
      const list = byKey.get(entry);
      if (list === undefined) byKey.set(entry, [e]);
      else list.push(e);
    }
    for (const [entry, keyElements] of byKey) {
      const kept = keyElements.filter((e) => {
        if (!this.expired(e.time)) return true;
        this.lateness++;
        this.onDrop?.(e, interval(e.time, e.time + fn.gap), 'late');
        return false;
      });
      const target = this.mergeKey(
        entry,
        kept.map((e) => interval(e.time, e.time + fn.gap)),
      );
      for (const e of kept) {
        const w = target.get(e.time) ?? interval(e.time, e.time + fn.gap);
        const s = entry.windows.get(windowStart(w)) ?? this.createWindow(entry, w);
        this.add(s, e, owm, touched);
      }
      this.store.dropIfEmpty(entry);
    }
  }

  private add(s: State<A, O>, e: Element<V>, owm: number, touched: State<A, O>[]): void {
    if (s.closed) {
      this.closedDrops++;
      this.onDrop?.(e, s.window, 'closed');
      return;
    }
    s.acc = this.combine.add(s.acc, e.value);
    s.nonEmpty = true;
    this.addElementHold(s, e.time, owm);
    if (this.inputWM <= maxTs(s.window)) this.setEowPending(s, true);
    this.setContext(s.window);
    this.trigger.onElement(s.trigger, this.ctx);
    if (s.bundle !== this.bundle) {
      s.bundle = this.bundle;
      touched.push(s);
    }
  }

  /** H2: the element's hold, unless it is too late to hold. */
  private addElementHold(s: State<A, O>, t: number, owm: number): void {
    const m = maxTs(s.window);
    const combiner = this.windowing.timestampCombiner;
    const h = combiner === 'end' ? m : t;
    if (h < owm || this.inputWM > m) return;
    if (s.hold === null) this.setHold(s, h);
    else this.setHold(s, combiner === 'latest' ? Math.max(s.hold, h) : Math.min(s.hold, h));
  }

  // --- merging -----------------------------------------------------------------------------------------------

  /**
   * W7–W10: sweeps the key's windows (open and closed) and the proto-windows, merges every group of two or more, and
   * returns where each proto-window's elements go (by proto start; protos in no merge map to themselves).
   */
  private mergeKey(entry: KeyWindows<State<A, O>>, protos: readonly IntervalWindow[]): Map<number, Window> {
    const target = new Map<number, Window>();
    if (protos.length === 0) return target;
    const existing: IntervalWindow[] = [];
    for (const s of entry.windows.values()) if (s.window.kind === 'interval') existing.push(s.window);
    for (const group of mergeSweep([...existing, ...protos])) {
      if (group.length < 2) continue;
      const u = spanAll(group);
      const olds: State<A, O>[] = [];
      for (const w of group) {
        const s = entry.windows.get(w.start);
        if (s !== undefined && sameWindow(s.window, w)) olds.push(s);
      }
      if (olds.length > 0) this.mergeStates(entry, u, olds);
      for (const w of group) target.set(w.start, u);
    }
    return target;
  }

  /** W8, W9: replaces the merged windows' states by one for `u`. */
  private mergeStates(entry: KeyWindows<State<A, O>>, u: IntervalWindow, olds: readonly State<A, O>[]): void {
    const closed = olds.some((s) => s.closed);
    const self = olds.find((s) => sameWindow(s.window, u));
    const hold = closed ? null : mergedHold(this.windowing.timestampCombiner, u, olds);
    this.setContext(u);
    const merged: State<A, O> = {
      keyId: entry.id,
      window: u,
      acc: closed ? this.combine.create() : this.combine.merge(olds.map((s) => s.acc)),
      nonEmpty: !closed && olds.some((s) => s.nonEmpty),
      hold: null,
      eowPending: false,
      trigger: this.trigger.onMerge(
        olds.map((s) => s.trigger),
        this.ctx,
      ),
      closed,
      // A merge result that is a new window starts with no pane history (W9).
      prev: self?.prev ?? null,
      last: self?.last ?? null,
      retractions: mergeRetractions(entry.key, olds, self),
      ptTimer: null,
      bundle: 0,
    };
    for (const s of olds) this.detach(s);
    this.store.set(entry, u.start, merged);
    for (const s of olds) if (windowStart(s.window) !== u.start) this.store.delete(entry, windowStart(s.window));
    if (!closed) {
      this.setHold(merged, hold);
      this.setEowPending(merged, this.inputWM <= maxTs(u));
    }
    this.armEventTimer(merged);
    this.syncProcessingTimer(merged);
  }

  // --- firing ------------------------------------------------------------------------------------------------

  /** G3, A1–A4. */
  private fire(s: State<A, O>, owm: number): void {
    const finished = this.trigger.onFire(s.trigger, this.ctx);
    this.producePane(s, finished, owm);
    s.nonEmpty = false;
    if (finished || this.windowing.accumulation === 'discarding') s.acc = this.combine.create();
    if (finished) this.close(s);
  }

  /** H4, P2, A5: makes the pane and emits it if it has new elements or is `ON_TIME`. */
  private producePane(s: State<A, O>, isFinal: boolean, owm: number): void {
    const m = maxTs(s.window);
    const timestamp = s.hold !== null && s.hold <= m ? s.hold : m;
    this.setHold(s, null);
    const info = describePane(m, s.prev, isFinal, this.inputWM, owm);
    if (!s.nonEmpty && info.timing !== 'ON_TIME') return;
    this.flushRetractions(s);
    const value = this.combine.extract(s.acc);
    const key = this.keyOf(s);
    const base = { kind: 'pane', key, window: s.window, value, timestamp, ...info } as const;
    const retracting = this.windowing.accumulation === 'retracting';
    const pane: Pane<O> = retracting && s.last !== null ? { ...base, retraction: s.last.value } : base;
    this.emit(pane);
    s.prev = info;
    if (retracting) s.last = { value };
  }

  /** G16: the window keeps only a closed marker (and its GC timer) until its GC time. */
  private close(s: State<A, O>): void {
    s.closed = true;
    s.acc = this.combine.create();
    this.setHold(s, null);
    this.setEowPending(s, false);
  }

  private flushRetractions(s: State<A, O>): void {
    const pending: readonly MergeRetraction<O>[] = s.retractions;
    s.retractions = [];
    for (const r of pending) this.emit(r);
  }

  // --- bookkeeping of holds, timers and the store -------------------------------------------------------------

  private setHold(s: State<A, O>, h: number | null): void {
    if (s.hold === h) return;
    if (s.hold !== null) this.holds.remove(s.hold);
    s.hold = h;
    if (h !== null) this.holds.add(h);
  }

  /** L4 and H3: the end-of-window timer, which is also an output-watermark hold under watermark triggers. */
  private setEowPending(s: State<A, O>, pending: boolean): void {
    if (s.eowPending === pending) return;
    s.eowPending = pending;
    if (this.eowHolds) {
      if (pending) this.holds.add(maxTs(s.window));
      else this.holds.remove(maxTs(s.window));
    }
    this.armEventTimer(s);
  }

  /** The window's next L5 decision point: `maxTs` while the end-of-window timer is pending, else `gcTime`. */
  private armEventTimer(s: State<A, O>): void {
    const m = maxTs(s.window);
    this.timers.set('eventTime', s.keyId, windowStart(s.window), s.eowPending ? m : this.gcTime(m));
  }

  /** Keeps the window's processing-time timer at its trigger's earliest target (G8). */
  private syncProcessingTimer(s: State<A, O>): void {
    const target = s.closed ? null : this.trigger.target(s.trigger);
    if (target === s.ptTimer) return;
    if (target === null) this.timers.cancel('processingTime', s.keyId, windowStart(s.window));
    else this.timers.set('processingTime', s.keyId, windowStart(s.window), target);
    s.ptTimer = target;
  }

  private createWindow(entry: KeyWindows<State<A, O>>, window: Window): State<A, O> {
    const s: State<A, O> = {
      keyId: entry.id,
      window,
      acc: this.combine.create(),
      nonEmpty: false,
      hold: null,
      eowPending: false,
      trigger: this.trigger.init(),
      closed: false,
      prev: null,
      last: null,
      retractions: [],
      ptTimer: null,
      bundle: 0,
    };
    this.store.set(entry, windowStart(window), s);
    this.armEventTimer(s);
    return s;
  }

  /** Releases a window's holds and timers (when it is merged away or deleted). */
  private detach(s: State<A, O>): void {
    this.setHold(s, null);
    // Not setEowPending(s, false): that re-arms the event-time timer (a heap move) just before it is cancelled here.
    if (s.eowPending) {
      s.eowPending = false;
      if (this.eowHolds) this.holds.remove(maxTs(s.window));
    }
    this.timers.cancel('eventTime', s.keyId, windowStart(s.window));
    this.timers.cancel('processingTime', s.keyId, windowStart(s.window));
    s.ptTimer = null;
  }

  /** L5.1: all of the window's state goes, its closed marker and pane history included. */
  private deleteWindow(s: State<A, O>): void {
    // Retractions of windows merged into one that never emitted again still have to reach the consumer (Q7).
    this.flushRetractions(s);
    this.detach(s);
    const entry = this.store.byId(s.keyId);
    if (entry !== undefined) this.store.delete(entry, windowStart(s.window));
  }

  // --- windows, times and order ------------------------------------------------------------------------------

  /** Writes the starts of the windows of `t` into `this.starts`; the global window's id is MIN_TIMESTAMP. */
  private assign(t: number): number {
    const fn = this.windowing.window;
    if (fn.kind === 'global') {
      this.starts[0] = MIN_TIMESTAMP;
      return 1;
    }
    return assignStarts(fn, t, this.starts);
  }

  /** The window (proto-window for sessions) starting at `start`. */
  private windowAt(start: number): Window {
    const fn = this.windowing.window;
    return fn.kind === 'global' ? GLOBAL_WINDOW : interval(start, start + windowLength(fn));
  }

  /** L2: `maxTs + allowedLateness`, capped at GLOBAL_MAX. */
  private gcTime(m: number): number {
    const lateness = this.windowing.allowedLateness;
    return m > GLOBAL_MAX - lateness ? GLOBAL_MAX : m + lateness;
  }

  /** L3, strict: the window starting at `start` (the proto-window, for sessions) is expired. */
  private expired(start: number): boolean {
    const fn = this.windowing.window;
    const m = fn.kind === 'global' ? GLOBAL_MAX : start + windowLength(fn) - 1;
    return this.gcTime(m) < this.inputWM;
  }

  private setContext(w: Window): void {
    this.ctx.maxTs = maxTs(w);
    this.ctx.inputWM = this.inputWM;
    this.ctx.now = this.now;
  }

  private keyOf(s: State<A, O>): Value {
    const entry = this.store.byId(s.keyId);
    if (entry === undefined) throw new Error(`window ${JSON.stringify(s.window)} belongs to no stored key`);
    return entry.key;
  }

  private dueStates(due: readonly Timer<number, number>[]): Set<State<A, O>> {
    const out = new Set<State<A, O>>();
    for (const t of due) {
      const s = this.store.byId(t.key)?.windows.get(t.id);
      if (s !== undefined) out.add(s);
    }
    return out;
  }

  /** Output order within a round: key (as text, by code unit), then window start, then end. */
  private ordered(states: Iterable<State<A, O>>): State<A, O>[] {
    // Grouped by key text, the distinct texts sorted, then each group stably by window: the same order as one stable
    // sort by (text, window), but the end of a bounded input (every window at once) sorts a few thousand key texts
    // and many short, already nearly ordered runs instead of comparing strings across all windows.
    const byText = new Map<string, State<A, O>[]>();
    for (const s of states) {
      const text = this.store.byId(s.keyId)?.text ?? '';
      const group = byText.get(text);
      if (group === undefined) byText.set(text, [s]);
      else group.push(s);
    }
    const texts = [...byText.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out: State<A, O>[] = [];
    for (const text of texts) {
      const group = byText.get(text) as State<A, O>[];
      if (group.length > 1) group.sort((a, b) => compareWindows(a.window, b.window));
      for (const s of group) out.push(s);
    }
    return out;
  }
}

function checkTimes(elements: readonly Element<unknown>[]): void {
  for (let i = 0; i < elements.length; i++) {
    const t = elements[i].time;
    if (!isElementTimestamp(t)) {
      throw new RangeError(
        `elements[${i}].time: must be an integer number of ms in [MIN_TIMESTAMP, GLOBAL_MAX] (T4); got ${t}`,
      );
    }
  }
}
