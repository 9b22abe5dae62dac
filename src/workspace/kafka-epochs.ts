import { Admin, Consumer, FetchIsolationLevels, type MessageToProduce, Producer } from '@platformatic/kafka';
import {
  clientOptions,
  closeClient,
  isFenced,
  type KafkaConnection,
  kafkaFailure,
} from '../connectors/kafka/client.ts';
import { compactedTopic, createMissingTopics, readCommitted, stableBounds } from '../connectors/kafka/commits.ts';
import { initTransactions, KafkaFencedError } from '../connectors/kafka/sink.ts';
import type { QuarantineEntry } from '../runtime/quarantine.ts';
import {
  type CheckpointBody,
  type CheckpointManifest,
  type CommitEntry,
  checkpointManifest,
  checksumOf,
  type EpochLog,
  type EpochPosition,
  type OffsetEntry,
  type StateSnapshot,
} from './epochs.ts';
import { ensureStateTopic, readState, STATE_PART, stateRecords, stateTopic } from './kafka-state.ts';

/** The compacted topic where the epoch records of flows run by workers live (one partition; keys below). */
export const EPOCHS_TOPIC = '__napkin_epochs';
/** Where workers put the records their epochs quarantined: key `<flow>/<partition>/<epoch>`, value JSON. */
export const QUARANTINE_TOPIC = '__napkin_quarantine';
const TRANSACTION_TIMEOUT_MS = 60_000;

/**
 * The transactional id of a flow partition's epoch records: a new owner of the partition fences the old one. A
 * project whose log is on Kafka scopes them by its log's prefix (see {@link epochsRoot}).
 */
export function epochsTransactionalId(flow: string, partition: number, scope?: string): string {
  return `${scope ?? 'napkin'}.${flow}.epochs.${partition}`;
}

/**
 * Where a flow's epoch records start in {@link EPOCHS_TOPIC}: `<flow>/` for workers (a flow's name is its identity on
 * the cluster, as Kafka Streams' application id is), `<prefix>/<flow>/` for a project whose log is on Kafka under
 * `prefix`: its records' offsets are offsets of that prefix's topics, so two projects (two prefixes) running a flow
 * of the same name never take each other's epochs.
 */
export function epochsRoot(flow: string, scope?: string): string {
  return scope === undefined ? flow : `${scope}/${flow}`;
}

/** The consumer-group offsets a partition's commit entry carries, in the same transaction (see `writeCommit`). */
export interface GroupOffsets {
  readonly consumer: Consumer;
  /** Per source dataset, its Kafka topic. */
  readonly topics: ReadonlyMap<string, string>;
}

/** The epoch records of one flow, by partition, as read from {@link EPOCHS_TOPIC}. */
export interface FlowRecords {
  /** Per partition, the latest offset entry (the fingerprint of a partition's current output). */
  readonly planned: ReadonlyMap<number, OffsetEntry>;
}

/**
 * A flow partition's epoch records (spec reliability §2.1–2.3) in Kafka, for flows run by `napkin worker`: keys
 * `<flow>/<partition>/offsets/<N>`, `<flow>/<partition>/checkpoint/<N>` and `<flow>/<partition>/commit`, values
 * the same JSON as the files of `EpochStore`. Every write is a transaction of the partition's own transactional id,
 * so once a new owner opened the partition, a stalled old owner can write nothing more (spec §2.5, §2.6). The commit
 * entry's transaction also carries the records the epoch quarantined and the consumer group's offsets of the
 * partition: they commit with it or not at all.
 *
 * Opening reads every committed record of the flow partition (after `initTransactions` settled the last owner's
 * transaction), and keeps them in memory.
 */
export class KafkaEpochStore implements EpochLog {
  private readonly offsetEntries = new Map<number, OffsetEntry>();
  private readonly checkpoints = new Map<number, CheckpointManifest>();
  private committed = 0;
  /** The latest committed snapshot, and how many parts are live in the state topic (a smaller one tombstones the rest). */
  private latest: StateSnapshot | undefined;
  private parts = 0;
  private quarantined: { readonly stage: string; readonly entries: readonly QuarantineEntry[] }[] = [];
  readonly where: string;
  /** The keys' start: `<root>/<partition>/`. */
  private readonly keyPrefix: string;

