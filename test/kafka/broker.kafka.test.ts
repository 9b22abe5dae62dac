// Smoke test of the Kafka test broker (test/kafka-server.ts) with the chosen client, @platformatic/kafka: a
// 3-partition topic, transactions committed and aborted, read_committed reads that see only the committed records
// (keys, headers and timestamps intact), and a consume-transform-produce step whose input offsets commit inside the
// output transaction, as napkin's exactly-once path on Kafka will.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Admin,
  Consumer,
  FetchIsolationLevels,
  type Message,
  type MessagesStream,
  Producer,
  stringDeserializers,
  stringSerializers,
} from '@platformatic/kafka';
import { useKafkaServer } from '../kafka-server.ts';

type Msg = Message<string, string, string, string>;
type Stream = MessagesStream<string, string, string, string>;

const TOPIC = 'smoke.orders';
const OUT = 'smoke.orders_upper';
const T0 = 1_700_000_000_000n;
// The broker creates __transaction_state and __consumer_offsets at the first transaction and the first group, and
// answers "coordinator loading" meanwhile (seconds on a busy machine); a transaction that starts while the previous
// one's markers are being written gets CONCURRENT_TRANSACTIONS. Retry soon, then back off (the defaults: 3 tries,
// 1 s apart).
const RETRY = {
  retries: 30,
  retryDelay: (_c: unknown, _op: string, attempt: number) => Math.min(25 * 2 ** attempt, 1000),
};

/** Reads `n` records from the stream (failing after `ms`), then waits `settleMs` to see whether more arrive. */
async function take(stream: Stream, n: number, ms = 60_000, settleMs = 0): Promise<Msg[]> {
  const got: Msg[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`read ${got.length} of ${n} records within ${ms / 1000} s`)), ms);
    stream.on('error', reject);
    stream.on('data', (m: Msg) => {
      got.push(m);
      if (got.length === n) {
        clearTimeout(timer);
        setTimeout(resolve, settleMs);
      }
    });
  });
  return got;
}

