import { mkdir } from 'node:fs/promises';
import { Admin, Consumer, FetchIsolationLevels, ListOffsetTimestamps, Producer } from '@platformatic/kafka';
import {
  clientOptions,
  closeClient,
  isFenced,
  type KafkaConnection,
  kafkaFailure,
} from '../connectors/kafka/client.ts';
import { createMissingTopics } from '../connectors/kafka/commits.ts';
import {
  Aborted,
  type FetchedPartition,
  fetchPartition,
  partitionOffset,
  visibleRecords,
} from '../connectors/kafka/fetch.ts';
import { initTransactions, KafkaFencedError } from '../connectors/kafka/sink.ts';
import type { KafkaLogConfig } from '../flow/kafka-storage.ts';
import type { LogRecord } from '../log/frame.ts';
import type { AppendRecord } from '../log/log.ts';
import type { AppendResult } from '../log/partition.ts';

const READ_COMMITTED = FetchIsolationLevels.READ_COMMITTED;
const FETCH_BYTES = 4 << 20;
const SEND_RECORDS = 5000;

/** The prefix of a project's topics on Kafka: the one given, else `napkin.<project>`. */
export function logPrefix(log: KafkaLogConfig, project: string): string {
  return log.prefix ?? `napkin.${project}`;
}

/** The Kafka topic that holds a dataset's topic of a project whose log is on Kafka (`kafkaLog`). */
export function kafkaTopicOf(prefix: string, dataset: string): string {
  return `${prefix}.${dataset}`;
}

/**
 * A dataset's topic kept in a one-partition Kafka topic instead of the state folder (`log: kafkaLog(…)` in the
 * project): the same records (rows, quarantine entries, markers) at Kafka offsets. An append is one transaction of the
 * topic's transactional id `<topic>.writer`, so a chunk and its marker are visible together or not at all, and a second
 * writer fences the first (the embedded log's lock file, on the cluster). Offsets leave a gap after every append (the
 * transaction's commit marker), which readers skip as they skip compacted offsets. `dir` is the local folder of the
 * topic's state cache, a shortcut only: the topic has everything.
 */
export class KafkaLog {
  private ends = 0;
  private starts = 0;
  private topicId = '';
  private leader = 0;

  private constructor(
    readonly dir: string,
    readonly topic: string,
    private readonly conn: KafkaConnection,
    private readonly producer: Producer,
    private readonly consumer: Consumer,
  ) {}

  static async open(conn: KafkaConnection, topic: string, cacheDir: string): Promise<KafkaLog> {
    await mkdir(cacheDir, { recursive: true });
    const txnId = `${topic}.writer`;
    const what = `napkin's log on Kafka: topic ${topic}`;
    const admin = new Admin(clientOptions(conn, 'napkin-admin-log'));
    try {
      await createMissingTopics(admin, [{ name: topic, partitions: 1 }], conn, what);
    } finally {
      await admin.close().catch(() => undefined);
    }
    const producer = new Producer({
      ...clientOptions(conn, txnId),
      transactionalId: txnId,
      idempotent: true,
      acks: -1,
      timeout: 60_000,
    });
    const consumer = new Consumer({
      ...clientOptions(conn, `napkin-log-${topic}`),
      groupId: `napkin-log-${topic}`,
      isolationLevel: READ_COMMITTED,
    });
    const log = new KafkaLog(cacheDir, topic, conn, producer, consumer);
    try {
      await initTransactions(producer, txnId, what, conn, 'another napkin process writes this topic of the log');
      await log.lookUp();
      log.starts = await log.offset(ListOffsetTimestamps.EARLIEST);
      log.ends = await log.offset(ListOffsetTimestamps.LATEST);
    } catch (e) {
      await log.close();
      throw e;
    }
    return log;
  }

  startOffset(_partition: number): number {
    return this.starts;
  }

