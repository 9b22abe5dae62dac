import { parseDuration } from '../time/duration.ts';
import { avroNameProblem, avroSchemaMismatch, deriveAvroSchema } from './avro-schema.ts';
import type { Contract } from './contract.ts';

/**
 * Where a Kafka source starts the first time it runs (afterwards it goes on from the positions in its topic's log):
 * the oldest record each partition still holds, the end of each partition (what is committed when the source starts),
 * an offset (the same for every partition, or per partition; partitions not named start at the earliest), or the
 * first record stamped at or after a time.
 */
export type KafkaStart =
  | 'earliest'
  | 'latest'
  | { readonly offset: number | Readonly<Record<string, number>> }
  | { readonly time: string };

/**
 * A Kafka topic (see {@link kafka}). A dataset stored in one is read as an unbounded source, ingested into the
 * dataset's topic in napkin's log like a followed file, and written exactly once per epoch by a transactional
 * producer. `brokers` is a reference (`env:NAME`): the bootstrap list is read from the environment when a connector
 * connects and never printed.
 */
export interface KafkaStorage {
  readonly kind: 'kafka';
  readonly topic: string;
  readonly brokers: string;
  /**
   * `json`: each value is a UTF-8 JSON object checked by the contract. `napkin`: the contract encoding, the same JSON
   * object behind the schema registry's wire framing (byte 0, then the schema id as a 4-byte big-endian integer).
   * `avro`: that framing around Avro binary of the schema derived from the contract (see `avro-schema.ts`).
   */
  readonly format: KafkaFormat;
  /** Contract fields that make the record key (default: the contract's key; none: records without a key). */
  readonly key?: readonly string[];
  /**
   * `timestamp`: the contract's event-time field is the record's timestamp. A field name (the contract's event-time
   * field): event time is read from the value, and written as the record's timestamp by the sink.
   */
  readonly eventTime?: string;
  readonly startFrom: KafkaStart;
  /** A string field that holds the record's headers as a JSON object (names to UTF-8 values). */
  readonly headers?: string;
  /** With `format: 'napkin'` or `'avro'`: the schema id the sink frames values with, the only one the source accepts. */
  readonly schemaId?: number;
  /**
   * With `format: 'avro'`: the schema as registered, checked when the dataset is declared to write the same bytes as
   * the one derived from the contract (which is what napkin encodes and decodes with).
   */
  readonly avroSchema?: Readonly<Record<string, unknown>>;
  /** How long one fetch waits for records (ms). */
  readonly pollMs: number;
  /** Ends the input after this long without a record (tests, demos); otherwise it runs until SIGINT/SIGTERM. */
  readonly stopAfterIdleMs?: number;
  /**
   * A partition without records for longer than this stops holding back the source's watermark (M7 per partition);
   * absent: never, so an empty partition holds it at −∞.
   */
  readonly partitionIdleMs?: number;
}

/** How record values are encoded; see {@link KafkaStorage.format}. */
export type KafkaFormat = 'json' | 'napkin' | 'avro';

export interface KafkaOptions {
  readonly topic: string;
  /** A reference such as 'env:NAPKIN_KAFKA_BROKERS' to a comma-separated `host:port` list. */
  readonly brokers: string;
  readonly format?: KafkaFormat;
  readonly key?: string | readonly string[];
  readonly eventTime?: string;
  readonly startFrom?: KafkaStart;
  readonly headers?: string;
  readonly schemaId?: number;
  /** With format 'avro': the registered schema (JSON), which must match the contract's derived one field for field. */
  readonly avroSchema?: Readonly<Record<string, unknown>>;
  /** How long one fetch waits for new records; default 200ms. */
  readonly pollInterval?: string;
  /** End the run after this long without a new record (tests, demos); default: run until SIGINT/SIGTERM. */
  readonly stopAfterIdle?: string;
  /**
   * The source's watermark is the slowest partition's (each partition's newest event time, less the read's bound);
   * a partition silent for longer than this is left out until it catches up again. Default '1m'; 'never' keeps
   * every partition in, so one that never receives a record holds every window open.
   */
  readonly partitionIdleTimeout?: string;
}

const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const SECRET_REFERENCE = /^env:[A-Za-z_][A-Za-z0-9_]*$/;
const FIELD = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A Kafka topic, read as an unbounded source and written exactly once per epoch, e.g.
 * `kafka({ topic: 'shop.orders', brokers: 'env:NAPKIN_KAFKA_BROKERS', key: 'order_id' })`.
 */
