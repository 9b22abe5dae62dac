/**
 * Durations as users write them ('90s', '5m', '1h', '1d', '500ms', '1h30m') and the execution mode an SLA implies.
 */
export type StageMode = 'batch' | 'micro-batch' | 'streaming';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/** Parses a duration into milliseconds; throws an error naming the text and the accepted form. */
export function parseDuration(text: string): number {
  const s = text.trim();
  let total = 0;
  PART.lastIndex = 0;
  let matched = 0;
  while (PART.lastIndex < s.length) {
    const m = PART.exec(s);
    if (m === null) break;
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = PART.lastIndex;
  }
  if (s.length === 0 || matched !== s.length) {
    throw new Error(
      `invalid duration '${text}': write a number and a unit (ms, s, m, h, d, w), e.g. '30s', '5m', '1d'`,
    );
  }
  return Math.round(total);
}

/**
 * Parses an offset in time that may be negative ('-10s', '0s', '+1m30s'), as interval joins bound one side's time
 * relative to the other's; lengths (SLAs, window sizes) keep {@link parseDuration}, which refuses a sign.
 */
export function parseSignedDuration(text: string): number {
  const s = text.trim();
  const negative = s.startsWith('-');
  const body = negative || s.startsWith('+') ? s.slice(1) : s;
  let ms: number;
  try {
    ms = parseDuration(body);
  } catch {
    throw new Error(
      `invalid duration '${text}': write an optional sign, a number and a unit (ms, s, m, h, d, w), e.g. '-10s', '0s', '5m'`,
    );
  }
  // No −0: '-0s' is the same offset as '0s'.
  return negative && ms !== 0 ? -ms : ms;
}

/** Renders milliseconds back as the shortest exact duration text. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [
    ['w', 604_800_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** The essay's rule: SLA above 1 h is batch, 1 min to 1 h micro-batch, under 1 min streaming. */
export function modeForSla(slaMs: number): StageMode {
  if (slaMs < 60_000) return 'streaming';
  if (slaMs <= 3_600_000) return 'micro-batch';
  return 'batch';
}
