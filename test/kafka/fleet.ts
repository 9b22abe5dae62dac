// A fleet of `napkin worker` processes over a real broker, for the scale-out tests: a project whose flow sums order
// amounts per region and minute of event time (Kafka in, Kafka out), input written by the test, and the output
// checked by the independent read_committed oracle (committed.ts) against sums computed here.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MessageToProduce } from '@platformatic/kafka';
import { BIN, writeFiles } from '../helpers.ts';
import { closeProducer, createTopic, readCommitted, testProducer } from './committed.ts';

export const REGIONS = 8;
const MINUTE = 60_000;

/**
 * A project with flow `rev_<prefix>`: `<prefix>.orders` (keyed by region) → per region and minute → `<prefix>.revenue`.
 * `window` replaces the minute (the bench's latency phase needs many windows to close within seconds); `sourceKey`
 * 'order_id' keys the orders otherwise than the sums, so workers repartition them by region.
 */
export function fleetProject(
  prefix: string,
  variant = '',
  window = '1m',
  sourceKey = 'region',
  storageExtra = '',
): Record<string, string> {
  return {
    'napkin.config.ts': `
import { boundedOutOfOrderness, col, contract, count, dataset, defineProject, fixed, flow, kafka, read, sum, t, write } from 'napkin';

const orders = dataset('shop.orders', {
  owner: 'sales',
  storage: kafka({ topic: '${prefix}.orders', brokers: 'env:NAPKIN_KAFKA_BROKERS', key: '${sourceKey}', pollInterval: '100ms'${storageExtra} }),
  contract: contract({ key: ['order_id'], eventTime: 'at',
    fields: { order_id: t.string(), region: t.string(), amount: t.int64(), at: t.timestamp() } }),
});
const revenue = dataset('mart.revenue', {
  owner: 'sales',
  storage: kafka({ topic: '${prefix}.revenue', brokers: 'env:NAPKIN_KAFKA_BROKERS' }),
  contract: contract({ key: ['region', 'window_start'],
    fields: { region: t.string(), window_start: t.timestamp(), window_end: t.timestamp(), revenue: t.int64().optional(), orders: t.int64(),
      pane_timing: t.enum('pane_timing', ['EARLY', 'ON_TIME', 'LATE']), pane_index: t.int64(), pane_is_last: t.bool(),
      event_time: t.timestamp() } }),
});
const perMinute = read(orders, { watermark: boundedOutOfOrderness('1s'), onInvalid: 'quarantine', errorBudget: 'unlimited' })
  .window(fixed('${window}'))
  .groupBy('region')
  .agg({ revenue: sum(col('amount')), orders: count() })
  .stage('revenue_per_minute');
export default defineProject({
  name: 'fleet',
  flows: [flow({ name: 'rev_${prefix}', owner: 'sales', sla: '2s', outputs: [write(revenue, perMinute${variant})] })],
});
`,
  };
}

/** One order: its region decides its partition (region r goes to partition r % partitions). */
export interface Order {
  readonly id: string;
  readonly region: number;
  readonly amount: number;
  readonly at: number;
}

/** `n` orders per region, one every `stepMs` of event time from `base`, amounts from a seeded sequence. */
export function ordersFrom(base: number, n: number, stepMs: number, seed: number): Order[] {
  const out: Order[] = [];
  let x = seed >>> 0;
  for (let i = 0; i < n; i++)
    for (let r = 0; r < REGIONS; r++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
      out.push({ id: `${seed}-${i}-${r}`, region: r, amount: (x % 1000) + 1, at: base + i * stepMs });
    }
  return out;
}

/** Writes orders (region r to partition r % partitions), in batches of `batch`. */
export async function produceOrders(
  bootstrap: string,
  topic: string,
  orders: readonly Order[],
  partitions: number,
  batch = 500,
): Promise<void> {
  const p = testProducer(bootstrap);
  try {
    for (let i = 0; i < orders.length; i += batch)
      await p.send({ messages: orders.slice(i, i + batch).map((o) => orderMessage(topic, o, partitions)) });
  } finally {
    await closeProducer(p);
  }
}

/** Writes orders with the key and partition `place` gives each (the i-th order of the list). */
export async function produceOrdersBy(
  bootstrap: string,
  topic: string,
  orders: readonly Order[],
  place: (o: Order, i: number) => { readonly key: string; readonly partition: number },
  batch = 500,
): Promise<void> {
  const p = testProducer(bootstrap);
  try {
    for (let i = 0; i < orders.length; i += batch)
      await p.send({
        messages: orders.slice(i, i + batch).map((o, j) => {
          const { key, partition } = place(o, i + j);
          return { ...orderMessage(topic, o, 1), key: Buffer.from(key), partition };
        }),
      });
  } finally {
    await closeProducer(p);
  }
}

/** One order as the flow's source reads it: keyed by region, region r in partition r % partitions. */
export function orderMessage(topic: string, o: Order, partitions: number): MessageToProduce {
  return {
    topic,
    partition: o.region % partitions,
    key: Buffer.from(`r${o.region}`),
    value: Buffer.from(
      JSON.stringify({ order_id: o.id, region: `r${o.region}`, amount: o.amount, at: new Date(o.at).toISOString() }),
    ),
    timestamp: BigInt(o.at),
  };
}

/** Per `region|window_start` (ISO), the revenue and order count of the minute (or of windows of `windowMs`). */
export function expectedRevenue(
  orders: readonly Order[],
  windowMs = MINUTE,
): Map<string, { revenue: number; orders: number }> {
  const out = new Map<string, { revenue: number; orders: number }>();
  for (const o of orders) {
    const k = `r${o.region}|${new Date(Math.floor(o.at / windowMs) * windowMs).toISOString()}`;
    const v = out.get(k) ?? { revenue: 0, orders: 0 };
    out.set(k, { revenue: v.revenue + o.amount, orders: v.orders + 1 });
  }
  return out;
}

