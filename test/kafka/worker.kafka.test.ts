// `napkin worker` against a real broker: a flow's partitions split over worker processes by the consumer group, each
// partition's epochs committed with its own transactional ids, the output (Kafka, read by the independent
// read_committed oracle) exactly once through SIGKILLs at random moments, a rebalance with three workers (one killed,
// one added), a zombie stalled by SIGSTOP past its session timeout fenced, and a worker of another version refused.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer } from '@platformatic/kafka';
import type { PartitionStatus } from '../../src/workspace/worker-status.ts';
import { napkin, removeDir, show, tempProject } from '../helpers.ts';
import { useKafkaServer } from '../kafka-server.ts';
import { closeProducer, createTopic, RETRY, readCommitted, testProducer } from './committed.ts';
import {
  assertExactlyOnce,
  awaitLine,
  awaitOutput,
  createFleetTopics,
  expectedRevenue,
  FLEET_MINUTE,
  fleetProject,
  flushOrders,
  type Order,
  ordersFrom,
  outputRevenue,
  produceOrders,
  produceOrdersBy,
  startWorker,
  stopWorker,
  TEST_WORKER_FLAGS,
  type WorkerProcess,
  writeFiles,
} from './fleet.ts';

const KILLS = Number(process.env.NAPKIN_WORKER_KILLS ?? '50');
/** The crash points a worker passes in each epoch (epoch-run.ts, the Kafka sink, the worker's partition take-over). */
const POINTS = [
  'epoch-offsets',
  'epoch-checkpoint',
  'epoch-sinks',
  'epoch-commit',
  'kafka-produced',
  'kafka-committed',
  'worker-taken',
];
const PARTITIONS = 4;
/** Event times start two hours back: brokers refuse timestamps far ahead, and the flush records sit at "now". */
const BASE = Math.floor((Date.now() - 2 * 3_600_000) / FLEET_MINUTE) * FLEET_MINUTE;

