import type { Field, Value } from '../../expr/types.ts';
import type { Contract } from '../../flow/contract.ts';
import type { KafkaStorage } from '../../flow/kafka-storage.ts';
import type { BatchBuilder } from '../../runtime/batch.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { compileValueValidator, type ValueValidator } from '../../runtime/validate.ts';
import { textOf } from '../files/text-sink.ts';

/**
 * Record values in Kafka (storage `format`):
 *
 *   json    a UTF-8 JSON object, checked by the contract like a JSON Lines record
 *   napkin  the contract encoding: the same JSON object behind the schema registry's wire framing, byte 0x00, the
 *           schema id as a 4-byte big-endian integer, then the UTF-8 JSON (schema-compatibility spec, "Kafka wire
 *           format"), so napkin shares topics with registry-aware clients
 *
 * The source also fills, before the contract checks the object: the key fields from the record key (when the value
 * lacks them; a value that disagrees with its key is refused), the headers field from the record headers (a JSON
 * object of UTF-8 strings), and with `eventTime: 'timestamp'` the event-time field from the record timestamp.
 */
export const MAGIC = 0;

/** One record as fetched: its partition, offset, timestamp (ms), key, value and headers. */
export interface FetchedRecord {
  readonly partition: number;
  readonly offset: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly (readonly [Buffer | null, Buffer | null])[];
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Where a Kafka record is named in quarantine entries: `kafka:<topic>/<partition>`, the record number its offset. */
export function recordSource(topic: string, partition: number): string {
  return `kafka:${topic}/${partition}`;
}

/**
 * Decodes fetched records and checks them against the contract: good ones go into a batch builder (columns in
 * contract order), bad ones become quarantine entries at `kafka:<topic>/<partition>`, record number = offset, with the
 * value's bytes (text when UTF-8 and `json`, else base64).
 */
export class RecordDecoder {
  private readonly validators = new Map<number, ValueValidator>();
  private readonly keyTypes: readonly Field[];
  private readonly timeField: string | undefined;

  constructor(
    private readonly st: KafkaStorage,
    private readonly contract: Contract,
  ) {
    const fields = contract.schema.fields;
    const keys = st.key ?? [];
    this.keyTypes = keys.map((k) => fields.find((f) => f.name === k) as Field);
    this.timeField = st.eventTime === 'timestamp' ? contract.eventTime : undefined;
  }

  /** Decodes one partition's records (in offset order) into `into` and `rejected`. */
  decode(partition: number, records: readonly FetchedRecord[], into: BatchBuilder, rejected: QuarantineEntry[]): void {
    if (records.length === 0) return;
    const source = recordSource(this.st.topic, partition);
    const values: unknown[] = [];
    const raws: string[] = [];
    const offsets: number[] = [];
    const framed = this.st.format === 'napkin';
    for (const r of records) {
      const raw = rawOf(r.value, framed);
      const bad = (errorClass: QuarantineEntry['errorClass'], expected: string, found: string, field?: string) =>
        rejected.push({
          source,
          record: r.offset,
          ...(field === undefined ? {} : { field }),
          errorClass,
          expected,
          found,
          raw: raw.text,
          rawEncoding: raw.encoding,
        });
      if (r.value === null) {
        bad('parse', 'a JSON object', 'null (a tombstone)');
        continue;
      }
      let payload = r.value;
      if (framed) {
        if (payload.length < 5 || payload[0] !== MAGIC) {
          bad('parse', 'the wire framing: byte 0, a 4-byte schema id, then JSON', shortHex(payload));
          continue;
        }
        const id = payload.readUInt32BE(1);
        if (this.st.schemaId !== undefined && id !== this.st.schemaId) {
          bad('drift', `schema id ${this.st.schemaId}`, `schema id ${id}`);
          continue;
        }
        payload = payload.subarray(5);
      }
      let text: string;
      try {
        text = utf8.decode(payload);
      } catch {
        bad('encoding', 'UTF-8', 'invalid UTF-8 bytes');
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        bad('parse', 'a JSON object', short((e as Error).message));
        continue;
      }
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
        const o = value as Record<string, unknown>;
        const keyProblem = this.fillKey(o, r.key);
        if (keyProblem !== undefined) {
          bad(keyProblem.errorClass, keyProblem.expected, keyProblem.found, keyProblem.field);
          continue;
        }
        if (this.st.headers !== undefined) define(o, this.st.headers, headersJson(r.headers));
        if (this.timeField !== undefined) define(o, this.timeField, r.timestamp);
      }
      values.push(value);
      raws.push(raw.text);
      offsets.push(r.offset);
    }
    if (values.length === 0) return;
    const before = rejected.length;
    this.validator(partition, source).validateInto(
      { count: values.length, values, raws, records: offsets },
      0,
      into,
      rejected,
    );
    if (raw64(this.st)) {
      // The validator stores raws as text; these are base64.
      for (let i = before; i < rejected.length; i++) rejected[i] = { ...rejected[i], rawEncoding: 'base64' };
    }
  }