export function kafka(options: KafkaOptions): KafkaStorage {
  const o = options ?? ({} as KafkaOptions);
  const what = `kafka({ topic: '${String(o.topic)}' })`;
  if (typeof o.topic !== 'string' || !TOPIC.test(o.topic) || o.topic === '.' || o.topic === '..')
    throw new Error(`kafka(): topic '${String(o.topic)}' must be 1 to 249 letters, digits, '.', '_' or '-'`);
  if (o.topic.startsWith('__'))
    throw new Error(`${what}: topics starting with '__' are Kafka's and napkin's own (__napkin_commits)`);
  // The value is never echoed: it may hold credentials.
  if (typeof o.brokers !== 'string' || !SECRET_REFERENCE.test(o.brokers))
    throw new Error(
      `${what}: brokers must be a reference such as 'env:NAPKIN_KAFKA_BROKERS', not an address; put 'host:port,...' in that environment variable`,
    );
  const format = o.format ?? 'json';
  if (format !== 'json' && format !== 'napkin' && format !== 'avro')
    throw new Error(`${what}: format must be 'json', 'napkin' or 'avro', got '${String(format)}'`);
  const key = o.key === undefined ? undefined : typeof o.key === 'string' ? [o.key] : [...o.key];
  if (key !== undefined && (key.length === 0 || key.some((k) => typeof k !== 'string' || !FIELD.test(k))))
    throw new Error(`${what}: key must name one or more contract fields`);
  if (o.eventTime !== undefined && (typeof o.eventTime !== 'string' || !FIELD.test(o.eventTime)))
    throw new Error(`${what}: eventTime must be 'timestamp' (the record timestamp) or a contract field`);
  if (o.headers !== undefined && (typeof o.headers !== 'string' || !FIELD.test(o.headers)))
    throw new Error(`${what}: headers must name a string field of the contract`);
  if (o.schemaId !== undefined) {
    if (format === 'json') throw new Error(`${what}: schemaId applies only with format: 'napkin' or 'avro'`);
    if (!Number.isInteger(o.schemaId) || o.schemaId < 0 || o.schemaId > 0x7fffffff)
      throw new Error(`${what}: schemaId must be an integer from 0 to 2147483647`);
  }
  const avroSchema = checkAvroOption(what, format, o.avroSchema);
  const startFrom = checkStart(what, o.startFrom ?? 'earliest');
  const pollMs = parseDuration(o.pollInterval ?? '200ms');
  if (pollMs <= 0) throw new Error(`${what}: pollInterval must be positive`);
  const partitionIdleMs = checkPartitionIdle(what, o.partitionIdleTimeout ?? DEFAULT_PARTITION_IDLE);
  return {
    kind: 'kafka',
    topic: o.topic,
    brokers: o.brokers,
    format,
    ...(key === undefined ? {} : { key }),
    ...(o.eventTime === undefined ? {} : { eventTime: o.eventTime }),
    startFrom,
    ...(o.headers === undefined ? {} : { headers: o.headers }),
    ...(o.schemaId === undefined ? {} : { schemaId: o.schemaId }),
    ...(avroSchema === undefined ? {} : { avroSchema }),
    pollMs,
    ...(o.stopAfterIdle === undefined ? {} : { stopAfterIdleMs: parseDuration(o.stopAfterIdle) }),
    ...(partitionIdleMs === undefined ? {} : { partitionIdleMs }),
  };
}

/**
 * A minute: long enough that a partition merely slower than the others is waited for, short enough that an empty
 * one does not hold windows open for long (Beam issue #31085 is what no default gives).
 */
const DEFAULT_PARTITION_IDLE = '1m';

function checkPartitionIdle(what: string, timeout: string): number | undefined {
  if (timeout === 'never') return undefined;
  let ms: number;
  try {
    ms = parseDuration(timeout);
  } catch (e) {
    throw new Error(
      `${what}: partitionIdleTimeout must be a duration such as '30s' or 'never': ${(e as Error).message}`,
    );
  }
  if (ms <= 0) throw new Error(`${what}: partitionIdleTimeout must be positive, or 'never'`);
  return ms;
}

/** A copy of the schema, so that the storage stays plain data that later changes to the caller's object miss. */
function checkAvroOption(
  what: string,
  format: KafkaFormat,
  schema: unknown,
): Readonly<Record<string, unknown>> | undefined {
  if (schema === undefined) return undefined;
  if (format !== 'avro') throw new Error(`${what}: avroSchema applies only with format: 'avro'`);
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(schema));
  } catch (e) {
    throw new Error(`${what}: avroSchema must be JSON (${(e as Error).message})`);
  }
  if (typeof copy !== 'object' || copy === null || Array.isArray(copy))
    throw new Error(`${what}: avroSchema must be an Avro record schema, a JSON object with type 'record'`);
  return copy as Record<string, unknown>;
}