describe('napkin worker (scale-out over a consumer group)', () => {
  const dirs: string[] = [];
  const workers: WorkerProcess[] = [];
  after(() => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    for (const d of dirs) removeDir(d);
  });
  const broker = useKafkaServer('NAPKIN_KAFKA_BROKERS', { properties: { 'group.min.session.timeout.ms': 500 } });
  const bootstrap = () => broker().bootstrap;

  const project = (prefix: string, variant = ''): string => {
    const dir = tempProject(`napkin-worker-${prefix}-`);
    dirs.push(dir);
    writeFiles(dir, fleetProject(prefix, variant));
    return dir;
  };
  const start = (dir: string, prefix: string): WorkerProcess => {
    const w = startWorker(dir, prefix);
    workers.push(w);
    return w;
  };

  it('two workers split the partitions; every window once; group offsets committed with the epochs', async () => {
    const prefix = 'w1';
    await createFleetTopics(bootstrap(), prefix, PARTITIONS);
    const dir = project(prefix);
    const orders = ordersFrom(BASE, 120, 1000, 1);
    await produceOrders(bootstrap(), `${prefix}.orders`, orders, PARTITIONS);
    const a = start(dir, prefix);
    const b = start(dir, prefix);
    assert.ok(await awaitLine(a, /partition \d+ taken/, 60_000), a.stderr());
    assert.ok(await awaitLine(b, /partition \d+ taken/, 60_000), b.stderr());
    await produceOrders(bootstrap(), `${prefix}.orders`, flushOrders(Date.now() - 1000, PARTITIONS), PARTITIONS);
    const want = expectedRevenue(orders);
    await awaitOutput(bootstrap(), `${prefix}.revenue`, want, 120_000);
    const ra = await stopWorker(a);
    const rb = await stopWorker(b);
    assert.equal(ra.code, 0, a.stderr());
    assert.equal(rb.code, 0, b.stderr());
    // Each worker ran some partitions, and together all of them.
    const taken = (w: WorkerProcess) => [...w.stderr().matchAll(/partition (\d+) taken/g)].map((m) => Number(m[1]));
    assert.ok(taken(a).length > 0 && taken(b).length > 0, `${a.stderr()}\n${b.stderr()}`);
    assert.deepEqual([...new Set([...taken(a), ...taken(b)])].sort(), [0, 1, 2, 3]);
    assertExactlyOnce(await outputRevenue(bootstrap(), `${prefix}.revenue`), want, 'two workers');
    // The consumer group's committed offsets reached the end of every partition (flush records included).
    const c = new Consumer({
      clientId: 'check',
      groupId: `napkin.rev_${prefix}`,
      bootstrapBrokers: [bootstrap()],
      ...RETRY,
    });
    try {
      const committed = await c.listCommittedOffsets({
        topics: [{ topic: `${prefix}.orders`, partitions: [0, 1, 2, 3] }],
      });
      const ends = (await c.listOffsets({ topics: [`${prefix}.orders`] })).get(`${prefix}.orders`) ?? [];
      assert.deepEqual(committed.get(`${prefix}.orders`), ends);
      // napkin status --workers tells the same from the epoch records: every partition committed, caught up, one version.
      const st = napkin(dir, 'status', '--workers', `rev_${prefix}`, '--json');
      assert.equal(st.status, 0, show(st));
      const parts = (JSON.parse(st.stdout) as { partitions: PartitionStatus[] }).partitions;
      assert.deepEqual(
        parts.map((p) => [p.partition, p.health, p.inputs[0].lag, p.inputs[0].end, p.inFlight]),
        ends.map((end, p) => [p, 'OK', 0, Number(end), undefined]),
      );
      assert.ok(parts.every((p) => p.committed > 0 && p.fingerprint === parts[0].fingerprint));
      const text = napkin(dir, 'status', '--workers', `rev_${prefix}`);
      assert.match(
        text.stdout,
        /partition 0 +OK +epoch \d+ committed .* ago, version \w{12}; w1\.orders \d+\/\d+ \(lag 0\)/,
      );
    } finally {
      await c.close(true);
    }
  });

  it(`exactly once through ${KILLS} SIGKILLs of workers, at random moments and at named crash points`, async () => {
    const rounds = Math.max(1, Math.ceil(KILLS / 12));
    let deaths = 0;
    let byPoint = 0;
    const everyWorker: WorkerProcess[] = [];
    const unexpected: string[] = [];
    let seed = 7;
    const rand = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    for (let round = 0; round < rounds; round++) {
      const prefix = `k${round}`;
      await createFleetTopics(bootstrap(), prefix, PARTITIONS);
      const dir = project(prefix);
      const orders = ordersFrom(BASE, 60, 5000, 100 + round);
      const chunks = 12;
      const per = Math.ceil(orders.length / chunks);
      // Two slots, each running a worker; one that dies is started again, half the time set to die at a crash point.
      let stopping = false;
      const slots: WorkerProcess[] = [];
      const launch = (i: number): void => {
        const env: Record<string, string> = {};
        if (rand() < 0.5)
          env.NAPKIN_CRASH_AT = `${POINTS[Math.floor(rand() * POINTS.length)]}:${1 + Math.floor(rand() * 4)}`;
        // Take-overs restore state from snapshots taken every epoch, every second, or once an hour (then they replay
        // the epochs after the snapshot their first epoch took).
        const snapshotEvery = ['0ms', '1s', '1h'][Math.floor(rand() * 3)];
        const w = startWorker(dir, prefix, env, { ...TEST_WORKER_FLAGS, snapshotEvery });
        workers.push(w);
        everyWorker.push(w);
        slots[i] = w;
        void w.exited.then((r) => {
          if (r.signal === 'SIGKILL') {
            deaths++;
            if (env.NAPKIN_CRASH_AT !== undefined && !killedByUs.has(w)) byPoint++;
          } else if (!stopping) unexpected.push(`a worker exited by itself (${r.code}): ${w.stderr()}`);
          if (!stopping) launch(i);
        });
      };
      const killedByUs = new Set<WorkerProcess>();
      launch(0);
      launch(1);
      const target = Math.ceil((KILLS * (round + 1)) / rounds);
      let next = 0;
      while (deaths < target) {
        if (next < chunks) {
          await produceOrders(bootstrap(), `${prefix}.orders`, orders.slice(next * per, (next + 1) * per), PARTITIONS);
          next++;
        }
        await sleep(300 + rand() * 1700);
        if (deaths >= target) break;
        const victim = slots[Math.floor(rand() * slots.length)];
        if (victim.child.exitCode === null && victim.child.signalCode === null) {
          killedByUs.add(victim);
          victim.child.kill('SIGKILL');
          await victim.exited;
        }
      }
      for (; next < chunks; next++)
        await produceOrders(bootstrap(), `${prefix}.orders`, orders.slice(next * per, (next + 1) * per), PARTITIONS);
      await produceOrders(bootstrap(), `${prefix}.orders`, flushOrders(Date.now() - 1000, PARTITIONS), PARTITIONS);
      // Workers still set to die at a crash point may keep dying; the ones running at the end finish the round.
      const want = expectedRevenue(orders);
      await awaitOutput(bootstrap(), `${prefix}.revenue`, want, 180_000);
      stopping = true;
      for (const w of slots) await stopWorker(w);
      assertExactlyOnce(
        await outputRevenue(bootstrap(), `${prefix}.revenue`),
        want,
        `round ${round} (${deaths} deaths so far)`,
      );
    }
    assert.deepEqual(unexpected, []);
    const restored = everyWorker.flatMap((w) => [...w.stderr().matchAll(/state restored from the snapshot/g)]).length;
    console.log(
      `worker kill trials: ${deaths} SIGKILLs (${byPoint} at named crash points) over ${rounds} rounds; ${restored} take-overs restored a state snapshot`,
    );
    assert.ok(restored > 0, 'take-overs restored state snapshots');
    assert.ok(deaths >= KILLS, `${deaths} deaths, wanted ${KILLS}`);
  });

  it('repartitions orders keyed by id into sums per region: every window once through SIGKILLs, one partition empty', async () => {
    // The source is keyed by order id, the sums by region: each worker writes its partitions' orders to the
    // repartition topic keyed by region (with progress records for the watermark), and the flow's second part sums
    // them there. Workers are killed and started again mid-run. Source partition 3 gets no record at all: once the
    // other partitions' progress is 20 s past the first (partitionIdleTimeout), it stops holding the windows back.
    const prefix = 'x1';
    const partitions = 4;
    await createFleetTopics(bootstrap(), prefix, partitions);
    const dir = tempProject(`napkin-worker-${prefix}-`);
    dirs.push(dir);
    writeFiles(dir, fleetProject(prefix, '', '1m', 'order_id', ", partitionIdleTimeout: '20s'"));
    const orders = ordersFrom(BASE, 90, 2000, 21);
    const byId = (list: readonly Order[]) =>
      produceOrdersBy(bootstrap(), `${prefix}.orders`, list, (o, i) => ({
        key: o.id,
        partition: i % (partitions - 1),
      }));
    const third = Math.ceil(orders.length / 3);
    const started = Date.now();
    await byId(orders.slice(0, third));
    const fleet = [start(dir, prefix), start(dir, prefix)];
    for (const w of fleet)
      assert.ok(await awaitLine(w, /rev_x1\/revenue_per_minute: partition \d+ taken/, 60_000), w.stderr());
    let kills = 0;
    for (const slice of [orders.slice(third, 2 * third), orders.slice(2 * third)]) {
      await byId(slice);
      await sleep(1500);
      const i = kills % 2;
      fleet[i].child.kill('SIGKILL');
      await fleet[i].exited;
      kills++;
      fleet[i] = start(dir, prefix);
    }
    // Flush records in a minute that never closes: their progress records move the others' time on, and partition 3,
    // never heard from, turns idle 20 s past the first progress record.
    const flushMinute = BASE + 100 * FLEET_MINUTE;
    const want = expectedRevenue(orders);
    let flushes = 0;
    const complete = async () => {
      const got = await outputRevenue(bootstrap(), `${prefix}.revenue`).catch(() => new Map());
      return [...want.keys()].every((k) => got.has(k));
    };
    // Flushes every few seconds (event times rising within one minute), until the windows are out.
    const deadline = Date.now() + 150_000;
    while (!(await complete()) && Date.now() < deadline) {
      flushes++;
      await byId(flushOrders(flushMinute + flushes * 1000, partitions));
      await awaitOutput(bootstrap(), `${prefix}.revenue`, want, 4_000);
    }
    for (const w of fleet) assert.equal((await stopWorker(w)).code, 0, w.stderr());
    assertExactlyOnce(await outputRevenue(bootstrap(), `${prefix}.revenue`), want, `repartitioned, ${kills} kills`);
    // The repartition topic holds every order once, keyed by region, beside the progress records.
    const c = await readCommitted(bootstrap(), `napkin.rev_${prefix}.revenue_per_minute.repartition`);
    const rows = c.records.filter((r) => r.headers['napkin-progress'] === undefined);
    assert.equal(rows.length, orders.length + flushes * partitions);
    assert.ok(
      rows.every((r) => /^r\d$/.test(String(r.key))),
      'keyed by region',
    );
    const progress = c.records.length - rows.length;
    assert.ok(
      progress >= 3 * partitions,
      `progress records from every upstream with data to every partition: ${progress}`,
    );
    console.log(
      `repartition: ${rows.length} rows, ${progress} progress records, ${kills} kills, windows out ${((Date.now() - started) / 1000).toFixed(0)} s after the start (${flushes} flushes)`,
    );
    // napkin status --workers shows both parts, each partition of each caught up.
    const st = napkin(dir, 'status', '--workers', `rev_${prefix}`, '--json');
    assert.equal(st.status, 0, show(st));
    const parts = (JSON.parse(st.stdout) as { parts: { name: string; partitions: PartitionStatus[] }[] }).parts;
    assert.deepEqual(
      parts.map((p) => [p.name, p.partitions.map((x) => x.inputs[0].lag)]),
      [`rev_${prefix}`, `rev_${prefix}/revenue_per_minute`].map((name) => [name, [0, 0, 0, 0]]),
    );
    assert.match(
      napkin(dir, 'status', '--workers', `rev_${prefix}`).stdout,
      /rev_x1\/revenue_per_minute \(after the repartition: consumer group napkin\.rev_x1\.revenue_per_minute\)/,
    );
  });

  it('repartitions both sides of a temporal join keyed otherwise: every order joined once through a SIGKILL', async () => {
    // Orders keyed by order id, customers by customer id, each order joined with its customer's version valid at the
    // order's time: both sides go through their own repartition topic keyed by the customer, and the second part
    // joins partition p of one with partition p of the other, its watermark on each side from that side's progress.
    const prefix = 'j1';
    const partitions = 4;
    await createTopic(bootstrap(), `${prefix}.orders`, partitions);
    await createTopic(bootstrap(), `${prefix}.customers`, partitions);
    const dir = tempProject(`napkin-worker-${prefix}-`);
    dirs.push(dir);
    writeFiles(dir, {
      'napkin.config.ts': `
import { boundedOutOfOrderness, contract, dataset, defineProject, flow, kafka, read, t, write } from 'napkin';

const brokers = 'env:NAPKIN_KAFKA_BROKERS';
const orders = dataset('shop.orders', {
  owner: 'sales',
  storage: kafka({ topic: '${prefix}.orders', brokers, key: 'order_id', pollInterval: '100ms' }),
  contract: contract({ key: ['order_id'], eventTime: 'at',
    fields: { order_id: t.string(), customer: t.string(), amount: t.int64(), at: t.timestamp() } }),
});
const customers = dataset('crm.customers', {
  owner: 'sales',
  storage: kafka({ topic: '${prefix}.customers', brokers, key: 'customer_id', pollInterval: '100ms' }),
  contract: contract({ key: ['customer_id'], eventTime: 'valid_from',
    fields: { customer_id: t.string(), segment: t.string(), valid_from: t.timestamp() } }),
});
const enriched = dataset('mart.enriched', {
  owner: 'sales',
  storage: kafka({ topic: '${prefix}.enriched', brokers, key: 'order_id' }),
  contract: contract({ key: ['order_id'], content: 'open', fields: { order_id: t.string(), customer: t.string(), segment: t.string() } }),
});
const joined = read(orders, { watermark: boundedOutOfOrderness('1s') })
  .temporalJoin(read(customers, { watermark: boundedOutOfOrderness('1s') }), {
    on: [{ left: 'customer', right: 'customer_id' }],
    how: 'inner',
  })
  .stage('with_customer')
  .select('order_id', 'customer', 'segment');
export default defineProject({
  name: 'joins',
  flows: [flow({ name: 'rev_${prefix}', owner: 'sales', sla: '2s', outputs: [write(enriched, joined)] })],
});
`,
    });
    const customerCount = 40;
    const orderCount = 600;
    const t0 = BASE;
    const segmentOf = (c: number) => (c % 3 === 0 ? 'business' : 'consumer');
    const iso = (ms: number) => new Date(ms).toISOString();
    const send = async (messages: { topic: string; key: string; partition: number; value: object }[]) => {
      const p = testProducer(bootstrap());
      try {
        for (let i = 0; i < messages.length; i += 200)
          await p.send({
            messages: messages.slice(i, i + 200).map((m) => ({
              topic: m.topic,
              key: Buffer.from(m.key),
              partition: m.partition,
              value: Buffer.from(JSON.stringify(m.value)),
            })),
          });
      } finally {
        await closeProducer(p);
      }
    };
    const order = (i: number, customer = `c${i % customerCount}`, at = t0 + 10_000 + i * 100) => ({
      topic: `${prefix}.orders`,
      key: `o${i}`,
      partition: i % partitions,
      value: { order_id: `o${i}`, customer, amount: i, at: iso(at) },
    });
    const customer = (c: string, partition: number, at: number) => ({
      topic: `${prefix}.customers`,
      key: c,
      partition,
      value: { customer_id: c, segment: segmentOf(Number(c.slice(1))), valid_from: iso(at) },
    });
    // Not where the orders' customer hashes to: only the repartition brings the two sides together.
    await send(Array.from({ length: customerCount }, (_, c) => customer(`c${c}`, (c * 7 + 1) % partitions, t0)));
    await send(Array.from({ length: orderCount / 2 }, (_, i) => order(i)));
    const fleet = [start(dir, prefix), start(dir, prefix)];
    for (const w of fleet)
      assert.ok(await awaitLine(w, /rev_j1\/with_customer: partition \d+ taken/, 60_000), w.stderr());
    await send(Array.from({ length: orderCount / 4 }, (_, i) => order(orderCount / 2 + i)));
    await sleep(1500);
    fleet[0].child.kill('SIGKILL');
    await fleet[0].exited;
    fleet[0] = start(dir, prefix);
    await send(Array.from({ length: orderCount / 4 }, (_, i) => order((3 * orderCount) / 4 + i)));
    // Flush records on every partition of both topics, later than every order: both sides' watermarks pass them.
    const late = t0 + 3_600_000;
    await send([
      ...Array.from({ length: partitions }, (_, p) => ({ ...order(100_000 + p, 'nobody', late), partition: p })),
      ...Array.from({ length: partitions }, (_, p) => customer(`c${1000 + p}`, p, late)),
    ]);
    const joinedRows = async () => (await readCommitted(bootstrap(), `${prefix}.enriched`)).records;
    const deadline = Date.now() + 120_000;
    while ((await joinedRows()).length < orderCount && Date.now() < deadline) await sleep(500);
    for (const w of fleet) assert.equal((await stopWorker(w)).code, 0, w.stderr());
    const rows = (await joinedRows()).map(
      (r) =>
        JSON.parse((r.value as Buffer).toString('utf8')) as { order_id: string; customer: string; segment: string },
    );
    const ids = rows.map((r) => r.order_id);
    assert.equal(new Set(ids).size, ids.length, 'no order joined twice');
    assert.equal(ids.length, orderCount, `every order joined:\n${fleet.map((w) => w.stderr()).join('\n')}`);
    for (const r of rows) assert.equal(r.segment, segmentOf(Number(r.customer.slice(1))), r.order_id);
  });

  it('a rebalance with three workers, one killed and one added mid-run: every window once', async () => {
    const prefix = 'r1';
    const partitions = 6;
    await createFleetTopics(bootstrap(), prefix, partitions);
    const dir = project(prefix);
    const orders = ordersFrom(BASE, 80, 3000, 3);
    const half = Math.floor(orders.length / 2);
    await produceOrders(bootstrap(), `${prefix}.orders`, orders.slice(0, half), partitions);
    const fleet = [start(dir, prefix), start(dir, prefix), start(dir, prefix)];
    for (const w of fleet) assert.ok(await awaitLine(w, /partition \d+ taken/, 60_000), w.stderr());
    fleet[1].child.kill('SIGKILL');
    await fleet[1].exited;
    const added = start(dir, prefix);
    assert.ok(await awaitLine(added, /partition \d+ taken/, 60_000), added.stderr());
    await produceOrders(bootstrap(), `${prefix}.orders`, orders.slice(half), partitions);
    await produceOrders(bootstrap(), `${prefix}.orders`, flushOrders(Date.now() - 1000, partitions), partitions);
    const want = expectedRevenue(orders);
    await awaitOutput(bootstrap(), `${prefix}.revenue`, want, 120_000);
    for (const w of [fleet[0], fleet[2], added]) assert.equal((await stopWorker(w)).code, 0, w.stderr());
    assertExactlyOnce(await outputRevenue(bootstrap(), `${prefix}.revenue`), want, 'rebalance');
  });

  it('a zombie stalled by SIGSTOP past its session timeout is fenced; nothing it held is lost or repeated', async () => {
    const prefix = 'z1';
    await createFleetTopics(bootstrap(), prefix, PARTITIONS);
    const dir = project(prefix);
    const orders = ordersFrom(BASE, 80, 3000, 4);
    const half = Math.floor(orders.length / 2);
    await produceOrders(bootstrap(), `${prefix}.orders`, orders.slice(0, half), PARTITIONS);
    const zombie = start(dir, prefix);
    const other = start(dir, prefix);
    assert.ok(await awaitLine(zombie, /partition \d+ taken/, 60_000), zombie.stderr());
    assert.ok(await awaitLine(other, /partition \d+ taken/, 60_000), other.stderr());
    await produceOrders(bootstrap(), `${prefix}.orders`, orders.slice(half), PARTITIONS);
    zombie.child.kill('SIGSTOP');
    // The group gives the stalled worker's partitions to the other one after its session timeout (2 s).
    const before = (other.stderr().match(/taken/g) ?? []).length;
    const deadline = Date.now() + 60_000;
    while ((other.stderr().match(/taken/g) ?? []).length < before + 1 && Date.now() < deadline) await sleep(200);
    await sleep(2000);
    zombie.child.kill('SIGCONT');
    await produceOrders(bootstrap(), `${prefix}.orders`, flushOrders(Date.now() - 1000, PARTITIONS), PARTITIONS);
    const want = expectedRevenue(orders);
    await awaitOutput(bootstrap(), `${prefix}.revenue`, want, 120_000);
    const z = await stopWorker(zombie);
    assert.equal((await stopWorker(other)).code, 0, other.stderr());
    console.log(`zombie: exit ${z.code}, ${zombie.stderr().trim().split('\n').at(-1)}`);
    // Woken, the zombie either met the fence (one line, exit 1) or learnt of the rebalance first and let go.
    assert.ok(
      (z.code === 1 && /fenced: flow rev_z1 partition \d+: this worker was stalled/.test(zombie.stderr())) ||
        (z.code === 0 && /released/.test(zombie.stderr())),
      zombie.stderr(),
    );
    assertExactlyOnce(await outputRevenue(bootstrap(), `${prefix}.revenue`), want, 'zombie');
  });

  it('a worker of another version of the flow is refused, naming both versions', async () => {
    // The flow of the first test, changed (windows with no revenue left out): another fingerprint.
    const dir = project('w1', `.filter(col('revenue').gt(0))`);
    const w = start(dir, 'w1');
    const r = await w.exited;
    assert.notEqual(r.code, 0);
    assert.match(
      w.stderr(),
      /refused: partition \d's current output was written by version \w+, and this worker runs version \w+/,
    );
  });
});
