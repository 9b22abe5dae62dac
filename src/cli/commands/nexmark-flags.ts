import type { Command } from 'commander';
import type { GeneratorOptions } from '../../nexmark/generator.ts';
import { parseTimestamp } from '../../runtime/scalars.ts';

/** A bad flag value: exits 2 with one line. */
export class UsageError extends Error {}

/** The generator's options as flags (strings until parsed). */
export interface GeneratorFlags {
  readonly events?: string;
  readonly rate?: string;
  readonly baseTime?: string;
  readonly seed?: string;
  readonly outOfOrder?: string;
}

/** Adds the generator flags; `--events` is required unless the command can read an export instead. */
export function generatorFlags(cmd: Command, eventsRequired: boolean): Command {
  const events = '-n, --events <N>';
  const what = 'number of events to generate';
  return (eventsRequired ? cmd.requiredOption(events, what) : cmd.option(events, what))
    .option('--rate <R>', 'events per second of event time (default 10000)')
    .option('--base-time <ISO>', 'event time of the first event (default 2026-01-01T00:00:00Z)')
    .option('--seed <S>', 'seed of every random choice (default 0)')
    .option('--out-of-order <G>', 'shuffle positions within blocks of G events (default 1: in order)');
}

export function parseGeneratorFlags(f: GeneratorFlags, needEvents: boolean): GeneratorOptions {
  if (needEvents && f.events === undefined) throw new UsageError('give --events N (or --in FILE to read an export)');
  const events = f.events === undefined ? 0 : count('--events', f.events, 1);
  const out: { -readonly [K in keyof GeneratorOptions]: GeneratorOptions[K] } = { events };
  if (f.rate !== undefined) out.rate = count('--rate', f.rate, 1);
  if (f.seed !== undefined) out.seed = count('--seed', f.seed, 0);
  if (f.outOfOrder !== undefined) out.outOfOrder = count('--out-of-order', f.outOfOrder, 1);
  if (f.baseTime !== undefined) {
    const ms = parseTimestamp(f.baseTime);
    if (ms === undefined)
      throw new UsageError(
        `--base-time takes an ISO 8601 time with a zone, e.g. 2026-01-01T00:00:00Z; got ${f.baseTime}`,
      );
    out.baseTime = ms;
  }
  return out;
}

function count(flag: string, s: string, min: number): number {
  const n = Number(s.replaceAll('_', ''));
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} takes an integer ≥ ${min}, got ${s}`);
  return n;
}