  private validator(partition: number, source: string): ValueValidator {
    let v = this.validators.get(partition);
    if (v === undefined) {
      v = compileValueValidator(this.contract, source);
      this.validators.set(partition, v);
    }
    return v;
  }

  /** Takes the key fields the value lacks from the record key; refuses a value that disagrees with its key. */
  private fillKey(
    o: Record<string, unknown>,
    key: Buffer | null,
  ): Pick<QuarantineEntry, 'errorClass' | 'expected' | 'found' | 'field'> | undefined {
    const fields = this.keyTypes;
    if (fields.length === 0 || key === null) return undefined;
    let text: string;
    try {
      text = utf8.decode(key);
    } catch {
      return { errorClass: 'encoding', expected: 'a UTF-8 record key', found: 'invalid UTF-8 bytes' };
    }
    let parts: unknown[];
    if (fields.length === 1) parts = [fields[0].type.kind === 'string' ? text : parseOr(text)];
    else {
      const p = parseOr(text);
      if (!Array.isArray(p) || p.length !== fields.length)
        return {
          errorClass: 'parse',
          expected: `a record key holding a JSON array of ${fields.length} values (${fields.map((f) => f.name).join(', ')})`,
          found: short(text),
        };
      parts = p;
    }
    for (let k = 0; k < fields.length; k++) {
      const name = fields[k].name;
      const had = Object.hasOwn(o, name) ? o[name] : undefined;
      if (had === undefined || had === null) define(o, name, parts[k]);
      else if (!sameKeyValue(had, parts[k]))
        return {
          errorClass: 'type',
          field: `/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`,
          expected: `the record key's value ${short(JSON.stringify(parts[k]) ?? '')}`,
          found: short(JSON.stringify(had) ?? String(had)),
        };
    }
    return undefined;
  }
}

/** Whether a source's quarantined raws are base64 (the framed encoding keeps the exact bytes). */
function raw64(st: KafkaStorage): boolean {
  return st.format === 'napkin';
}

function rawOf(value: Buffer | null, framed: boolean): { text: string; encoding: 'utf8' | 'base64' } {
  if (value === null) return { text: '', encoding: 'utf8' };
  if (!framed) {
    try {
      return { text: utf8.decode(value), encoding: 'utf8' };
    } catch {
      // not UTF-8: kept as base64
    }
  }
  return { text: value.toString('base64'), encoding: 'base64' };
}

function sameKeyValue(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' && typeof b !== 'object') return String(a) === String(b);
  return JSON.stringify(a) === JSON.stringify(b);
}

function parseOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function headersJson(headers: FetchedRecord['headers']): string {
  const o: Record<string, string | null> = {};
  for (const [k, v] of headers) {
    const name = k === null ? '' : k.toString('utf8');
    define(o, name, v === null ? null : v.toString('utf8'));
  }
  return JSON.stringify(o);
}