  /** Past the last committed record (and its transaction's marker): one writer, so it is known without asking. */
  endOffset(_partition: number): number {
    return this.ends;
  }

  async offsetForTimestamp(_partition: number, timestamp: number): Promise<number> {
    const n = await this.offset(BigInt(timestamp));
    return n < 0 ? this.ends : n;
  }

  /** Appends the records in one transaction; returns their offsets (consecutive: one writer, one request). */
  async append(_partition: number, records: readonly AppendRecord[]): Promise<AppendResult> {
    let tx: Awaited<ReturnType<Producer['beginTransaction']>> | undefined;
    try {
      tx = await this.producer.beginTransaction();
      let first = -1;
      for (let i = 0; i < records.length; i += SEND_RECORDS) {
        const r = await tx.send({
          messages: records.slice(i, i + SEND_RECORDS).map((x) => ({
            topic: this.topic,
            partition: 0,
            ...(x.key === null || x.key === undefined ? {} : { key: bytes(x.key) }),
            value: bytes(x.value ?? ''),
            timestamp: BigInt(x.timestamp),
          })),
        });
        if (first < 0) first = Number(r.offsets?.[0]?.offset ?? -1n);
      }
      await tx.commit();
      if (first < 0) throw new Error('the brokers returned no offset for the append');
      const last = first + records.length - 1;
      this.ends = last + 2;
      return { firstOffset: first, lastOffset: last };
    } catch (e) {
      if (tx !== undefined && !tx.completed) await tx.abort().catch(() => undefined);
      if (isFenced(e))
        throw new KafkaFencedError(
          `${this.topic}.writer`,
          `napkin's log topic ${this.topic}`,
          undefined,
          'another napkin process writes this topic of the log',
        );
      throw kafkaFailure(`napkin's log on Kafka: appending to topic ${this.topic} failed`, e, this.conn);
    }
  }

  /** Up to `max` committed records from `from` on, skipping aborted transactions and commit markers. */
  async read(_partition: number, from: number, max: number): Promise<LogRecord[]> {
    const out: LogRecord[] = [];
    const aborted = new Aborted();
    let pos = Math.max(from, this.starts);
    while (out.length < max && pos < this.ends) {
      const next = visibleRecords(await this.fetch(pos), aborted, pos, this.ends, (r) => {
        if (out.length < max) out.push({ offset: r.offset, timestamp: r.timestamp, key: r.key, value: r.value });
      });
      if (next === pos) break;
      pos = next;
    }
    return out;
  }

  async close(): Promise<void> {
    await closeClient(this.producer);
    await closeClient(this.consumer);
  }

  private async fetch(pos: number): Promise<FetchedPartition> {
    try {
      return await fetchPartition(
        this.consumer,
        { topicId: this.topicId, node: this.leader, partition: 0 },
        pos,
        FETCH_BYTES,
      );
    } catch (e) {
      throw kafkaFailure(`napkin's log on Kafka: reading topic ${this.topic} at offset ${pos} failed`, e, this.conn);
    }
  }

  private async lookUp(): Promise<void> {
    const meta = await this.consumer.metadata({ topics: [this.topic], autocreateTopics: false, forceUpdate: true });
    const t = meta.topics.get(this.topic);
    const p = t?.partitions[0];
    if (t === undefined || p === undefined) throw new Error(`napkin's log on Kafka: topic ${this.topic} is missing`);
    this.topicId = t.id;
    this.leader = p.leader;
  }

  private async offset(timestamp: bigint): Promise<number> {
    try {
      return await partitionOffset(this.consumer, this.topic, 0, timestamp);
    } catch (e) {
      throw kafkaFailure(`napkin's log on Kafka: listing offsets of topic ${this.topic} failed`, e, this.conn);
    }
  }
}

function bytes(x: Uint8Array | string): Buffer {
  return typeof x === 'string' ? Buffer.from(x) : Buffer.from(x.buffer, x.byteOffset, x.byteLength);
}
