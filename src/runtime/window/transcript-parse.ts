import type { Value } from '../../expr/types.ts';
import { unreachable, WindowingError } from '../../time/invalid.ts';
import { isElementTimestamp, MAX_TIMESTAMP, MIN_TIMESTAMP } from '../../time/timestamps.ts';
import {
  afterAll,
  afterCount,
  afterEach,
  afterFirst,
  afterProcessingTime,
  afterWatermark,
  defaultTrigger,
  never,
  orFinally,
  repeatedly,
  type Trigger,
} from '../../time/triggers.ts';
import { type Accumulation, resolveWindowing, type TimestampCombiner } from '../../time/windowing.ts';
import { fixed, global, sessions, sliding, type WindowFn } from '../../time/windows.ts';
import {
  array,
  atLeast,
  bool,
  int,
  type Json,
  type JsonObject,
  keyOf,
  ms,
  msField,
  object,
  oneOf,
  only,
  optionalMs,
  parseJson,
  required,
  TranscriptError,
  text,
} from './transcript-fields.ts';
import type { Element } from './types.ts';

export { TranscriptError } from './transcript-fields.ts';

/** The combine functions a transcript can name (§10). */
export type TranscriptCombine = 'sum' | 'count' | 'list';

export type Step =
  | { readonly kind: 'watermark'; readonly at: number }
  | { readonly kind: 'processingTime'; readonly at: number }
  | { readonly kind: 'elements'; readonly elements: readonly Element<Value>[] };

/**
 * A pane as transcripts write it (§10): interval windows as `[start, end]`, the global window as `"global"`. A merge
 * retraction (Q7) has only `key`, `window` and `retraction`. In an `expect` list every field is optional: a field left
 * out is not compared.
 */
export interface TranscriptPane {
  readonly key?: Value;
  readonly window?: readonly [number, number] | 'global';
  readonly value?: Value;
  readonly retraction?: Value;
  readonly timestamp?: number;
  readonly timing?: 'EARLY' | 'ON_TIME' | 'LATE';
  readonly index?: number;
  readonly onTimeIndex?: number;
  readonly isFirst?: boolean;
  readonly isLast?: boolean;
}

/** A parsed, validated transcript: one keyed, windowed aggregation stage, a scripted input, the expected panes. */
export interface Transcript {
  readonly name: string;
  readonly description?: string;
  readonly ordered: boolean;
  readonly window: WindowFn;
  readonly trigger: Trigger;
  readonly allowedLateness: number;
  readonly accumulation: Accumulation;
  readonly timestampCombiner: TimestampCombiner;
  readonly combine: TranscriptCombine;
  readonly steps: readonly Step[];
  readonly expect: readonly TranscriptPane[];
}

const TOP_FIELDS = [
  'name',
  'description',
  'ordered',
  'window',
  'trigger',
  'allowedLateness',
  'accumulation',
  'timestampCombiner',
  'combine',
  'steps',
  'expect',
];
const PANE_FIELDS = [
  'key',
  'window',
  'value',
  'retraction',
  'timestamp',
  'timing',
  'index',
  'onTimeIndex',
  'isFirst',
  'isLast',
];

/** Parses and validates a transcript, given as JSON text or as the parsed JSON value. */
export function parseTranscript(json: unknown): Transcript {
  const root = object(typeof json === 'string' ? parseJson(json) : (json as Json), '(file)');
  only(root, TOP_FIELDS, '');
  const name = text(required(root, 'name', ''), 'name');
  const window = windowFn(required(root, 'window', ''));
  const trigger = root.trigger === undefined ? defaultTrigger() : triggerOf(root.trigger, 'trigger');
  const windowing = windowingOf(root, window, trigger);
  const combine = oneOf(required(root, 'combine', ''), 'combine', ['sum', 'count', 'list'] as const);
  return {
    name,
    ...(root.description === undefined ? {} : { description: text(root.description, 'description') }),
    ordered: root.ordered === undefined ? false : bool(root.ordered, 'ordered'),
    ...windowing,
    combine,
    steps: steps(required(root, 'steps', ''), combine),
    expect: array(required(root, 'expect', ''), 'expect').map((p, i) => expectedPane(p, `expect[${i}]`)),
  };
}