/** Sets a field, defining it when the name is `__proto__`. */
function define(o: Record<string, unknown>, key: string, v: unknown): void {
  if (key === '__proto__') Object.defineProperty(o, key, { value: v, enumerable: true, writable: true });
  else o[key] = v;
}

function short(s: string): string {
  return s.length <= 80 ? s : `${s.slice(0, 79)}…`;
}

function shortHex(b: Buffer): string {
  return b.length === 0 ? 'an empty value' : `bytes ${b.subarray(0, 8).toString('hex')}${b.length > 8 ? '…' : ''}`;
}

/** A record as the sink produces it. */
export interface EncodedRecord {
  readonly key: Buffer | undefined;
  /** Undefined: a tombstone (a retraction of a merge sink). */
  readonly value: Buffer | undefined;
  readonly timestamp: bigint | undefined;
  readonly headers: Map<Buffer, Buffer> | undefined;
}

/** What the sink needs to encode the rows of one contract. */
export interface EncoderSpec {
  readonly fields: readonly Field[];
  readonly key: readonly string[];
  readonly headers?: string;
  readonly eventTime?: string;
  readonly format: 'json' | 'napkin';
  readonly schemaId?: number;
}

/**
 * Encodes a row (columns in contract order) as a record: the value a JSON object of the contract's fields in contract
 * order (timestamps, dates and decimals as text, as the JSON Lines sink writes them), without the headers field,
 * whose JSON object becomes the record's headers; the key the key field's text (one field) or a JSON array of the
 * key fields' values; the timestamp the event time.
 */
export function rowEncoder(
  spec: EncoderSpec,
): (columns: readonly Value[][], i: number, tombstone: boolean) => EncodedRecord {
  const { fields } = spec;
  const idx = (name: string) => fields.findIndex((f) => f.name === name);
  const keyCols = spec.key.map(idx);
  const headersCol = spec.headers === undefined ? -1 : idx(spec.headers);
  const timeCol = spec.eventTime === undefined ? -1 : idx(spec.eventTime);
  const prefix =
    spec.format === 'napkin'
      ? (() => {
          const p = Buffer.alloc(5);
          p[0] = MAGIC;
          p.writeUInt32BE(spec.schemaId ?? 0, 1);
          return p;
        })()
      : undefined;
  const jsonOf = (v: Value, f: Field): unknown => {
    if (v === null) return null;
    const t = f.type.kind;
    return t === 'timestamp' || t === 'date' || t === 'decimal' ? textOf(v, f) : v;
  };
  return (columns, i, tombstone) => {
    let key: Buffer | undefined;
    if (keyCols.length === 1) {
      const v = columns[keyCols[0]][i];
      const j = jsonOf(v, fields[keyCols[0]]);
      key = Buffer.from(typeof j === 'string' ? j : JSON.stringify(j));
    } else if (keyCols.length > 1) {
      key = Buffer.from(JSON.stringify(keyCols.map((c) => jsonOf(columns[c][i], fields[c]))));
    }
    let value: Buffer | undefined;
    if (!tombstone) {
      const o: Record<string, unknown> = {};
      for (let c = 0; c < fields.length; c++) {
        if (c === headersCol) continue;
        define(o, fields[c].name, jsonOf(columns[c][i], fields[c]));
      }
      const json = Buffer.from(JSON.stringify(o));
      value = prefix === undefined ? json : Buffer.concat([prefix, json]);
    }
    let headers: Map<Buffer, Buffer> | undefined;
    if (headersCol >= 0) {
      const h = columns[headersCol][i];
      if (typeof h === 'string' && h !== '') {
        const parsed = parseOr(h);
        if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
          headers = new Map();
          for (const [k, v] of Object.entries(parsed))
            if (v !== null && v !== undefined)
              headers.set(Buffer.from(k), Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)));
        }
      }
    }
    const t = timeCol < 0 ? null : columns[timeCol][i];
    const timestamp = typeof t === 'number' && Number.isFinite(t) ? BigInt(Math.trunc(t)) : undefined;
    return { key, value, timestamp, headers };
  };
}
