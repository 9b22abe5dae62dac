/** Generators and a model for the log's property tests. */
import fc from 'fast-check';
import type { AppendRecord, LogRecord } from './frame.ts';
import type { Log } from './log.ts';

/** A record as the model keeps it: what reading it back must give. */
export interface ModelRecord {
  readonly offset: number;
  readonly timestamp: number;
  readonly key: string | null;
  readonly value: string | null;
}

const bytes = (b: Uint8Array | null): string | null => (b === null ? null : Buffer.from(b).toString('hex'));
const asHex = (x: Uint8Array | string | null | undefined): string | null =>
  x === undefined || x === null
    ? null
    : Buffer.from(typeof x === 'string' ? Buffer.from(x, 'utf8') : x).toString('hex');

export const toModel = (r: LogRecord): ModelRecord => ({
  offset: r.offset,
  timestamp: r.timestamp,
  key: bytes(r.key),
  value: bytes(r.value),
});

export const fromAppend = (a: AppendRecord, offset: number): ModelRecord => ({
  offset,
  timestamp: a.timestamp,
  key: asHex(a.key),
  value: asHex(a.value),
});

const payload = fc.oneof(
  fc.string({ maxLength: 40, unit: 'binary' }),
  fc.uint8Array({ maxLength: 300 }),
  fc.constant(''),
);

export const appendRecord = (keys: number): fc.Arbitrary<AppendRecord> =>
  fc.record({
    key: fc.option(
      fc.integer({ min: 0, max: keys - 1 }).map((k) => `k${k}`),
      { freq: 5 },
    ),
    value: fc.option(payload, { freq: 8 }),
    timestamp: fc.integer({ min: -1_000_000, max: 1_000_000 }),
  });

/** Every record of a partition, read in chunks of `chunk`. */
export async function readAll(log: Log, p: number, chunk = 1000): Promise<ModelRecord[]> {
  const out: ModelRecord[] = [];
  let from = log.startOffset(p);
  while (from < log.endOffset(p)) {
    const got = await log.read(p, from, chunk);
    if (got.length === 0) break;
    out.push(...got.map(toModel));
    from = got[got.length - 1].offset + 1;
  }
  return out;
}
