import {
  Admin,
  Consumer,
  compatibilityPartitioner,
  FetchIsolationLevels,
  type MessageToProduce,
  Producer,
} from '@platformatic/kafka';
import type { Field, Schema } from '../../expr/types.ts';
import type { KafkaStorage } from '../../flow/kafka-storage.ts';
import type { Batch } from '../../runtime/batch.ts';
import type { EpochCommit, SinkWriter } from '../../runtime/execute.ts';
import { MIN_TIMESTAMP } from '../../time/timestamps.ts';
import { crashPoint } from '../crash-point.ts';
import { reorderTo } from '../reorder.ts';
import {
  COMMITS_TOPIC,
  clientOptions,
  closeClient,
  isFenced,
  type KafkaConnection,
  kafkaFailure,
  resolveBrokers,
} from './client.ts';
import { rowEncoder } from './codec.ts';
import { type CommitRecord, ensureTopics, lastCommit } from './commits.ts';
import { progressRecords } from './progress.ts';

export interface KafkaSinkOptions {
  readonly storage: KafkaStorage;
  readonly dataset: string;
  /** The dataset's contract: the value's fields, in this order. */
  readonly contract: Schema;
  /** The contract's key: the record key when the storage names none. */
  readonly contractKey: readonly string[];
  /** The contract's event-time field: the record timestamp. */
  readonly eventTime?: string;
  /** `merge`: a row whose `retraction` flag is set becomes a tombstone of its key. */
  readonly mode: 'replace' | 'merge';
  /** The schema of the batches the sink receives (the upstream stage's output). */
  readonly input: Schema;
  readonly flow: string;
  readonly sink: string;
  readonly fingerprint: string;
  /** Default '0': today's runs are one partition. */
  readonly partition?: string;
  /** The transaction timeout asked of the brokers (ms); default 60 s. */
  readonly transactionTimeoutMs?: number;
  /**
   * A worker's repartition topic: each commit whose watermark or idleness changed also writes a progress record to
   * each of the topic's `partitions` for upstream partition `from` (see progress.ts).
   */
  readonly progress?: { readonly from: number; readonly partitions: number };
}

/** A transaction open longer than this is aborted by the brokers; the sink's spans only one epoch's commit. */
const TRANSACTION_TIMEOUT_MS = 60_000;
/** Records per produce request. */
const SEND_RECORDS = 5000;

/** The transactional id of a sink (spec reliability §2.5): stable across restarts, so a new owner fences the old. */
export function transactionalId(flow: string, sink: string, partition: string): string {
  return `napkin.${flow}.${sink}.${partition}`;
}

/**
 * Initialises a transactional producer (InitProducerId, run by the client's first beginTransaction): it fences the
 * previous producer of the id and aborts or completes that one's last transaction. Nothing is added to the
 * transaction begun, so cancelling it is local. No expected producer id (−1): the client's default, 0, makes the broker
 * fence a new owner whose previous producer had another id (KIP-360's check). `other` says who else could hold the id.
 */
export async function initTransactions(
  producer: Producer,
  txnId: string,
  what: string,
  conn: KafkaConnection,
  other?: string,
): Promise<void> {
  try {
    const t = await producer.beginTransaction({ producerId: -1n, producerEpoch: -1 });
    await t.cancel();
  } catch (e) {
    if (isFenced(e)) throw new KafkaFencedError(txnId, what, undefined, other);
    throw kafkaFailure(`${what}: initialising transactional id ${txnId} failed`, e, conn);
  }
}

/** Thrown when a newer producer with the sink's transactional id took over: the run stops, it never retries. */
export class KafkaFencedError extends Error {
  constructor(
    readonly transactionalId: string,
    what: string,
    epoch: number | undefined,
    /** Who else writes under the id, in the words of the thing fenced. */
    other = 'another napkin process runs this sink',
  ) {
    super(
      `fenced: ${what}: transactional id ${transactionalId} was taken over by a newer producer (${other}, or the brokers aborted a transaction that outlived its timeout); this process stops${epoch === undefined ? '' : ` without committing epoch ${epoch}`} and does not retry`,
    );
  }
}

/**
 * A Kafka topic written exactly once per epoch (spec reliability §2.4, §2.5), by one transactional producer per sink
 * with transactional id `napkin.<flow>.<sink>.<partition>`. Opening it initialises the transactions (which fences an
 * older producer of the same id and settles its last transaction) and reads, with read_committed, the last epoch the
 * sink committed (`__napkin_commits`, see commits.ts). An epoch's rows are kept, encoded, until its commit, which
 * runs one transaction: the rows, the commit record, commit. An epoch already committed (regenerated after a crash)
 * produces nothing. A fenced producer stops the run with one line naming the transactional id.
 *
 * Kafka has no replace: every epoch's rows are appended, a fresh output's too (see the README, "Kafka").
 */
