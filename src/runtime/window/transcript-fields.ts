import type { Value } from '../../expr/types.ts';

/**
 * Readers for transcript JSON: each checks one value and, when it is wrong, throws a {@link TranscriptError} naming
 * the field by its path (`steps[3].elements[0].time`).
 */

export type Json = Value;
export type JsonObject = { readonly [k: string]: Json };

/** An invalid transcript (the CLI exits 2); `field` is the path of the offending field, e.g. `steps[3].watermark`. */
export class TranscriptError extends Error {
  override readonly name = 'TranscriptError';

  constructor(
    readonly field: string,
    readonly detail: string,
  ) {
    super(`${field}: ${detail}`);
  }
}

export function parseJson(textValue: string): Json {
  try {
    return JSON.parse(textValue) as Json;
  } catch (e) {
    throw new TranscriptError('(file)', `not valid JSON: ${(e as Error).message}`);
  }
}

export function object(v: Json | undefined, path: string): JsonObject {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new TranscriptError(path, 'must be an object');
  return v as JsonObject;
}

export function array(v: Json | undefined, path: string): readonly Json[] {
  if (!Array.isArray(v)) throw new TranscriptError(path, 'must be an array');
  return v;
}

export function only(o: JsonObject, allowed: readonly string[], path: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) {
      throw new TranscriptError(
        path === '' ? k : `${path}.${k}`,
        `unknown field (expected one of ${allowed.join(', ')})`,
      );
    }
  }
}

export function required(o: JsonObject, field: string, path: string): Json {
  const v = o[field];
  if (v === undefined) throw new TranscriptError(path === '' ? field : `${path}.${field}`, 'is required');
  return v;
}

export function text(v: Json, path: string): string {
  if (typeof v !== 'string') throw new TranscriptError(path, 'must be a string');
  return v;
}

export function bool(v: Json, path: string): boolean {
  if (typeof v !== 'boolean') throw new TranscriptError(path, 'must be true or false');
  return v;
}

export function int(v: Json, path: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new TranscriptError(path, `must be an integer (ms); got ${JSON.stringify(v)}`);
  }
  return v;
}

export function atLeast(v: Json, path: string, min: number): number {
  const n = int(v, path);
  if (n < min) throw new TranscriptError(path, `must be ≥ ${min}; got ${n}`);
  return n;
}

/** A duration in a transcript: integer milliseconds only (duration text is for code, not for transcripts). */
export function ms(v: Json, path: string): number {
  return int(v, path);
}

export function msField(o: JsonObject, field: string, path: string): number {
  return ms(required(o, field, path), `${path}.${field}`);
}

export function optionalMs(o: JsonObject, field: string, path: string): number {
  return o[field] === undefined ? 0 : ms(o[field], `${path}.${field}`);
}

export function keyOf(v: Json, path: string): Value {
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    throw new TranscriptError(path, 'must be a string, a number or a boolean');
  }
  return v;
}

export function oneOf<const T extends string>(v: Json, path: string, options: readonly T[]): T {
  const found = options.find((o) => o === v);
  if (found === undefined) {
    throw new TranscriptError(
      path,
      `must be one of ${options.map((o) => JSON.stringify(o)).join(', ')}; got ${JSON.stringify(v)}`,
    );
  }
  return found;
}
