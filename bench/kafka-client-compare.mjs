// The measurement behind the Kafka client choice (docs/ARCHITECTURE.md, "Kafka client"): against a real broker
// (test/kafka-server.ts, or the one NAPKIN_KAFKA_BROKERS names), each client produces N records of 100-byte values
// with 8-byte keys to a 3-partition topic (acks=all, batches of 1,000 records, 4 batches in flight, no compression),
// then a new consumer group reads them back (read_committed, from the earliest offset); then the same N records in
// transactions of 1,000 records (one transaction at a time, as a task commits an epoch). MB/s counts value bytes.
// The transactional producers retry after 20 ms, doubling (the Java client starts at 20 ms too): a Kafka 4 broker
// answers CONCURRENT_TRANSACTIONS to a transaction that starts while the previous one's markers are still being
// written, and the clients' default retry delays (kafkajs 300 ms and up, @platformatic/kafka 1,000 ms) would
// dominate the figure.
//
// kafkajs is not a dependency; to run it, in a scratch copy of the repository:
//   npm install --no-save kafkajs@2.2.4
//   scripts/kafka/fetch.sh && node --import tsx bench/kafka-client-compare.mjs [--records 200000] [--repeat 3]
// A client that is not installed is skipped. Prints one JSON line per client and run, then the medians.
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RECORDS = arg('records', 200_000);
const REPEAT = arg('repeat', 1);
const BATCH = 1000;
const IN_FLIGHT = 4;
const VALUE = Buffer.alloc(100, 7);
const key = (i) => Buffer.from(String(i % 100_000_000).padStart(8, '0'));

async function tryImport(name) {
  try {
    return await import(name);
  } catch {
    console.error(`# ${name} is not installed: skipped (npm install --no-save ${name})`);
    return undefined;
  }
}

