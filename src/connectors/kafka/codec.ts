import type { DataType, Field, Value } from '../../expr/types.ts';
import type { Contract } from '../../flow/contract.ts';
import type { KafkaFormat, KafkaStorage } from '../../flow/kafka-storage.ts';
import type { BatchBuilder } from '../../runtime/batch.ts';
import { isPlainObject } from '../../runtime/json-values.ts';
import type { QuarantineEntry } from '../../runtime/quarantine.ts';
import { parseDate, parseDecimal, parseTimestamp } from '../../runtime/scalars.ts';
import { compileValueValidator, type ValueValidator } from '../../runtime/validate.ts';
import { textOf } from '../files/text-sink.ts';
import { AvroCodec, UNDECODABLE } from './avro.ts';

/**
 * Record values in Kafka (storage `format`):
 *
 *   json    a UTF-8 JSON object, checked by the contract like a JSON Lines record
 *   napkin  the contract encoding: the same JSON object behind the schema registry's wire framing, byte 0x00, the
 *           schema id as a 4-byte big-endian integer, then the UTF-8 JSON (schema-compatibility spec, "Kafka wire
 *           format"), so napkin shares topics with registry-aware clients
 *   avro    the same framing around Avro binary of the schema derived from the contract (flow/avro-schema.ts,
 *           avro.ts), which Confluent's Avro serdes read and write
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

/** What {@link RecordDecoder} returns for a value it quarantined itself. */
const REFUSED: unique symbol = Symbol('refused');

/**
 * Decodes fetched records and checks them against the contract: good ones go into a batch builder (columns in
 * contract order), bad ones become quarantine entries at `kafka:<topic>/<partition>`, record number = offset, with the
 * value's bytes (text when UTF-8 and `json`, else base64). Every format yields a JSON-like value that the same key,
 * header and event-time filling and the same compiled contract validator then see.
 */
export class RecordDecoder {
  private readonly validators = new Map<number, ValueValidator>();
  private readonly keyTypes: readonly Field[];
  private readonly timeField: string | undefined;
  /** Framed values are binary, so their quarantined raws are the exact bytes in base64. */
  private readonly framed: boolean;
  private readonly avro: AvroCodec | undefined;
  /** What a value must be, for quarantine entries. */
  private readonly wanted: string;
  /** The text of the last JSON value parsed: the raw of the record should the validator refuse it. */
  private text = '';

  constructor(
    private readonly st: KafkaStorage,
    private readonly contract: Contract,
  ) {
    const fields = contract.schema.fields;
    const keys = st.key ?? [];
    this.keyTypes = keys.map((k) => fields.find((f) => f.name === k) as Field);
    this.timeField = st.eventTime === 'timestamp' ? contract.eventTime : undefined;
    this.framed = st.format !== 'json';
    this.avro = st.format === 'avro' ? new AvroCodec(fields, st.headers) : undefined;
    this.wanted = this.avro?.expected ?? 'a JSON object';
  }

