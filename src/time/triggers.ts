import { type Duration, durationMs, positiveMs, unreachable, WindowingError } from './invalid.ts';

/**
 * Triggers as descriptions (spec §3): plain, serialisable values saying *when* a window's panes are produced. They
 * hold no state and react to nothing; the runner translates a description into a per-(key, window) state machine
 * (`runtime/window/triggers.ts`). Names follow the transcript format (G4).
 */
export type Trigger =
  | DefaultTrigger
  | AfterWatermark
  | AfterProcessingTime
  | AfterCount
  | Repeatedly
  | AfterEach
  | AfterFirst
  | AfterAll
  | OrFinally
  | Never;

/** `repeatedly(afterWatermark())`: fires when the watermark passes the end of the window, and for late data (G5). */
export interface DefaultTrigger {
  readonly kind: 'default';
}

/** Fires once at the end of the window, with optional repeating early and late firings (G6, G7). */
export interface AfterWatermark {
  readonly kind: 'afterWatermark';
  readonly early?: Trigger;
  readonly late?: Trigger;
}

/** Fires once processing time reaches `delay` after the first element of the pane, optionally aligned (G8). */
export interface AfterProcessingTime {
  readonly kind: 'afterProcessingTime';
  readonly delay: number;
  readonly alignSize?: number;
  readonly alignOffset: number;
}

/** Fires once the pane holds at least `count` elements (G9). */
export interface AfterCount {
  readonly kind: 'afterCount';
  readonly count: number;
}

/** Fires whenever `trigger` would, restarting it each time it finishes; never finishes itself (G10). */
export interface Repeatedly {
  readonly kind: 'repeatedly';
  readonly trigger: Trigger;
}

/** Runs the subtriggers one after the other (G11). */
export interface AfterEach {
  readonly kind: 'afterEach';
  readonly triggers: readonly Trigger[];
}

/** Fires once, as soon as any subtrigger would (G12). */
export interface AfterFirst {
  readonly kind: 'afterFirst';
  readonly triggers: readonly Trigger[];
}

/** Fires once, when every subtrigger would (G13). */
export interface AfterAll {
  readonly kind: 'afterAll';
  readonly triggers: readonly Trigger[];
}

/** Fires as `trigger` does until `until` fires, which fires a last time and finishes (G14). */
export interface OrFinally {
  readonly kind: 'orFinally';
  readonly trigger: Trigger;
  readonly until: Trigger;
}

/** Never fires: the window yields only its final pane at GC time (G15). */
export interface Never {
  readonly kind: 'never';
}

export function defaultTrigger(): DefaultTrigger {
  return { kind: 'default' };
}

export function afterWatermark(options: { readonly early?: Trigger; readonly late?: Trigger } = {}): AfterWatermark {
  return {
    kind: 'afterWatermark',
    ...(options.early === undefined ? {} : { early: options.early }),
    ...(options.late === undefined ? {} : { late: options.late }),
  };
}

/**
 * `delay` after the pane's first element, in processing time. With `alignSize`, the target is rounded up to the next
 * instant `≡ alignOffset (mod alignSize)` (G8).
 */
export function afterProcessingTime(
  delay: Duration,
  options: { readonly alignSize?: Duration; readonly alignOffset?: Duration } = {},
): AfterProcessingTime {
  const delayMs = durationMs('delay', delay);
  if (delayMs < 0) throw new WindowingError('delay', `must be ≥ 0 (G8); got ${delayMs}`);
  const alignOffset = durationMs('alignOffset', options.alignOffset ?? 0);
  if (options.alignSize === undefined) {
    if (alignOffset !== 0) throw new WindowingError('alignOffset', 'needs alignSize (G8)');
    return { kind: 'afterProcessingTime', delay: delayMs, alignOffset };
  }
  const alignSize = positiveMs('alignSize', options.alignSize, 'G8');
  return { kind: 'afterProcessingTime', delay: delayMs, alignSize, alignOffset };
}

export function afterCount(count: number): AfterCount {
  if (!Number.isSafeInteger(count) || count < 1) {
    throw new WindowingError('count', `must be an integer ≥ 1 (G9); got ${count}`);
  }
  return { kind: 'afterCount', count };
}

export function repeatedly(trigger: Trigger): Repeatedly {
  return { kind: 'repeatedly', trigger };
}

export function afterEach(...triggers: Trigger[]): AfterEach {
  return { kind: 'afterEach', triggers: atLeastOne(triggers, 'G11') };
}

export function afterFirst(...triggers: Trigger[]): AfterFirst {
  return { kind: 'afterFirst', triggers: atLeastOne(triggers, 'G12') };
}

export function afterAll(...triggers: Trigger[]): AfterAll {
  return { kind: 'afterAll', triggers: atLeastOne(triggers, 'G13') };
}

export function orFinally(trigger: Trigger, until: Trigger): OrFinally {
  return { kind: 'orFinally', trigger, until };
}

export function never(): Never {
  return { kind: 'never' };
}

function atLeastOne(triggers: readonly Trigger[], rule: string): readonly Trigger[] {
  if (triggers.length === 0) throw new WindowingError('triggers', `needs at least one subtrigger (${rule})`);
  return [...triggers];
}

/** The direct subtriggers of a trigger. */
export function subtriggers(t: Trigger): readonly Trigger[] {
  switch (t.kind) {
    case 'default':
    case 'afterProcessingTime':
    case 'afterCount':
    case 'never':
      return [];
    case 'afterWatermark':
      return [t.early, t.late].filter((x): x is Trigger => x !== undefined);
    case 'repeatedly':
      return [t.trigger];
    case 'afterEach':
    case 'afterFirst':
    case 'afterAll':
      return t.triggers;
    case 'orFinally':
      return [t.trigger, t.until];
    default:
      return unreachable(t);
  }
}

/** Whether the trigger contains `default` or `afterWatermark`: such windows hold the output watermark (H3, §8). */
export function hasWatermarkPart(t: Trigger): boolean {
  return t.kind === 'default' || t.kind === 'afterWatermark' || subtriggers(t).some(hasWatermarkPart);
}

/** The trigger as code would write it, for errors and diffs. */
export function formatTrigger(t: Trigger): string {
  switch (t.kind) {
    case 'default':
    case 'never':
      return `${t.kind}()`;
    case 'afterWatermark': {
      const parts = [
        ...(t.early === undefined ? [] : [`early: ${formatTrigger(t.early)}`]),
        ...(t.late === undefined ? [] : [`late: ${formatTrigger(t.late)}`]),
      ];
      return `afterWatermark(${parts.length === 0 ? '' : `{ ${parts.join(', ')} }`})`;
    }
    case 'afterProcessingTime':
      return t.alignSize === undefined
        ? `afterProcessingTime(${t.delay})`
        : `afterProcessingTime(${t.delay}, { alignSize: ${t.alignSize}, alignOffset: ${t.alignOffset} })`;
    case 'afterCount':
      return `afterCount(${t.count})`;
    case 'repeatedly':
      return `repeatedly(${formatTrigger(t.trigger)})`;
    case 'afterEach':
    case 'afterFirst':
    case 'afterAll':
      return `${t.kind}(${t.triggers.map(formatTrigger).join(', ')})`;
    case 'orFinally':
      return `orFinally(${formatTrigger(t.trigger)}, ${formatTrigger(t.until)})`;
    default:
      return unreachable(t);
  }
}