function windowingOf(root: JsonObject, window: WindowFn, trigger: Trigger) {
  const accumulation = root.accumulation;
  const combiner = root.timestampCombiner;
  return fromModel('', () =>
    resolveWindowing({
      window,
      trigger,
      allowedLateness: root.allowedLateness === undefined ? 0 : ms(root.allowedLateness, 'allowedLateness'),
      ...(accumulation === undefined
        ? {}
        : { accumulation: oneOf(accumulation, 'accumulation', ['discarding', 'accumulating', 'retracting'] as const) }),
      ...(combiner === undefined
        ? {}
        : { timestampCombiner: oneOf(combiner, 'timestampCombiner', ['end', 'earliest', 'latest'] as const) }),
    }),
  );
}

function windowFn(v: Json): WindowFn {
  const o = object(v, 'window');
  const type = oneOf(required(o, 'type', 'window'), 'window.type', ['fixed', 'sliding', 'session', 'global'] as const);
  switch (type) {
    case 'fixed':
      only(o, ['type', 'size', 'offset'], 'window');
      return fromModel('window', () => fixed(msField(o, 'size', 'window'), optionalMs(o, 'offset', 'window')));
    case 'sliding':
      only(o, ['type', 'size', 'period', 'offset'], 'window');
      return fromModel('window', () =>
        sliding(msField(o, 'size', 'window'), msField(o, 'period', 'window'), optionalMs(o, 'offset', 'window')),
      );
    case 'session':
      only(o, ['type', 'gap'], 'window');
      return fromModel('window', () => sessions(msField(o, 'gap', 'window')));
    case 'global':
      only(o, ['type'], 'window');
      return global();
    default:
      return unreachable(type);
  }
}

function triggerOf(v: Json, path: string): Trigger {
  const o = object(v, path);
  const kinds = [
    'default',
    'afterWatermark',
    'afterProcessingTime',
    'afterCount',
    'repeatedly',
    'afterEach',
    'afterFirst',
    'afterAll',
    'orFinally',
    'never',
  ] as const;
  const type = oneOf(required(o, 'type', path), `${path}.type`, kinds);
  const sub = (field: string) => triggerOf(required(o, field, path), `${path}.${field}`);
  const subs = (field: string) =>
    array(required(o, field, path), `${path}.${field}`).map((t, i) => triggerOf(t, `${path}.${field}[${i}]`));
  switch (type) {
    case 'default':
    case 'never':
      only(o, ['type'], path);
      return type === 'default' ? defaultTrigger() : never();
    case 'afterWatermark':
      only(o, ['type', 'early', 'late'], path);
      return afterWatermark({
        ...(o.early === undefined ? {} : { early: sub('early') }),
        ...(o.late === undefined ? {} : { late: sub('late') }),
      });
    case 'afterProcessingTime':
      only(o, ['type', 'delay', 'alignSize', 'alignOffset'], path);
      return fromModel(path, () =>
        afterProcessingTime(msField(o, 'delay', path), {
          ...(o.alignSize === undefined ? {} : { alignSize: msField(o, 'alignSize', path) }),
          ...(o.alignOffset === undefined ? {} : { alignOffset: msField(o, 'alignOffset', path) }),
        }),
      );
    case 'afterCount':
      only(o, ['type', 'count'], path);
      return fromModel(path, () => afterCount(int(required(o, 'count', path), `${path}.count`)));
    case 'repeatedly':
      only(o, ['type', 'trigger'], path);
      return repeatedly(sub('trigger'));
    case 'afterEach':
    case 'afterFirst':
    case 'afterAll': {
      only(o, ['type', 'triggers'], path);
      const make = { afterEach, afterFirst, afterAll }[type];
      return fromModel(path, () => make(...subs('triggers')));
    }
    case 'orFinally':
      only(o, ['type', 'trigger', 'until'], path);
      return orFinally(sub('trigger'), sub('until'));
    default:
      return unreachable(type);
  }
}