  /** Decodes one partition's records (in offset order) into `into` and `rejected`. */
  decode(partition: number, records: readonly FetchedRecord[], into: BatchBuilder, rejected: QuarantineEntry[]): void {
    if (records.length === 0) return;
    const source = recordSource(this.st.topic, partition);
    const values: unknown[] = [];
    const raws: string[] = [];
    const offsets: number[] = [];
    for (const r of records) {
      const value = this.valueOf(r, source, rejected);
      if (value === REFUSED) continue;
      if (isPlainObject(value) && !this.fill(value, r, source, rejected)) continue;
      values.push(value);
      // Framed raws are base64, made only for the few records the validator refuses (base64Raws).
      raws.push(this.framed ? '' : this.text);
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
    if (this.framed) base64Raws(rejected, before, records);
  }

  /** The record's value decoded, or {@link REFUSED} once its quarantine entry is in `rejected`. */
  private valueOf(r: FetchedRecord, source: string, rejected: QuarantineEntry[]): unknown {
    const v = r.value;
    if (v === null) return this.refuse(rejected, source, r, 'parse', this.wanted, 'null (a tombstone)');
    if (!this.framed) return this.json(v, r, source, rejected);
    if (v.length < 5 || v[0] !== MAGIC) {
      const then = this.avro === undefined ? 'JSON' : 'Avro binary';
      return this.refuse(
        rejected,
        source,
        r,
        'parse',
        `the wire framing: byte 0, a 4-byte schema id, then ${then}`,
        shortHex(v),
      );
    }
    const id = v.readUInt32BE(1);
    if (this.st.schemaId !== undefined && id !== this.st.schemaId)
      return this.refuse(rejected, source, r, 'drift', `schema id ${this.st.schemaId}`, `schema id ${id}`);
    if (this.avro === undefined) return this.json(v.subarray(5), r, source, rejected);
    const value = this.avro.decode(v, 5);
    if (value !== UNDECODABLE) return value;
    const { errorClass, found } = this.avro.failure;
    return this.refuse(rejected, source, r, errorClass, this.avro.expected, found);
  }

  private json(payload: Buffer, r: FetchedRecord, source: string, rejected: QuarantineEntry[]): unknown {
    try {
      this.text = utf8.decode(payload);
    } catch {
      return this.refuse(rejected, source, r, 'encoding', 'UTF-8', 'invalid UTF-8 bytes');
    }
    try {
      return JSON.parse(this.text);
    } catch (e) {
      return this.refuse(rejected, source, r, 'parse', 'a JSON object', short((e as Error).message));
    }
  }

  /** Fills the key, headers and event-time fields the record carries outside its value; false if refused. */
  private fill(o: Record<string, unknown>, r: FetchedRecord, source: string, rejected: QuarantineEntry[]): boolean {
    const keyProblem = this.fillKey(o, r.key);
    if (keyProblem !== undefined) {
      const { errorClass, expected, found, field } = keyProblem;
      this.refuse(rejected, source, r, errorClass, expected, found, field);
      return false;
    }
    if (this.st.headers !== undefined) define(o, this.st.headers, headersJson(r.headers));
    if (this.timeField !== undefined) define(o, this.timeField, r.timestamp);
    return true;
  }

  private refuse(
    rejected: QuarantineEntry[],
    source: string,
    r: FetchedRecord,
    errorClass: QuarantineEntry['errorClass'],
    expected: string,
    found: string,
    field?: string,
  ): typeof REFUSED {
    const raw = rawOf(r.value, this.framed);
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
    return REFUSED;
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
      else if (!sameKeyValue(had, parts[k], fields[k].type))
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

/**
 * Gives the entries the validator added from `from` on (raw '') their value's bytes in base64. Entries and records
 * are both in offset order.
 */
function base64Raws(rejected: QuarantineEntry[], from: number, records: readonly FetchedRecord[]): void {
  let k = 0;
  for (let i = from; i < rejected.length; i++) {
    const e = rejected[i];
    while (k < records.length && records[k].offset !== e.record) k++;
    rejected[i] = { ...e, raw: records[k]?.value?.toString('base64') ?? '', rawEncoding: 'base64' };
  }
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

function sameKeyValue(a: unknown, b: unknown, t: DataType): boolean {
  const [x, y] = [comparable(a, t), comparable(b, t)];
  if (typeof x !== 'object' && typeof y !== 'object') return String(x) === String(y);
  return JSON.stringify(x) === JSON.stringify(y);
}

/**
 * Temporal and decimal key values as numbers: the key spells them as text (`"120.00"` parses to 120), a value may
 * hold the number (Avro timestamps, JSON's integer milliseconds).
 */
function comparable(v: unknown, t: DataType): unknown {
  if (typeof v !== 'string') return v;
  switch (t.kind) {
    case 'timestamp':
      return parseTimestamp(v) ?? v;
    case 'date':
      return parseDate(v) ?? v;
    case 'decimal':
      return parseDecimal(v, t.precision, t.scale) ?? v;
    default:
      return v;
  }
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
  readonly format: KafkaFormat;
  /** Required by the framed formats. */
  readonly schemaId?: number;
}

type Columns = readonly (readonly Value[])[];

/**
 * Encodes a row (columns in contract order) as a record: the value a JSON object of the contract's fields in contract
 * order (timestamps, dates and decimals as text, as the JSON Lines sink writes them) or, with `avro`, Avro binary of
 * those fields, either without the headers field, whose JSON object becomes the record's headers; the key the key
 * field's text (one field) or a JSON array of the key fields' values; the timestamp the event time.
 */
export function rowEncoder(
  spec: EncoderSpec,
): (columns: readonly Value[][], i: number, tombstone: boolean) => EncodedRecord {
  const { fields } = spec;
  const idx = (name: string) => fields.findIndex((f) => f.name === name);
  const keyCols = spec.key.map(idx);
  const headersCol = spec.headers === undefined ? -1 : idx(spec.headers);
  const timeCol = spec.eventTime === undefined ? -1 : idx(spec.eventTime);
  const encodeValue = valueEncoder(spec, headersCol);
  return (columns, i, tombstone) => {
    let key: Buffer | undefined;
    if (keyCols.length === 1) {
      const v = columns[keyCols[0]][i];
      const j = jsonOf(v, fields[keyCols[0]]);
      key = Buffer.from(typeof j === 'string' ? j : JSON.stringify(j));
    } else if (keyCols.length > 1) {
      key = Buffer.from(JSON.stringify(keyCols.map((c) => jsonOf(columns[c][i], fields[c]))));
    }
    const value = tombstone ? undefined : encodeValue(columns, i);
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

/** The value's encoder: one per sink, its state (the framing, a compiled Avro type) made here once. */
function valueEncoder(spec: EncoderSpec, headersCol: number): (columns: Columns, i: number) => Buffer {
  const { fields } = spec;
  if (spec.format === 'json') return (columns, i) => Buffer.from(jsonValue(fields, headersCol, columns, i));
  if (spec.schemaId === undefined)
    throw new Error(`format '${spec.format}' needs the schemaId its values are framed with to be written`);
  const prefix = Buffer.alloc(5);
  prefix[0] = MAGIC;
  prefix.writeUInt32BE(spec.schemaId, 1);
  if (spec.format === 'napkin')
    return (columns, i) => Buffer.concat([prefix, Buffer.from(jsonValue(fields, headersCol, columns, i))]);
  const avro = new AvroCodec(fields, spec.headers);
  const cols = avro.fields.map((f) => fields.indexOf(f));
  return (columns, i) => avro.encode(columns, cols, i, prefix);
}

function jsonValue(fields: readonly Field[], headersCol: number, columns: Columns, i: number): string {
  const o: Record<string, unknown> = {};
  for (let c = 0; c < fields.length; c++) {
    if (c === headersCol) continue;
    define(o, fields[c].name, jsonOf(columns[c][i], fields[c]));
  }
  return JSON.stringify(o);
}

function jsonOf(v: Value, f: Field): unknown {
  if (v === null) return null;
  const t = f.type.kind;
  return t === 'timestamp' || t === 'date' || t === 'decimal' ? textOf(v, f) : v;
}