/** What the output topic holds, per `region|window_start`: every committed record of it. */
export async function outputRevenue(
  bootstrap: string,
  topic: string,
): Promise<Map<string, { revenue: number; orders: number }[]>> {
  const c = await readCommitted(bootstrap, topic);
  const out = new Map<string, { revenue: number; orders: number }[]>();
  for (const r of c.records) {
    const v = JSON.parse((r.value as Buffer).toString('utf8')) as {
      region: string;
      window_start: string;
      revenue: number | string;
      orders: number | string;
    };
    const k = `${v.region}|${v.window_start}`;
    out.set(k, [...(out.get(k) ?? []), { revenue: Number(v.revenue), orders: Number(v.orders) }]);
  }
  return out;
}

/**
 * Checks exactly-once: every expected window once, with its sums; nothing else but the windows of `ignore` (the
 * flush records' minute, never closed).
 */
export function assertExactlyOnce(
  got: ReadonlyMap<string, readonly { revenue: number; orders: number }[]>,
  want: ReadonlyMap<string, { revenue: number; orders: number }>,
  what: string,
): void {
  const missing = [...want.keys()].filter((k) => !got.has(k));
  const repeated = [...got].filter(([k, v]) => want.has(k) && v.length > 1).map(([k, v]) => `${k} ×${v.length}`);
  const wrong = [...want]
    .filter(([k, v]) => got.get(k)?.length === 1 && JSON.stringify(got.get(k)?.[0]) !== JSON.stringify(v))
    .map(([k, v]) => `${k}: got ${JSON.stringify(got.get(k)?.[0])}, want ${JSON.stringify(v)}`);
  const extra = [...got.keys()].filter((k) => !want.has(k));
  assert.deepEqual(
    {
      missing: missing.slice(0, 5),
      repeated: repeated.slice(0, 5),
      wrong: wrong.slice(0, 5),
      extra: extra.slice(0, 5),
    },
    { missing: [], repeated: [], wrong: [], extra: [] },
    `${what}: ${missing.length} missing, ${repeated.length} repeated, ${wrong.length} wrong, ${extra.length} unexpected windows`,
  );
}

/** Waits until the output holds every expected window (or the deadline passes). */
export async function awaitOutput(
  bootstrap: string,
  topic: string,
  want: ReadonlyMap<string, unknown>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await outputRevenue(bootstrap, topic).catch(() => new Map());
    if ([...want.keys()].every((k) => got.has(k))) return;
    if (Date.now() > deadline) return;
    await sleep(500);
  }
}

export async function createFleetTopics(bootstrap: string, prefix: string, partitions: number): Promise<void> {
  await createTopic(bootstrap, `${prefix}.orders`, partitions);
}

/** A worker process: its child, and what it wrote to stderr. */
export interface WorkerProcess {
  readonly child: ChildProcess;
  readonly stderr: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `napkin worker` options; one left out takes the CLI's default (the epoch interval then comes from the SLA). */
export interface WorkerFlags {
  readonly epochInterval?: string;
  readonly sessionTimeout?: string;
  /** How often a committed epoch stores the operator state (`--snapshot-every`). */
  readonly snapshotEvery?: string;
}

/** Short epochs and session timeout, so that the tests' kills and rebalances play out in seconds. */
export const TEST_WORKER_FLAGS: WorkerFlags = { epochInterval: '300ms', sessionTimeout: '2s' };

/** Starts `napkin worker --flow rev_<prefix>` in `dir` (300 ms epochs, 2 s session timeout unless `flags` say). */
export function startWorker(
  dir: string,
  prefix: string,
  env: Readonly<Record<string, string>> = {},
  flags: WorkerFlags = TEST_WORKER_FLAGS,
): WorkerProcess {
  const args = [BIN, '--project', dir, 'worker', '--flow', `rev_${prefix}`];
  if (flags.epochInterval !== undefined) args.push('--epoch-interval', flags.epochInterval);
  if (flags.sessionTimeout !== undefined) args.push('--session-timeout', flags.sessionTimeout);
  if (flags.snapshotEvery !== undefined) args.push('--snapshot-every', flags.snapshotEvery);
  const child = spawn(process.execPath, args, {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => err, exited };
}

/** Waits until a worker's stderr matches `re` (it took a partition, say), or it exited, or the deadline. */
export async function awaitLine(w: WorkerProcess, re: RegExp, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (re.test(w.stderr())) return true;
    if (w.child.exitCode !== null || w.child.signalCode !== null) return false;
    await sleep(100);
  }
  return false;
}

/** Stops a worker with SIGTERM (a last epoch, then it leaves the group) and waits for it. */
export async function stopWorker(w: WorkerProcess, timeoutMs = 60_000): Promise<{ code: number | null }> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return { code: w.child.exitCode };
  w.child.kill('SIGTERM');
  const t = setTimeout(() => w.child.kill('SIGKILL'), timeoutMs);
  const r = await w.exited;
  clearTimeout(t);
  return r;
}

/** The flush records: one per partition, at `at`, so every partition's watermark passes the minutes before it. */
export function flushOrders(at: number, partitions: number): Order[] {
  return Array.from({ length: partitions }, (_, p) => ({ id: `flush-${p}`, region: p, amount: 0, at }));
}

export const FLEET_MINUTE = MINUTE;
export { writeFiles };