function checkStart(what: string, s: KafkaStart): KafkaStart {
  if (s === 'earliest' || s === 'latest') return s;
  if (typeof s === 'object' && s !== null && 'offset' in s) {
    const ok = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0;
    const offset = s.offset;
    if (typeof offset === 'number' ? ok(offset) : typeof offset === 'object' && offset !== null) {
      if (typeof offset === 'object') {
        for (const [p, n] of Object.entries(offset)) {
          if (!/^\d+$/.test(p) || !ok(n))
            throw new Error(`${what}: startFrom.offset per partition maps partition numbers to offsets ≥ 0`);
        }
      }
      return { offset: typeof offset === 'number' ? offset : { ...offset } };
    }
    throw new Error(`${what}: startFrom.offset must be an offset ≥ 0, or partition numbers to offsets`);
  }
  if (typeof s === 'object' && s !== null && 'time' in s) {
    if (typeof s.time !== 'string' || !ISO_WITH_ZONE.test(s.time) || Number.isNaN(Date.parse(s.time)))
      throw new Error(`${what}: startFrom.time must be an ISO 8601 time with a zone, e.g. '2026-01-31T12:00:00Z'`);
    return { time: s.time };
  }
  throw new Error(
    `${what}: startFrom must be 'earliest', 'latest', { offset: N } or { time: 'ISO 8601' }, got ${JSON.stringify(s)}`,
  );
}

/**
 * Checks a Kafka storage against its dataset's contract; the errors name the dataset and the option. `key` and
 * `headers` must be contract fields (`headers` a string one); `eventTime` needs the contract's event-time field:
 * `'timestamp'` fills it from the record timestamp, a field name must be that field. With `format: 'avro'` every field
 * needs an Avro name, and an `avroSchema` must write what the contract's derived schema writes.
 */
export function checkKafkaStorage(dataset: string, st: KafkaStorage, contract: Contract | undefined): void {
  const at = `dataset ${dataset}: kafka({ topic: '${st.topic}' })`;
  if (contract === undefined) return; // napkin check reports the missing contract (NAP011)
  const fields = contract.schema.fields;
  const field = (name: string) => fields.find((f) => f.name === name);
  for (const k of st.key ?? []) {
    if (field(k) === undefined) throw new Error(`${at}: key field '${k}' is not in the contract`);
  }
  if (st.headers !== undefined) {
    const f = field(st.headers);
    if (f === undefined) throw new Error(`${at}: headers field '${st.headers}' is not in the contract`);
    if (f.type.kind !== 'string')
      throw new Error(
        `${at}: headers field '${st.headers}' must be a string field (it holds JSON), it is ${f.type.kind}`,
      );
    if ((st.key ?? []).includes(st.headers))
      throw new Error(`${at}: headers field '${st.headers}' cannot also be a key field`);
  }
  if (st.format === 'avro') checkAvro(dataset, at, st, fields);
  if (st.eventTime === undefined) return;
  if (contract.eventTime === undefined)
    throw new Error(
      `${at}: eventTime '${st.eventTime}' needs the contract's eventTime field; declare contract({ eventTime: 'field' })`,
    );
  if (st.eventTime !== 'timestamp' && st.eventTime !== contract.eventTime)
    throw new Error(
      `${at}: eventTime must be 'timestamp' or the contract's event-time field '${contract.eventTime}', got '${st.eventTime}'`,
    );
  if (st.eventTime === 'timestamp' && st.headers === contract.eventTime)
    throw new Error(`${at}: the headers field cannot be the event-time field`);
}

/** Every field must have an Avro name; an explicit schema must match the derived one field for field. */
function checkAvro(dataset: string, at: string, st: KafkaStorage, fields: Contract['schema']['fields']): void {
  const problem = avroNameProblem(fields);
  if (problem !== undefined) throw new Error(`${at}: format 'avro': ${problem}`);
  if (st.avroSchema === undefined) return;
  const mismatch = avroSchemaMismatch(st.avroSchema, deriveAvroSchema(dataset, fields, st.headers), fields);
  if (mismatch !== undefined) throw new Error(`${at}: ${mismatch}`);
}

/**
 * napkin's log on Kafka instead of the state folder (`defineProject({ log: kafkaLog({ brokers }) })`): each source
 * dataset's topic is the one-partition Kafka topic `<prefix>.<dataset>` (prefix default `napkin.<project>`), and the
 * flows' epoch records live in `__napkin_epochs`; no flow changes.
 */
export interface KafkaLogConfig {
  readonly kind: 'kafkaLog';
  readonly brokers: string;
  readonly prefix?: string;
}

export function kafkaLog(options: { readonly brokers: string; readonly prefix?: string }): KafkaLogConfig {
  const o = options ?? ({} as { brokers: string });
  if (typeof o.brokers !== 'string' || !SECRET_REFERENCE.test(o.brokers))
    throw new Error(
      `kafkaLog(): brokers must be a reference such as 'env:NAPKIN_KAFKA_BROKERS', not an address; put 'host:port,...' in that environment variable`,
    );
  if (o.prefix !== undefined && (typeof o.prefix !== 'string' || !TOPIC.test(o.prefix) || o.prefix.startsWith('__')))
    throw new Error(
      `kafkaLog(): prefix '${String(o.prefix)}' must be letters, digits, '.', '_' or '-', not starting with '__'`,
    );
  return { kind: 'kafkaLog', brokers: o.brokers, ...(o.prefix === undefined ? {} : { prefix: o.prefix }) };
}
