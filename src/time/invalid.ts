import { parseDuration } from './duration.ts';

/**
 * A windowing declaration that breaks a rule of the spec (W4, W5, W6, L1, G8, G9, …). `field` names the offending
 * field, so that a flow definition or a transcript can point at it; `detail` is the message without the field.
 */
export class WindowingError extends Error {
  override readonly name = 'WindowingError';

  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }

  /** The same error with the field placed under `parent` (`size` becomes `window.size`). */
  under(parent: string): WindowingError {
    return new WindowingError(`${parent}.${this.field}`, this.detail);
  }
}

/** A length of time: integer milliseconds, or duration text such as `'10s'`, `'2m'` or `'1h30m'`. */
export type Duration = number | string;

/** Reads a duration into integer milliseconds, naming `field` when it is neither. */
export function durationMs(field: string, d: Duration): number {
  if (typeof d === 'number') {
    if (!Number.isSafeInteger(d))
      throw new WindowingError(field, `must be an integer number of milliseconds; got ${d}`);
    return d;
  }
  try {
    return parseDuration(d);
  } catch (e) {
    throw new WindowingError(field, (e as Error).message);
  }
}

/** Reads a duration that must be `> 0`. */
export function positiveMs(field: string, d: Duration, rule: string): number {
  const ms = durationMs(field, d);
  if (ms <= 0) throw new WindowingError(field, `must be > 0 (${rule}); got ${ms}`);
  return ms;
}

/** The `default` branch of an exhaustive switch over a tagged union: TypeScript proves it is never reached. */
export function unreachable(x: never): never {
  throw new Error(`unexpected variant ${JSON.stringify(x)}`);
}