describe('Kafka test broker with @platformatic/kafka', () => {
  const closers: (() => Promise<unknown>)[] = [];
  let admin: Admin;
  let producer: Producer<string, string, string, string>;
  // Declared before useKafkaServer: node:test runs `after` hooks in the order they are declared, and clients closed
  // after the broker stopped would retry (and wait) until their retries run out.
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await admin?.close().catch(() => undefined);
  });
  const broker = useKafkaServer();
  const bootstrapBrokers = () => [broker().bootstrap];

  const consumer = (groupId: string, isolationLevel: number) => {
    const c = new Consumer({
      clientId: groupId,
      groupId,
      bootstrapBrokers: bootstrapBrokers(),
      deserializers: stringDeserializers,
      isolationLevel,
      ...RETRY,
    });
    closers.push(() => new Promise<void>((resolve) => c.close(true, () => resolve())));
    return c;
  };

  before(async () => {
    admin = new Admin({ clientId: 'smoke-admin', bootstrapBrokers: bootstrapBrokers(), ...RETRY });
    producer = new Producer({
      clientId: 'smoke-producer',
      bootstrapBrokers: bootstrapBrokers(),
      serializers: stringSerializers,
      transactionalId: 'smoke-tx',
      idempotent: true,
      acks: -1,
      ...RETRY,
    });
  });

  it('creates a topic with 3 partitions', async () => {
    await admin.createTopics({ topics: [TOPIC, OUT], partitions: 3, replicas: 1 });
    const metadata = await admin.metadata({ topics: [TOPIC, OUT] });
    assert.equal(metadata.topics.get(TOPIC)?.partitionsCount, 3);
    assert.equal(metadata.topics.get(OUT)?.partitionsCount, 3);
  });

  it('shows read_committed readers the committed transactions only, with keys, headers and timestamps', async () => {
    const record = (i: number, kind: string) => ({
      topic: TOPIC,
      key: `order-${i}`,
      value: `${kind}-${i}`,
      headers: { source: 'smoke', kind },
      timestamp: T0 + BigInt(i),
    });
    const committed = await producer.beginTransaction();
    await committed.send({ messages: Array.from({ length: 30 }, (_, i) => record(i, 'committed')) });
    await committed.commit();
    const aborted = await producer.beginTransaction();
    await aborted.send({ messages: Array.from({ length: 6 }, (_, i) => record(100 + i, 'aborted')) });
    await aborted.abort();
    const later = await producer.beginTransaction();
    await later.send({ messages: Array.from({ length: 10 }, (_, i) => record(30 + i, 'committed')) });
    await later.commit();

    // A read_uncommitted reader sees the aborted records too: they are in the log, so their absence below is the
    // isolation level's doing.
    const dirty = consumer('smoke-uncommitted', FetchIsolationLevels.READ_UNCOMMITTED);
    const all = await take(await dirty.consume({ topics: [TOPIC], mode: 'earliest', autocommit: false }), 46);
    assert.equal(all.filter((m) => m.value.startsWith('aborted-')).length, 6);

    const reader = consumer('smoke-committed', FetchIsolationLevels.READ_COMMITTED);
    const stream = await reader.consume({ topics: [TOPIC], mode: 'earliest', autocommit: false });
    const got = await take(stream, 40, 60_000, 2_000);
    assert.equal(got.length, 40, 'no record beyond the 40 committed ones arrives');
    assert.deepEqual(got.map((m) => m.value).sort(), Array.from({ length: 40 }, (_, i) => `committed-${i}`).sort());
    for (const m of got) {
      const i = Number(m.value.slice('committed-'.length));
      assert.equal(m.key, `order-${i}`);
      assert.equal(m.timestamp, T0 + BigInt(i));
      assert.equal(m.headers.get('source'), 'smoke');
      assert.equal(m.headers.get('kind'), 'committed');
    }
    // One key always lands on the same partition.
    const partitions = new Set(got.filter((m) => m.key === 'order-7').map((m) => m.partition));
    assert.equal(partitions.size, 1);
    assert.equal(new Set(got.map((m) => m.partition)).size, 3, 'the 40 keys spread over the 3 partitions');
  });

  it('commits the consumed offsets inside the output transaction (consume-transform-produce)', async () => {
    const group = 'smoke-transform';
    const reader = consumer(group, FetchIsolationLevels.READ_COMMITTED);
    const stream = await reader.consume({ topics: [TOPIC], mode: 'earliest', autocommit: false });
    const input = await take(stream, 40);
    const last = new Map<number, Msg>();
    for (const m of input) if ((last.get(m.partition)?.offset ?? -1n) < m.offset) last.set(m.partition, m);

    const tx = await producer.beginTransaction();
    await tx.send({ messages: input.map((m) => ({ topic: OUT, key: m.key, value: m.value.toUpperCase() })) });
    await tx.addConsumer(reader);
    for (const m of last.values()) await tx.addOffset(m);
    await tx.commit();

    // The commit returns before the broker has written the markers that make the offsets visible: poll briefly.
    const committed = new Map<number, bigint>();
    for (let tries = 0; committed.size < last.size && tries < 100; tries++) {
      if (tries > 0) await new Promise((r) => setTimeout(r, 200));
      const [offsets] = await admin.listConsumerGroupOffsets({ groups: [group], requireStable: true });
      for (const p of offsets?.topics.find((t) => t.name === TOPIC)?.partitions ?? [])
        if (p.committedOffset >= 0n) committed.set(p.partitionIndex, p.committedOffset);
    }
    for (const [partition, m] of last) assert.equal(committed.get(partition), m.offset + 1n);

    const check = consumer('smoke-out', FetchIsolationLevels.READ_COMMITTED);
    const out = await take(await check.consume({ topics: [OUT], mode: 'earliest', autocommit: false }), 40);
    assert.deepEqual(out.map((m) => m.value).sort(), input.map((m) => m.value.toUpperCase()).sort());
  });
});
