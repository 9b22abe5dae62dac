// The crash suite's seeded generator (spec reliability §3, "Generator"): M records {id, key, seq, value, at} with
// poison records at seeded positions, as CSV files for the bounded flow and as JSON Lines batches for the live one.
// Every input is a pure function of its seed, so a failing trial is reproduced from the seed it prints.

/** A seeded PRNG (mulberry32): `next()` in [0, 1). Never `Math.random` in the suite. */
export class Prng {
  private s: number;

  constructor(readonly seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

/** A valid record as the generator made it. */
export interface GoodEvent {
  readonly id: number;
  readonly key: string;
  readonly seq: number;
  readonly value: number;
  /** Event time, ms since the epoch. */
  readonly at: number;
}

/** A poison record: where it is and its exact text, which the quarantine must hold exactly once. */
export interface BadRecord {
  /** The file, relative to the project root. */
  readonly source: string;
  /** 1-based line in the file. */
  readonly line: number;
  readonly raw: string;
}

export interface GeneratedInput {
  readonly good: readonly GoodEvent[];
  readonly bad: readonly BadRecord[];
}

/** The bounded flow's input: CSV files under data/events/. */
export interface BoundedInput extends GeneratedInput {
  /** File path (relative to the project root) → contents. */
  readonly files: Readonly<Record<string, string>>;
}

/** The live flow's input: batches of JSON lines, appended to data/live.jsonl in order. */
export interface LiveInput extends GeneratedInput {
  readonly batches: readonly string[];
}

const BASE = Date.UTC(2024, 4, 1, 12, 0, 0);

/** CSV rows that break the contract, each in its own way (the quarantine's error classes). */
const CSV_POISON: readonly ((id: number, at: string) => string)[] = [
  (id, at) => `x${id},k1,1,10,${at}`, // id is not an int64
  (id) => `${id},k2,1,10,not-a-time`, // a timestamp that does not parse
  (id, at) => `${id},,1,10,${at}`, // a missing required key
  (id, at) => `${id},k3,1,ten,${at}`, // value is not an int64
  (id) => `${id},k4,1,10`, // a missing field (4 cells, no time)
  (id, at) => `${id},k5,1,10,${at},extra`, // one cell too many
];

/** JSON lines that break the contract. */
const JSON_POISON: readonly ((id: number, at: string) => string)[] = [
  (id) => `{"id":${id},"key":"k1","seq":1,"val`, // truncated JSON
  (id, at) => `{"id":${id},"key":"k2","seq":1,"value":"ten","at":"${at}"}`, // wrong type
  (id, at) => `{"id":${id},"seq":1,"value":3,"at":"${at}"}`, // missing required key
  (id) => `{"id":${id},"key":"k3","seq":1,"value":3,"at":"yesterday"}`, // a timestamp that does not parse
];

/**
 * `files` CSV files of `rows` records each, keys k0…k{keys-1}, event times spread over 30 minutes in random order,
 * and `poison` bad rows at seeded positions (ids of bad rows are not valid ids: the good ids stay 1…M).
 */
export function boundedInput(seed: number, o: { files: number; rows: number; keys: number; poison: number }) {
  const rng = new Prng(seed);
  const good: GoodEvent[] = [];
  const bad: BadRecord[] = [];
  const files: Record<string, string> = {};
  const seqs = new Map<string, number>();
  const total = o.files * o.rows;
  const poisonAt = new Set<number>();
  while (poisonAt.size < o.poison) poisonAt.add(rng.int(0, total - 1));
  let id = 0;
  for (let f = 0; f < o.files; f++) {
    const name = `data/events/part-${String(f).padStart(3, '0')}.csv`;
    const lines = ['id,key,seq,value,at'];
    for (let r = 0; r < o.rows; r++) {
      const at = BASE + rng.int(0, 30 * 60_000 - 1);
      const n = f * o.rows + r;
      if (poisonAt.has(n)) {
        const raw = CSV_POISON[bad.length % CSV_POISON.length](900_000 + n, new Date(at).toISOString());
        lines.push(raw);
        bad.push({ source: name, line: lines.length, raw });
        continue;
      }
      const key = `k${rng.int(0, o.keys - 1)}`;
      const seq = (seqs.get(key) ?? 0) + 1;
      seqs.set(key, seq);
      const e: GoodEvent = { id: ++id, key, seq, value: rng.int(1, 1000), at };
      good.push(e);
      lines.push(`${e.id},${e.key},${e.seq},${e.value},${new Date(e.at).toISOString()}`);
    }
    files[name] = `${lines.join('\n')}\n`;
  }
  return { files, good, bad } satisfies BoundedInput;
}

/**
 * `batches` batches of `rows` JSON lines, event times strictly increasing (20 ms apart: 10 s windows of 500 records
 * over all keys), with `poison` bad lines at seeded positions.
 */
export function liveInput(seed: number, o: { batches: number; rows: number; keys: number; poison: number }) {
  const rng = new Prng(seed);
  const good: GoodEvent[] = [];
  const bad: BadRecord[] = [];
  const batches: string[] = [];
  const seqs = new Map<string, number>();
  const total = o.batches * o.rows;
  const poisonAt = new Set<number>();
  while (poisonAt.size < o.poison) poisonAt.add(rng.int(0, total - 1));
  let line = 0;
  let id = 0;
  for (let b = 0; b < o.batches; b++) {
    const lines: string[] = [];
    for (let r = 0; r < o.rows; r++) {
      const n = b * o.rows + r;
      const at = BASE + n * 20;
      line++;
      if (poisonAt.has(n)) {
        const raw = JSON_POISON[bad.length % JSON_POISON.length](900_000 + n, new Date(at).toISOString());
        lines.push(raw);
        bad.push({ source: 'data/live.jsonl', line, raw });
        continue;
      }
      const key = `k${rng.int(0, o.keys - 1)}`;
      const seq = (seqs.get(key) ?? 0) + 1;
      seqs.set(key, seq);
      const e: GoodEvent = { id: ++id, key, seq, value: rng.int(1, 1000), at };
      good.push(e);
      lines.push(
        JSON.stringify({ id: e.id, key: e.key, seq: e.seq, value: e.value, at: new Date(e.at).toISOString() }),
      );
    }
    batches.push(`${lines.join('\n')}\n`);
  }
  return { batches, good, bad } satisfies LiveInput;
}