/** Runs `send(batchIndex)` for every batch with at most IN_FLIGHT at once. */
async function pipelined(batches, send) {
  let next = 0;
  const worker = async () => {
    while (next < batches) await send(next++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

const seconds = (t0) => (performance.now() - t0) / 1000;
const rate = (n, s) => ({
  seconds: +s.toFixed(2),
  recordsPerSecond: Math.round(n / s),
  mbPerSecond: +((n * VALUE.length) / s / 1e6).toFixed(1),
});

async function kafkajsRun(mod, brokers, run) {
  const { Kafka, logLevel } = mod;
  process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';
  const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
  const topic = `bench-kafkajs-${run}-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    topics: [
      { topic, numPartitions: 3 },
      { topic: `${topic}-tx`, numPartitions: 3 },
    ],
    waitForLeaders: true,
  });
  const producer = kafka.producer();
  await producer.connect();
  const batches = RECORDS / BATCH;
  const messages = (b) => Array.from({ length: BATCH }, (_, j) => ({ key: key(b * BATCH + j), value: VALUE }));
  let t0 = performance.now();
  await pipelined(batches, (b) => producer.send({ topic, acks: -1, messages: messages(b) }));
  const produce = rate(RECORDS, seconds(t0));

  const consumer = kafka.consumer({ groupId: `${topic}-g`, readUncommitted: false });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  t0 = performance.now();
  let first = 0;
  let got = 0;
  await new Promise((resolve) => {
    consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        if (got === 0) first = performance.now();
        got += batch.messages.length;
        if (got >= RECORDS) resolve();
      },
    });
  });
  const consume = { ...rate(RECORDS, seconds(t0)), joinSeconds: +((first - t0) / 1000).toFixed(2) };
  await consumer.disconnect();

  const txKafka = new Kafka({
    clientId: 'bench-tx',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { initialRetryTime: 20, retries: 10 },
  });
  const tx = txKafka.producer({ transactionalId: `${topic}-txid`, idempotent: true, maxInFlightRequests: 1 });
  await tx.connect();
  t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const t = await tx.transaction();
    await t.send({ topic: `${topic}-tx`, acks: -1, messages: messages(b) });
    await t.commit();
  }
  const transactional = rate(RECORDS, seconds(t0));
  await tx.disconnect();
  await producer.disconnect();
  await admin.disconnect();
  return { produce, consume, transactional };
}

async function platformaticRun(mod, brokers, run) {
  const { Admin, Producer, Consumer, FetchIsolationLevels } = mod;
  const topic = `bench-platformatic-${run}-${Date.now()}`;
  const admin = new Admin({ clientId: 'bench', bootstrapBrokers: brokers });
  await admin.createTopics({ topics: [topic, `${topic}-tx`], partitions: 3, replicas: 1 });
  const producer = new Producer({ clientId: 'bench', bootstrapBrokers: brokers, acks: -1, idempotent: false });
  const batches = RECORDS / BATCH;
  const messages = (b, t) =>
    Array.from({ length: BATCH }, (_, j) => ({ topic: t, key: key(b * BATCH + j), value: VALUE }));
  let t0 = performance.now();
  await pipelined(batches, (b) => producer.send({ messages: messages(b, topic) }));
  const produce = rate(RECORDS, seconds(t0));

  const consumer = new Consumer({
    clientId: 'bench',
    groupId: `${topic}-g`,
    bootstrapBrokers: brokers,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
  });
  t0 = performance.now();
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  let first = 0;
  let got = 0;
  await new Promise((resolve, reject) => {
    stream.on('error', reject);
    stream.on('data', () => {
      if (got === 0) first = performance.now();
      if (++got === RECORDS) resolve();
    });
  });
  const consume = { ...rate(RECORDS, seconds(t0)), joinSeconds: +((first - t0) / 1000).toFixed(2) };
  await stream.close();
  await consumer.close(true);

  const tx = new Producer({
    clientId: 'bench-tx',
    bootstrapBrokers: brokers,
    acks: -1,
    idempotent: true,
    transactionalId: `${topic}-txid`,
    retryDelay: (_client, _operation, attempt) => Math.min(20 * 2 ** attempt, 1000),
    retries: 30,
  });
  t0 = performance.now();
  for (let b = 0; b < batches; b++) {
    const t = await tx.beginTransaction();
    await t.send({ messages: messages(b, `${topic}-tx`) });
    await t.commit();
  }
  const transactional = rate(RECORDS, seconds(t0));
  await tx.close();
  await producer.close();
  await admin.close();
  return { produce, consume, transactional };
}

const clients = [
  ['kafkajs', await tryImport('kafkajs'), kafkajsRun],
  ['@platformatic/kafka', await tryImport('@platformatic/kafka'), platformaticRun],
].filter(([, mod]) => mod !== undefined);

let server;
let bootstrap = process.env.NAPKIN_KAFKA_BROKERS;
if (bootstrap === undefined || bootstrap === '') {
  const { startKafkaServer } = await import('../test/kafka-server.ts');
  server = await startKafkaServer();
  bootstrap = server.bootstrap;
  console.error(`# broker ${bootstrap} started in ${(server.startMs / 1000).toFixed(1)} s`);
}
const results = new Map(clients.map(([name]) => [name, []]));
try {
  for (let run = 0; run < REPEAT; run++) {
    for (const [name, mod, fn] of clients) {
      const r = await fn(mod, [bootstrap], run);
      results.get(name).push(r);
      console.log(JSON.stringify({ client: name, run, records: RECORDS, valueBytes: VALUE.length, ...r }));
    }
  }
} finally {
  await server?.stop();
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const [name, rs] of results) {
  const m = {};
  for (const phase of ['produce', 'consume', 'transactional'])
    m[phase] = {
      recordsPerSecond: median(rs.map((r) => r[phase].recordsPerSecond)),
      mbPerSecond: median(rs.map((r) => r[phase].mbPerSecond)),
    };
  console.log(JSON.stringify({ client: name, median: true, runs: rs.length, ...m }));
}