  private constructor(
    readonly flow: string,
    readonly partition: number,
    private readonly root: string,
    private readonly conn: KafkaConnection,
    private readonly producer: Producer,
    private readonly txnId: string,
    private readonly group: GroupOffsets | undefined,
    /** Where the partition's state snapshots go (see kafka-state.ts). */
    private readonly stateTopic: string,
  ) {
    this.keyPrefix = `${root}/${partition}/`;
    this.where = `kafka topic ${EPOCHS_TOPIC} (keys ${this.keyPrefix}…, ${conn.reference})`;
  }

  /**
   * Takes the partition's epoch records over (fencing their previous writer) and reads them. `scope`: the log's
   * prefix of a project whose log is on Kafka (see {@link epochsRoot}).
   */
  static async open(
    conn: KafkaConnection,
    flow: string,
    partition: number,
    group?: GroupOffsets,
    scope?: string,
  ): Promise<KafkaEpochStore> {
    const txnId = epochsTransactionalId(flow, partition, scope);
    const what = `flow ${flow} partition ${partition}: epoch records`;
    const producer = new Producer({
      ...clientOptions(conn, txnId),
      transactionalId: txnId,
      idempotent: true,
      acks: -1,
      timeout: TRANSACTION_TIMEOUT_MS,
    });
    try {
      await initTransactions(producer, txnId, what, conn, 'another worker took this partition of the flow');
      const store = new KafkaEpochStore(
        flow,
        partition,
        epochsRoot(flow, scope),
        conn,
        producer,
        txnId,
        group,
        stateTopic(flow, scope),
      );
      await store.load();
      return store;
    } catch (e) {
      await closeClient(producer);
      throw e;
    }
  }

  async position(): Promise<EpochPosition> {
    const numbers = [...this.offsetEntries.keys()].sort((a, b) => a - b);
    const o = numbers.at(-1) ?? 0;
    const c = this.committed;
    if (c !== o && c !== o - 1 && !(o === 0 && c === 0))
      throw new Error(
        `flow ${this.flow} partition ${this.partition}: its epoch records are damaged: the latest offset entry is ${o} but the latest commit entry is ${c} (${this.where})`,
      );
    const checkpoint = this.checkpoints.get(c);
    if (c > 0 && checkpoint === undefined)
      throw new Error(
        `flow ${this.flow} partition ${this.partition}: epoch ${c} is committed but its checkpoint is missing (${this.where})`,
      );
    return { planned: this.offsetEntries.get(o), committed: c, checkpoint };
  }

  async offsets(n: number): Promise<OffsetEntry | undefined> {
    return this.offsetEntries.get(n);
  }

  async writeOffsets(e: Omit<OffsetEntry, 'format' | 'version' | 'flow'>): Promise<OffsetEntry> {
    const entry: OffsetEntry = { format: 'napkin-offsets', version: 1, flow: this.flow, ...e };
    await this.transaction(`offset entry ${e.epoch}`, [this.record(`offsets/${e.epoch}`, entry)]);
    this.offsetEntries.set(e.epoch, entry);
    return entry;
  }

  async writeCheckpoint(m: CheckpointBody): Promise<void> {
    const manifest = checkpointManifest(this.flow, m);
    await this.transaction(`checkpoint ${m.epoch}`, [this.record(`checkpoint/${m.epoch}`, manifest)]);
    this.checkpoints.set(m.epoch, manifest);
  }

  /** Keeps the records epoch N quarantined for its commit entry's transaction; `null` drops them. */
  stageQuarantine(entries: readonly { readonly stage: string; readonly entries: readonly QuarantineEntry[] }[]) {
    this.quarantined = [...entries];
  }

  async snapshot(): Promise<StateSnapshot | undefined> {
    return this.latest;
  }