export async function openKafkaSink(o: KafkaSinkOptions): Promise<SinkWriter> {
  const st = o.storage;
  const partition = o.partition ?? '0';
  const txnId = transactionalId(o.flow, o.sink, partition);
  const what = `kafka sink ${o.sink} of flow ${o.flow} (topic ${st.topic}, ${st.brokers})`;
  if (st.format !== 'json' && st.schemaId === undefined)
    throw new Error(
      `dataset ${o.dataset}: kafka({ topic: '${st.topic}', format: '${st.format}' }) needs the schemaId its values are framed with to be written`,
    );
  const conn = resolveBrokers(st.brokers);
  const admin = new Admin(clientOptions(conn, `napkin-admin-${txnId}`));
  const consumer = new Consumer({
    ...clientOptions(conn, `napkin-recovery-${txnId}`),
    groupId: `napkin-recovery-${txnId}`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  let rr = 0;
  const producer = new Producer({
    ...clientOptions(conn, txnId),
    transactionalId: txnId,
    idempotent: true,
    acks: -1,
    timeout: o.transactionTimeoutMs ?? TRANSACTION_TIMEOUT_MS,
    // Keyed records go where the Java client puts them (murmur2, positive); unkeyed ones round robin.
    partitioner: (m, key) => (key === undefined ? rr++ : compatibilityPartitioner(m, key)),
  });
  const closeAll = async () => {
    await closeClient(producer);
    await closeClient(consumer);
    await admin.close().catch(() => undefined);
  };
  try {
    try {
      await ensureTopics(admin, st.topic, conn, what);
    } finally {
      await admin.close().catch(() => undefined);
    }
    await initTransactions(producer, txnId, what, conn);
    const last = await lastCommit(
      consumer,
      txnId,
      conn,
      what,
      (o.transactionTimeoutMs ?? TRANSACTION_TIMEOUT_MS) + 10_000,
    );
    await closeClient(consumer);
    return new KafkaSinkWriter(o, conn, producer, txnId, what, last);
  } catch (e) {
    await closeAll();
    throw e;
  }
}

class KafkaSinkWriter implements SinkWriter {
  private buffer: MessageToProduce[] = [];
  private readonly reorder: (b: Batch) => Batch;
  private readonly encode: ReturnType<typeof rowEncoder>;
  /** Column of the `retraction` flag in reordered batches (merge sinks), or −1. */
  private readonly retraction: number;
  private committed: number;
  private open: Awaited<ReturnType<Producer['beginTransaction']>> | undefined;
  private fenced: KafkaFencedError | undefined;
  private closed = false;
  /** The input's watermark and idleness now, and as the last progress records said (`said`). */
  private wm = MIN_TIMESTAMP;
  private isIdle = false;
  private said: { readonly wm: number; readonly idle: boolean } | undefined;

  constructor(
    private readonly o: KafkaSinkOptions,
    private readonly conn: KafkaConnection,
    private readonly producer: Producer,
    private readonly txnId: string,
    private readonly what: string,
    private last: CommitRecord | undefined,
  ) {
    this.committed = last?.epoch ?? 0;
    const flag: Field | undefined =
      o.mode === 'merge' ? o.input.fields.find((f) => f.name === 'retraction' && f.type.kind === 'bool') : undefined;
    const extra = flag !== undefined && !o.contract.fields.some((f) => f.name === 'retraction') ? [flag] : [];
    const target: Schema = { fields: [...o.contract.fields, ...extra] };
    this.reorder = reorderTo(o.input, target);
    this.retraction = flag === undefined ? -1 : target.fields.findIndex((f) => f.name === 'retraction');
    const st = o.storage;
    this.encode = rowEncoder({
      fields: o.contract.fields,
      key: st.key ?? o.contractKey,
      ...(st.headers === undefined ? {} : { headers: st.headers }),
      ...(o.eventTime === undefined ? {} : { eventTime: o.eventTime }),
      format: st.format,
      ...(st.schemaId === undefined ? {} : { schemaId: st.schemaId }),
    });
    if (this.retraction >= 0 && (st.key ?? o.contractKey).length === 0)
      throw new Error(`${what}: mode 'merge' writes retractions as tombstones of their key; declare a contract key`);
  }

  write(batch: Batch): void {
    if (this.fenced !== undefined) throw this.fenced;
    const b = this.reorder(batch);
    const topic = this.o.storage.topic;
    const flags = this.retraction < 0 ? undefined : b.columns[this.retraction];
    for (let i = 0; i < b.length; i++) {
      const r = this.encode(b.columns, i, flags?.[i] === true);
      const m: MessageToProduce = { topic, value: r.value as Buffer };
      if (r.key !== undefined) m.key = r.key;
      if (r.timestamp !== undefined) m.timestamp = r.timestamp;
      if (r.headers !== undefined) m.headers = r.headers;
      this.buffer.push(m);
    }
  }

  watermark(wm: number): void {
    this.wm = wm;
  }

  idle(idle: boolean): void {
    this.isIdle = idle;
  }

  async commit(epoch?: EpochCommit): Promise<string> {
    if (this.fenced !== undefined) throw this.fenced;
    const e = epoch?.epoch ?? this.committed + 1;
    const topic = this.o.storage.topic;
    const messages = this.buffer;
    this.buffer = [];
    const progress = this.progress();
    messages.push(...progress);
    if (
      e < this.committed ||
      (e === this.committed && this.last?.fingerprint !== (epoch?.fingerprint ?? this.o.fingerprint))
    )
      throw new Error(
        `${this.what}: transactional id ${this.txnId} has committed epoch ${this.committed} (version ${this.last?.fingerprint.slice(0, 12)}, ${this.last?.at}), but this run ${e === this.committed ? 'regenerates it as another version' : `is at epoch ${e}`}: napkin's state of flow ${this.o.flow} was reset or copied, or another project runs a flow of that name on these brokers; napkin will not skip or repeat epochs it cannot match (give the flow another name, or restore its .napkin state)`,
      );
    if (e === this.committed) return `kafka ${topic} (epoch ${e} already committed)`;
    // A regenerated epoch has the same rows, so an epoch without any needs no commit record either.
    if (messages.length === 0) return `kafka ${topic} (0 records, epoch ${e})`;
    const key: CommitRecord = {
      flow: this.o.flow,
      sink: this.o.sink,
      partition: this.o.partition ?? '0',
      epoch: e,
      fingerprint: epoch?.fingerprint ?? this.o.fingerprint,
      topic,
      records: messages.length - progress.length,
      at: new Date().toISOString(),
    };
    let step = 'beginning the transaction';
    try {
      const tx = await this.producer.beginTransaction();
      this.open = tx;
      step = 'producing the rows';
      for (let i = 0; i < messages.length; i += SEND_RECORDS)
        await tx.send({ messages: messages.slice(i, i + SEND_RECORDS) });
      crashPoint('kafka-produced');
      step = 'producing the commit record';
      await tx.send({
        messages: [
          { topic: COMMITS_TOPIC, partition: 0, key: Buffer.from(this.txnId), value: Buffer.from(JSON.stringify(key)) },
        ],
      });
      step = 'committing the transaction';
      await tx.commit();
      this.open = undefined;
      crashPoint('kafka-committed');
    } catch (err) {
      if (isFenced(err)) {
        this.fenced = new KafkaFencedError(this.txnId, this.what, e);
        this.open = undefined;
        await this.close();
        throw this.fenced;
      }
      // Unknown outcome (the commit may have been applied): never taken as success. The next run's recovery reads
      // the commit record to tell.
      throw kafkaFailure(`${this.what}: epoch ${e}: ${step} failed`, err, this.conn);
    }
    this.committed = e;
    this.last = key;
    if (progress.length > 0) this.said = { wm: this.wm, idle: this.isIdle };
    return `kafka ${topic} (${messages.length - progress.length} records, epoch ${e})`;
  }

  /** Progress records for this commit, when the watermark or idleness changed since the last ones said. */
  private progress(): MessageToProduce[] {
    const p = this.o.progress;
    // Nothing to say before the first watermark, unless the input is idle (an empty partition says so).
    if (p === undefined || (this.wm === MIN_TIMESTAMP && !this.isIdle)) return [];
    if (this.said !== undefined && this.said.wm === this.wm && this.said.idle === this.isIdle) return [];
    return progressRecords(this.o.storage.topic, p.partitions, {
      from: p.from,
      watermark: this.wm,
      idle: this.isIdle,
    });
  }

  async abort(): Promise<void> {
    this.buffer = [];
    const tx = this.open;
    this.open = undefined;
    try {
      if (tx !== undefined && !tx.completed && this.fenced === undefined) await tx.abort().catch(() => undefined);
    } finally {
      await this.close();
    }
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeClient(this.producer);
  }
}