function steps(v: Json, combine: TranscriptCombine): Step[] {
  let wm = MIN_TIMESTAMP;
  let now = 0;
  return array(v, 'steps').map((raw, i): Step => {
    const path = `steps[${i}]`;
    const o = object(raw, path);
    const present = ['watermark', 'processingTime', 'elements'].filter((f) => o[f] !== undefined);
    only(o, ['watermark', 'processingTime', 'elements'], path);
    if (present.length !== 1) {
      throw new TranscriptError(path, 'must have exactly one of watermark, processingTime, elements');
    }
    if (o.watermark !== undefined) {
      const at = o.watermark === 'inf' ? MAX_TIMESTAMP : int(o.watermark, `${path}.watermark`);
      if (at < MIN_TIMESTAMP) throw new TranscriptError(`${path}.watermark`, `must be ≥ MIN_TIMESTAMP; got ${at}`);
      if (at < wm) throw new TranscriptError(`${path}.watermark`, `lowers the watermark from ${wm} to ${at} (§10)`);
      wm = at;
      return { kind: 'watermark', at };
    }
    if (o.processingTime !== undefined) {
      const at = int(o.processingTime, `${path}.processingTime`);
      if (at < now) throw new TranscriptError(`${path}.processingTime`, `lowers processing time from ${now} to ${at}`);
      now = at;
      return { kind: 'processingTime', at };
    }
    const elements = array(o.elements, `${path}.elements`).map((e, j) => element(e, `${path}.elements[${j}]`, combine));
    return { kind: 'elements', elements };
  });
}

function element(v: Json, path: string, combine: TranscriptCombine): Element<Value> {
  const o = object(v, path);
  only(o, ['key', 'value', 'time'], path);
  const key = keyOf(required(o, 'key', path), `${path}.key`);
  const value = required(o, 'value', path);
  if (combine === 'sum' && typeof value !== 'number') {
    throw new TranscriptError(`${path}.value`, `must be a number for combine "sum"; got ${JSON.stringify(value)}`);
  }
  if (combine === 'list' && typeof value !== 'number' && typeof value !== 'string') {
    throw new TranscriptError(`${path}.value`, `must be a number or a string for combine "list"`);
  }
  const time = int(required(o, 'time', path), `${path}.time`);
  if (!isElementTimestamp(time)) {
    throw new TranscriptError(`${path}.time`, `must lie in [MIN_TIMESTAMP, GLOBAL_MAX] (T4); got ${time}`);
  }
  return { key, value, time };
}

function expectedPane(v: Json, path: string): TranscriptPane {
  const o = object(v, path);
  only(o, PANE_FIELDS, path);
  const f = (name: string) => `${path}.${name}`;
  return {
    ...(o.key === undefined ? {} : { key: keyOf(o.key, f('key')) }),
    ...(o.window === undefined ? {} : { window: expectedWindow(o.window, f('window')) }),
    ...(o.value === undefined ? {} : { value: o.value }),
    ...(o.retraction === undefined ? {} : { retraction: o.retraction }),
    ...(o.timestamp === undefined ? {} : { timestamp: int(o.timestamp, f('timestamp')) }),
    ...(o.timing === undefined ? {} : { timing: oneOf(o.timing, f('timing'), ['EARLY', 'ON_TIME', 'LATE'] as const) }),
    ...(o.index === undefined ? {} : { index: atLeast(o.index, f('index'), 0) }),
    ...(o.onTimeIndex === undefined ? {} : { onTimeIndex: atLeast(o.onTimeIndex, f('onTimeIndex'), -1) }),
    ...(o.isFirst === undefined ? {} : { isFirst: bool(o.isFirst, f('isFirst')) }),
    ...(o.isLast === undefined ? {} : { isLast: bool(o.isLast, f('isLast')) }),
  };
}

function expectedWindow(v: Json, path: string): readonly [number, number] | 'global' {
  if (v === 'global') return 'global';
  const a = array(v, path);
  if (a.length !== 2) throw new TranscriptError(path, 'must be [start, end] or "global"');
  const start = int(a[0], `${path}[0]`);
  const end = int(a[1], `${path}[1]`);
  if (!(start < end)) throw new TranscriptError(path, `needs start < end (W1); got [${start}, ${end}]`);
  return [start, end];
}

/** Runs a model factory, turning its errors into transcript errors under `parent`. */
function fromModel<T>(parent: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (!(e instanceof WindowingError)) throw e;
    throw new TranscriptError(parent === '' ? e.field : `${parent}.${e.field}`, e.detail);
  }
}