  async writeCommit(epoch: number, state?: Uint8Array): Promise<void> {
    const entry: CommitEntry = {
      format: 'napkin-commit',
      version: 1,
      flow: this.flow,
      epoch,
      committedAt: new Date().toISOString(),
    };
    const quarantine: MessageToProduce[] = this.quarantined.map((q) => ({
      topic: QUARANTINE_TOPIC,
      partition: 0,
      key: Buffer.from(`${this.flow}/${this.partition}/${epoch}/${q.stage}`),
      value: Buffer.from(JSON.stringify(q.entries)),
    }));
    // The checkpoints this commit makes obsolete go in the same transaction: one write per epoch fewer than a
    // separate `collect`.
    const old = [...this.checkpoints.keys()].filter((n) => n < epoch);
    const snapshot =
      state === undefined ? undefined : stateRecords(this.stateTopic, this.partition, epoch, state, this.parts);
    await this.transaction(
      `commit entry ${epoch}`,
      [
        this.record('commit', entry),
        ...quarantine,
        ...old.map((n) => this.record(`checkpoint/${n}`, null)),
        ...(snapshot?.records ?? []),
      ],
      this.offsetEntries.get(epoch),
    );
    for (const n of old) this.checkpoints.delete(n);
    if (state !== undefined && snapshot !== undefined) {
      this.latest = { epoch, bytes: state };
      this.parts = snapshot.parts;
    }
    this.quarantined = [];
    this.committed = epoch;
  }

  /** Tombstones the checkpoints before `epoch` still held (the commit entry's transaction usually took them). */
  async collect(epoch: number): Promise<void> {
    const old = [...this.checkpoints.keys()].filter((n) => n < epoch);
    if (old.length === 0) return;
    await this.transaction(
      `collecting checkpoints before ${epoch}`,
      old.map((n) => this.record(`checkpoint/${n}`, null)),
    );
    for (const n of old) this.checkpoints.delete(n);
  }

  async close(): Promise<void> {
    await closeClient(this.producer);
  }

  /** A record of the partition's; `null`: a tombstone (no value), which compaction removes with its key. */
  private record(suffix: string, value: unknown): MessageToProduce {
    const bytes: Buffer | undefined = value === null ? undefined : Buffer.from(JSON.stringify(value));
    return {
      topic: EPOCHS_TOPIC,
      partition: 0,
      key: Buffer.from(`${this.keyPrefix}${suffix}`),
      value: bytes as Buffer,
    };
  }

  /** One transaction: the records, and with an offset entry the group offsets at its ranges' ends. */
  private async transaction(what: string, messages: MessageToProduce[], offsets?: OffsetEntry): Promise<void> {
    let tx: Awaited<ReturnType<Producer['beginTransaction']>> | undefined;
    try {
      tx = await this.producer.beginTransaction();
      // A snapshot part goes alone: records of one send share a batch, and a batch must fit the record limit too.
      const small: MessageToProduce[] = [];
      for (const m of messages) {
        if ((m.value?.length ?? 0) < STATE_PART) small.push(m);
        else await tx.send({ messages: [m] });
      }
      if (small.length > 0) await tx.send({ messages: small });
      if (offsets !== undefined && this.group !== undefined) await this.addGroupOffsets(tx, offsets, this.group);
      await tx.commit();
    } catch (e) {
      if (tx !== undefined && !tx.completed) await tx.abort().catch(() => undefined);
      const full = `flow ${this.flow} partition ${this.partition}: ${what}`;
      if (isFenced(e))
        throw new KafkaFencedError(this.txnId, full, undefined, 'another worker took this partition of the flow');
      throw kafkaFailure(`${full}: writing to ${EPOCHS_TOPIC} failed`, e, this.conn);
    }
  }

  private async addGroupOffsets(
    tx: Awaited<ReturnType<Producer['beginTransaction']>>,
    e: OffsetEntry,
    g: GroupOffsets,
  ): Promise<void> {
    await tx.addConsumer(g.consumer);
    const consumer = g.consumer as Consumer & { memberId: string | null; generationId: number };
    for (const [ds, range] of Object.entries(e.ranges)) {
      const topic = g.topics.get(ds);
      if (topic === undefined) continue;
      // The client commits `offset + 1`: the next record to read is the range's end.
      await tx.addOffset({
        topic,
        partition: this.partition,
        offset: BigInt(range.to - 1),
        key: undefined,
        value: undefined,
        headers: new Map(),
        timestamp: 0n,
        metadata: {
          consumer: {
            groupId: consumer.groupId,
            generationId: consumer.generationId,
            memberId: consumer.memberId ?? '',
            coordinatorId: consumer.coordinatorId,
          },
        },
        commit: () => undefined,
      } as unknown as Parameters<typeof tx.addOffset>[0]);
    }
  }

  private async load(): Promise<void> {
    const records = await readFlowRecords(this.conn, this.root, this.partition);
    await ensureStateTopic(this.conn, this.stateTopic, this.partition + 1, this.where);
    const stored = await readState(this.conn, this.stateTopic, this.partition, TRANSACTION_TIMEOUT_MS + 10_000);
    this.latest = stored.latest;
    this.parts = stored.parts;
    for (const [key, value] of records) {
      const rest = key.slice(this.keyPrefix.length);
      if (rest === 'commit') this.committed = (value as CommitEntry).epoch;
      else if (rest.startsWith('offsets/')) this.offsetEntries.set(Number(rest.slice(8)), value as OffsetEntry);
      else if (rest.startsWith('checkpoint/')) {
        const m = value as CheckpointManifest;
        const { checksum, ...body } = m;
        if (checksumOf(body) !== checksum)
          throw new Error(`${this.where}: checkpoint ${m.epoch} fails its checksum: the record is damaged`);
        this.checkpoints.set(Number(rest.slice(11)), m);
      }
    }
  }
}

/**
 * Every live record under a flow's root (see {@link epochsRoot}) in {@link EPOCHS_TOPIC} (of one partition, or all),
 * by key, tombstones removed; read with read_committed once no transaction is open on the topic.
 */
export async function readFlowRecords(
  conn: KafkaConnection,
  root: string,
  partition?: number,
): Promise<Map<string, unknown>> {
  const what = `flow ${root}: reading its epoch records`;
  const prefix = partition === undefined ? `${root}/` : `${root}/${partition}/`;
  await ensureEpochTopics(conn, what);
  const consumer = new Consumer({
    ...clientOptions(conn, `napkin-epochs-${root.replace('/', '.')}`),
    groupId: `napkin-epochs-${root.replace('/', '.')}`,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  const fail = (step: string, e: unknown) => kafkaFailure(`${what}: ${step} of ${EPOCHS_TOPIC} failed`, e, conn);
  const out = new Map<string, unknown>();
  try {
    const { t, start, end } = await stableBounds(consumer, EPOCHS_TOPIC, what, TRANSACTION_TIMEOUT_MS + 10_000, fail);
    await readCommitted(consumer, t, start, end, fail, (key, value) => {
      const k = key.toString('utf8');
      if (!k.startsWith(prefix)) return;
      if (value === null) out.delete(k);
      else out.set(k, JSON.parse(value.toString('utf8')));
    });
  } finally {
    await closeClient(consumer);
  }
  return out;
}

/** The latest offset entry of partition `p` among a flow's records under `root` (see {@link readFlowRecords}). */
export function latestOffsets(records: ReadonlyMap<string, unknown>, root: string, p: number): OffsetEntry | undefined {
  let best: OffsetEntry | undefined;
  const prefix = `${root}/${p}/offsets/`;
  for (const [k, v] of records)
    if (k.startsWith(prefix) && (best === undefined || (v as OffsetEntry).epoch > best.epoch)) best = v as OffsetEntry;
  return best;
}

/** The latest offset entry of every partition of a flow: what versions its partitions' current outputs are. */
export async function flowRecords(conn: KafkaConnection, flow: string): Promise<FlowRecords> {
  const planned = new Map<number, OffsetEntry>();
  for (const [key, value] of await readFlowRecords(conn, flow)) {
    const m = /^(\d+)\/offsets\/(\d+)$/.exec(key.slice(flow.length + 1));
    if (m === null) continue;
    const p = Number(m[1]);
    const e = value as OffsetEntry;
    if ((planned.get(p)?.epoch ?? 0) < e.epoch) planned.set(p, e);
  }
  return { planned };
}

/** Creates the compacted topics of workers' epoch records and quarantine when they are missing. */
async function ensureEpochTopics(conn: KafkaConnection, what: string): Promise<void> {
  const admin = new Admin(clientOptions(conn, 'napkin-admin-epochs'));
  try {
    await createMissingTopics(admin, [compactedTopic(EPOCHS_TOPIC), compactedTopic(QUARANTINE_TOPIC)], conn, what);
  } finally {
    await admin.close().catch(() => undefined);
  }
}
