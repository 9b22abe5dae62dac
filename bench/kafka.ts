/**
 * `node --import tsx bench/kafka.ts [--rows N] [--repeat K]` (or `npm run bench -- --only kafka`): `napkin worker`
 * processes over a real single-node broker (test/kafka-server.ts), Kafka in → sum per region and 1 s window → Kafka
 * out (the fleet project of test/kafka/fleet.ts: watermark bound 1 s, SLA 2 s), with 1 and then 2 workers, each run
 * on a fresh topic pair of 4 partitions; then 2 workers over orders keyed by order id, which the workers repartition
 * by region through napkin's repartition topic (two hops: caught up once the second part has read it to its end). Epochs run at the interval the flow's SLA gives (`scheduleOf`: 500 ms for
 * 2 s); the session timeout is the CLI's default (10 s).
 *
 * - catch-up: N/50 orders (200,000 at the default N = 10M) and one flush record per partition are written before
 *   the workers start; the clock runs from their spawn (startup and group join included) until every partition's
 *   committed offset in the group `napkin.<flow>` reaches the end of the input topic, polled every 100 ms. CPU
 *   seconds are utime + stime of the worker processes (every thread) from /proc/<pid>/stat at that moment, startup
 *   included. The output must then hold every window exactly once with its exact sums, or the case fails.
 * - latency: the same workers then get 2,000 orders/s for 20 s stamped with the wall clock at sending; a
 *   read_committed consumer in this process notes when each window's record arrives (fetches wait at most 100 ms),
 *   and a window's latency is that time minus (window end + the 1 s bound), the earliest moment its watermark could
 *   pass. p50 and p99 (nearest rank) over the windows wholly inside the stream; `withinSla` is p99 ≤ the SLA.
 *   After SIGTERM, the whole output is checked again (every window it holds once and exact, none of the catch-up's
 *   missing).
 *
 * - take-over: one worker catches up on the same N/50 orders with state snapshots every epoch, every 30 s (the
 *   default) or never, and is stopped; a new worker's take-over of the four partitions is timed (its own `taken`
 *   lines), with how many restored a snapshot and how many epochs they replayed; the output is checked again.
 *
 * --repeat K repeats the catch-up K times per worker count (fresh topics and workers each time) and keeps the run
 * with the median time; the latency phase runs once, on the last run's workers. With no Java or no broker jars it
 * prints one line `{"case":"kafka","skipped":…}` and exits 0. Prints one JSON object per worker count on stdout, a
 * table on stderr.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Consumer, FetchIsolationLevels, MessagesStreamModes } from '@platformatic/kafka';
import { scheduleOf } from '../src/workspace/live.ts';
import { openWorkspace } from '../src/workspace/workspace.ts';
import { removeDir, tempProject } from '../test/helpers.ts';
import { closeProducer, createTopic, RETRY, testProducer } from '../test/kafka/committed.ts';
import {
  assertExactlyOnce,
  awaitLine,
  expectedRevenue,
  fleetProject,
  flushOrders,
  type Order,
  orderMessage,
  ordersFrom,
  outputRevenue,
  produceOrders,
  produceOrdersBy,
  REGIONS,
  startWorker,
  stopWorker,
  type WorkerFlags,
  type WorkerProcess,
  writeFiles,
} from '../test/kafka/fleet.ts';
import { type KafkaServer, kafkaUnavailable, startKafkaServer } from '../test/kafka-server.ts';

const PARTITIONS = 4;
/** Worker counts, and whether the source is keyed by order id (so the workers repartition the orders by region). */
const CASES: readonly { readonly workers: number; readonly repartition: boolean }[] = [
  { workers: 1, repartition: false },
  { workers: 2, repartition: false },
  { workers: 2, repartition: true },
];
/** Short windows, so that the 20 s stream closes about 150 of them (a minute would close none or 8). */
const WINDOW = '1s';
const WINDOW_MS = 1000;
/** The fleet flow's watermark, boundedOutOfOrderness('1s'): a window can close no earlier than this after its end. */
const BOUND_MS = 1000;
/** One preloaded order per region every 10 ms of event time: 100 per region and window, output 1% of the input. */
const STEP_MS = 10;
const STREAM_RATE = 2000;
const STREAM_SECONDS = 20;
const POLL_MS = 100;
/** The CLI's defaults: epochs at the SLA's interval, a 10 s session timeout. */
const FLAGS: WorkerFlags = {};

interface Args {
  readonly rows: number;
  readonly repeat: number;
}

interface CatchUp {
  readonly records: number;
  readonly seconds: number;
  /** From spawn to the first partition taken: process start, project load, group join. */
  readonly startSeconds: number;
  readonly cpuSeconds: number | null;
  /** Workers that had taken a partition by then: with few records, a late joiner finds the work done. */
  readonly activeWorkers: number;
}

interface Latency {
  readonly windows: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly sent: number;
}

interface Schedule {
  readonly epochIntervalMs: number;
  readonly slaMs: number;
}

function parseArgs(argv: readonly string[]): Args {
  let rows = 10_000_000;
  let repeat = 1;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rows') rows = Number(argv[++i]?.replaceAll('_', ''));
    else if (a === '--repeat') repeat = Number(argv[++i]);
    else throw new Error(`unknown option ${a}; options: --rows N, --repeat K`);
  }
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error('--rows takes a positive integer');
  if (!Number.isSafeInteger(repeat) || repeat < 1) throw new Error('--repeat takes a positive integer');
  return { rows, repeat };
}

const log = (s: string): void => {
  process.stderr.write(`${s}\n`);
};
const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Orders per run: N/50, whole rounds of the regions, at least 100 per region. */
function preloadCount(rows: number): number {
  return Math.max(100, Math.round(rows / 50 / REGIONS)) * REGIONS;
}

/** The epoch interval `napkin worker` derives from the flow's SLA, asked of the same code it uses. */
async function scheduleOfProject(dir: string, flow: string): Promise<Schedule> {
  const ws = await openWorkspace(dir);
  const b = ws.plan.flows.find((f) => f.flow.name === flow);
  if (b === undefined) throw new Error(`no flow ${flow} in ${dir}`);
  return { epochIntervalMs: scheduleOf(b).intervalMs, slaMs: b.flow.slaMs };
}

/**
 * Writes the catch-up input: orders from two hours back, then flush records that close every one of its windows.
 * Repartitioned: keyed by order id, spread over the partitions in turn (a flush record to each).
 */
async function preload(
  bootstrap: string,
  topic: string,
  count: number,
  repartition: boolean,
): Promise<{ orders: Order[]; flush: Order[] }> {
  const base = Math.floor((Date.now() - 2 * 3_600_000) / WINDOW_MS) * WINDOW_MS;
  const perRegion = count / REGIONS;
  const orders = ordersFrom(base, perRegion, STEP_MS, 11);
  const flush = flushOrders(base + perRegion * STEP_MS + WINDOW_MS + 2 * BOUND_MS, PARTITIONS);
  if (!repartition) await produceOrders(bootstrap, topic, [...orders, ...flush], PARTITIONS, 2000);
  else for (const list of [orders, flush]) await produceOrdersBy(bootstrap, topic, list, byId, 2000);
  return { orders, flush };
}

/** Where a repartitioned run's orders go: keyed by id, partitions in turn. */
function byId(o: Order, i: number): { key: string; partition: number } {
  return { key: o.id, partition: i % PARTITIONS };
}

/** A client of the workers' group that never joins it: it reads the group's committed offsets and the topic's ends. */
function groupReader(bootstrap: string, group: string): Consumer {
  return new Consumer({ clientId: 'bench-kafka', groupId: group, bootstrapBrokers: [bootstrap], ...RETRY });
}

/** utime + stime of processes in seconds (every thread); null off Linux. Read while they run: exited ones are gone. */
function cpuSecondsOf(pids: readonly (number | undefined)[]): number | null {
  let ticks = 0;
  try {
    for (const pid of pids) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the parenthesised command name, which may hold spaces: utime and stime are fields 14 and 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    }
  } catch {
    return null;
  }
  return ticks / clockTicks();
}

function clockTicks(): number {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

const taken = (w: WorkerProcess): boolean => /partition \d+ taken/.test(w.stderr());

function assertRunning(workers: readonly WorkerProcess[]): void {
  for (const w of workers)
    if (w.child.exitCode !== null || w.child.signalCode !== null)
      throw new Error(`a worker exited (${w.child.exitCode ?? w.child.signalCode}):\n${w.stderr()}`);
}

/** Polls the group's committed offsets until each reaches its partition's end; times it from `t0` (the spawn). */
async function awaitCaughtUp(
  bootstrap: string,
  group: string,
  topic: string,
  workers: readonly WorkerProcess[],
  t0: number,
): Promise<Omit<CatchUp, 'records'>> {
  const c = groupReader(bootstrap, group);
  try {
    const ends = (await c.listOffsets({ topics: [topic] })).get(topic) ?? [];
    const partitions = ends.map((_, p) => p);
    let startSeconds = Number.NaN;
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline) {
      assertRunning(workers);
      if (Number.isNaN(startSeconds) && workers.some(taken)) startSeconds = (performance.now() - t0) / 1000;
      const committed = (await c.listCommittedOffsets({ topics: [{ topic, partitions }] })).get(topic) ?? [];
      if (ends.every((end, p) => (committed[p] ?? -1n) >= end)) {
        const seconds = (performance.now() - t0) / 1000;
        const cpuSeconds = cpuSecondsOf(workers.map((w) => w.child.pid));
        return { seconds, startSeconds, cpuSeconds, activeWorkers: workers.filter(taken).length };
      }
      await sleep(POLL_MS);
    }
    throw new Error(`the workers did not catch up within 600 s:\n${workers.map((w) => w.stderr()).join('\n')}`);
  } finally {
    await c.close(true);
  }
}

/** A window record as it became visible: its key, window end, and when this process received it. */
interface Seen {
  readonly key: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly at: number;
}

/** A read_committed consumer of the output from its start, noting when each record arrives. */
async function watchOutput(
  bootstrap: string,
  topic: string,
): Promise<{ readonly seen: Seen[]; close(): Promise<void> }> {
  const c = new Consumer({
    clientId: 'bench-latency',
    groupId: `bench-latency-${topic}`,
    bootstrapBrokers: [bootstrap],
    ...RETRY,
  });
  const stream = await c.consume({
    topics: [topic],
    mode: MessagesStreamModes.EARLIEST,
    autocommit: false,
    isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    // Bounds how late a record can be noted if the broker does not answer a waiting fetch at the commit.
    maxWaitTime: 100,
  });
  const seen: Seen[] = [];
  stream.on('data', (m) => {
    const at = Date.now();
    const v = JSON.parse(m.value.toString('utf8')) as { region: string; window_start: string; window_end: string };
    seen.push({
      key: `${v.region}|${v.window_start}`,
      windowStart: Date.parse(v.window_start),
      windowEnd: Date.parse(v.window_end),
      at,
    });
  });
  return {
    seen,
    async close() {
      await stream.close();
      await c.close(true);
    },
  };
}

/** Orders at STREAM_RATE for STREAM_SECONDS, each stamped with the wall clock when its batch was sent. */
async function produceSteady(bootstrap: string, topic: string, repartition: boolean): Promise<Order[]> {
  const p = testProducer(bootstrap);
  const sent: Order[] = [];
  const t0 = Date.now();
  try {
    for (let elapsed = 0; elapsed < STREAM_SECONDS * 1000; elapsed = Date.now() - t0) {
      const due = Math.floor((elapsed / 1000) * STREAM_RATE) - sent.length;
      if (due > 0) {
        const at = Date.now();
        const batch = Array.from({ length: due }, (_, i) => streamOrder(sent.length + i, at));
        const message = (o: Order, i: number) =>
          repartition
            ? { ...orderMessage(topic, o, PARTITIONS), ...placed(byId(o, sent.length + i)) }
            : orderMessage(topic, o, PARTITIONS);
        await p.send({ messages: batch.map(message) });
        sent.push(...batch);
      }
      await sleep(10);
    }
  } finally {
    await closeProducer(p);
  }
  return sent;
}

function placed(p: { key: string; partition: number }): { key: Buffer; partition: number } {
  return { key: Buffer.from(p.key), partition: p.partition };
}

function streamOrder(i: number, at: number): Order {
  return { id: `s-${i}`, region: i % REGIONS, amount: ((i * 7919) % 1000) + 1, at };
}

/** Nearest rank. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)];
}

/** The stream, then the wait for every window it closed; latencies of the windows wholly inside it. */
async function latencyPhase(
  bootstrap: string,
  prefix: string,
  repartition: boolean,
): Promise<{ latency: Latency; orders: Order[] }> {
  const watcher = await watchOutput(bootstrap, `${prefix}.revenue`);
  try {
    const orders = await produceSteady(bootstrap, `${prefix}.orders`, repartition);
    const first = Math.ceil(orders[0].at / WINDOW_MS) * WINDOW_MS;
    const last = orders[orders.length - 1].at;
    const closed = [...expectedRevenue(orders, WINDOW_MS).keys()].filter((k) => {
      const start = Date.parse(k.split('|')[1]);
      return start >= first && start + WINDOW_MS + BOUND_MS <= last;
    });
    const missing = (): string[] => {
      const keys = new Set(watcher.seen.map((s) => s.key));
      return closed.filter((k) => !keys.has(k));
    };
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && missing().length > 0) await sleep(POLL_MS);
    if (missing().length > 0)
      throw new Error(
        `${missing().length} of the ${closed.length} windows the stream closed did not arrive within 30 s`,
      );
    const latencies = watcher.seen
      .filter((s) => s.windowStart >= first)
      .map((s) => s.at - (s.windowEnd + BOUND_MS))
      .sort((a, b) => a - b);
    const latency = {
      windows: latencies.length,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      maxMs: latencies[latencies.length - 1],
      sent: orders.length,
    };
    return { latency, orders };
  } finally {
    await watcher.close();
  }
}

/**
 * After the stream: every window the output holds once and exact (the flush records' windows too, closed by the
 * stream's watermark), and every catch-up window there.
 */
async function checkFinal(
  bootstrap: string,
  topic: string,
  input: readonly Order[][],
  required: readonly Order[],
): Promise<void> {
  const got = await outputRevenue(bootstrap, topic);
  const must = expectedRevenue(required, WINDOW_MS);
  const want = new Map([...expectedRevenue(input.flat(), WINDOW_MS)].filter(([k]) => must.has(k) || got.has(k)));
  assertExactlyOnce(got, want, 'after the stream');
}

/** One run: fresh topics and project, preload, workers, catch-up (checked), and the latency phase when asked. */
async function runOnce(
  bootstrap: string,
  c: (typeof CASES)[number],
  count: number,
  tag: string,
  withLatency: boolean,
): Promise<{ catchUp: CatchUp; latency?: Latency; schedule: Schedule }> {
  const { workers, repartition } = c;
  const prefix = `bench${tag}`;
  const flow = `rev_${prefix}`;
  await createTopic(bootstrap, `${prefix}.orders`, PARTITIONS);
  await createTopic(bootstrap, `${prefix}.revenue`, PARTITIONS);
  const dir = tempProject(`napkin-bench-kafka-${prefix}-`);
  const fleet: WorkerProcess[] = [];
  try {
    writeFiles(dir, fleetProject(prefix, '', WINDOW, repartition ? 'order_id' : 'region'));
    const schedule = await scheduleOfProject(dir, flow);
    const { orders, flush } = await preload(bootstrap, `${prefix}.orders`, count, repartition);
    const t0 = performance.now();
    for (let i = 0; i < workers; i++) fleet.push(startWorker(dir, prefix, {}, FLAGS));
    let timed = await awaitCaughtUp(bootstrap, `napkin.${flow}`, `${prefix}.orders`, fleet, t0);
    // Repartitioned, the sums are caught up once the second part has read what the first wrote, to its end.
    if (repartition)
      timed = await awaitCaughtUp(
        bootstrap,
        `napkin.${flow}.revenue_per_minute`,
        `napkin.${flow}.revenue_per_minute.repartition`,
        fleet,
        t0,
      );
    const catchUp = { records: count + PARTITIONS, ...timed };
    assertExactlyOnce(
      await outputRevenue(bootstrap, `${prefix}.revenue`),
      expectedRevenue(orders, WINDOW_MS),
      `${workers} worker(s), catch-up`,
    );
    await awaitJoined(fleet);
    const streamed = withLatency ? await latencyPhase(bootstrap, prefix, repartition) : undefined;
    await stopAll(fleet);
    if (streamed !== undefined)
      await checkFinal(bootstrap, `${prefix}.revenue`, [orders, flush, streamed.orders], orders);
    return { catchUp, schedule, ...(streamed === undefined ? {} : { latency: streamed.latency }) };
  } finally {
    for (const w of fleet) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    removeDir(dir);
  }
}

/**
 * Waits until every worker has taken a partition, so that the stream meets a settled group and no worker is stopped
 * while it is still starting (before its SIGTERM handler is there).
 */
async function awaitJoined(fleet: readonly WorkerProcess[]): Promise<void> {
  const joined = await Promise.all(fleet.map((w) => awaitLine(w, /partition \d+ taken/, 60_000)));
  const late = joined.indexOf(false);
  if (late >= 0) throw new Error(`a worker took no partition within 60 s:\n${fleet[late].stderr()}`);
}

async function stopAll(fleet: readonly WorkerProcess[]): Promise<void> {
  const codes = await Promise.all(fleet.map((w) => stopWorker(w)));
  const bad = codes.findIndex((c) => c.code !== 0);
  if (bad >= 0) throw new Error(`a worker stopped with exit ${codes[bad].code}:\n${fleet[bad].stderr()}`);
}

/** `repeat` runs for one worker count: the median catch-up, the last run's latency. */
async function measureWorkers(bootstrap: string, c: (typeof CASES)[number], a: Args): Promise<Record<string, unknown>> {
  const { workers, repartition } = c;
  const count = preloadCount(a.rows);
  const runs: { catchUp: CatchUp; latency?: Latency; schedule: Schedule }[] = [];
  for (let r = 0; r < a.repeat; r++) {
    log(
      `kafka: ${workers} worker(s)${repartition ? ', repartitioned' : ''}, ${count.toLocaleString('en')} orders${a.repeat > 1 ? `, run ${r + 1}` : ''} ...`,
    );
    runs.push(await runOnce(bootstrap, c, count, `w${workers}${repartition ? 'x' : ''}r${r}`, r === a.repeat - 1));
  }
  const latency = runs[runs.length - 1].latency as Latency;
  const { catchUp, schedule } = [...runs].sort((x, y) => x.catchUp.seconds - y.catchUp.seconds)[
    Math.floor((runs.length - 1) / 2)
  ];
  return resultOf(workers, repartition, catchUp, latency, schedule);
}

function resultOf(
  workers: number,
  repartitioned: boolean,
  c: CatchUp,
  l: Latency,
  s: Schedule,
): Record<string, unknown> {
  return {
    case: 'kafka',
    workers,
    repartitioned,
    records: c.records,
    seconds: round(c.seconds, 3),
    recordsPerSecond: Math.round(c.records / c.seconds),
    cpuSeconds: c.cpuSeconds === null ? null : round(c.cpuSeconds, 2),
    startSeconds: round(c.startSeconds, 2),
    activeWorkers: c.activeWorkers,
    latencyP50Ms: l.p50Ms,
    latencyP99Ms: l.p99Ms,
    latencyMaxMs: l.maxMs,
    latencyWindows: l.windows,
    streamRecords: l.sent,
    streamRate: STREAM_RATE,
    slaMs: s.slaMs,
    withinSla: l.p99Ms <= s.slaMs,
    epochIntervalMs: s.epochIntervalMs,
    windowMs: WINDOW_MS,
    partitions: PARTITIONS,
    exactlyOnce: true,
    node: process.version,
    cpu: `${cpus()[0]?.model ?? 'unknown'} x${cpus().length}`,
  };
}

/**
 * Take-over: one worker catches up on the preloaded orders with `--snapshot-every <every>` and stops (SIGTERM,
 * committing a last epoch per partition); a new worker then takes the four partitions over. Each `partition N taken`
 * line says how long its take-over took and whether it restored a state snapshot or replayed epochs; the case
 * reports the time from the new worker's spawn to its last take-over, and the take-overs' own times.
 */
async function takeOver(bootstrap: string, count: number, every: string): Promise<Record<string, unknown>> {
  const prefix = `benchtake${every.replace(/\W/g, '')}`;
  const flow = `rev_${prefix}`;
  await createTopic(bootstrap, `${prefix}.orders`, PARTITIONS);
  await createTopic(bootstrap, `${prefix}.revenue`, PARTITIONS);
  const dir = tempProject(`napkin-bench-kafka-${prefix}-`);
  const fleet: WorkerProcess[] = [];
  try {
    writeFiles(dir, fleetProject(prefix, '', WINDOW, 'region'));
    const { orders } = await preload(bootstrap, `${prefix}.orders`, count, false);
    const flags = { ...FLAGS, snapshotEvery: every };
    const first = startWorker(dir, prefix, {}, flags);
    fleet.push(first);
    await awaitCaughtUp(bootstrap, `napkin.${flow}`, `${prefix}.orders`, fleet, performance.now());
    await awaitJoined(fleet);
    await stopAll(fleet);
    const t0 = performance.now();
    const next = startWorker(dir, prefix, {}, flags);
    fleet.push(next);
    const lines = (): RegExpMatchArray[] => [...next.stderr().matchAll(/partition (\d+) taken \((.*), (\d+) ms\)/g)];
    const deadline = Date.now() + 300_000;
    while (lines().length < PARTITIONS && Date.now() < deadline) {
      assertRunning([next]);
      await sleep(POLL_MS);
    }
    const seconds = (performance.now() - t0) / 1000;
    const takes = lines();
    if (takes.length < PARTITIONS) throw new Error(`the new worker took ${takes.length} partitions:\n${next.stderr()}`);
    const ms = takes.map((m) => Number(m[3]));
    const replayed = takes.map((m) => Number(/(\d+) epoch\(s\) replayed/.exec(m[2])?.[1] ?? 0));
    await stopAll([next]);
    assertExactlyOnce(
      await outputRevenue(bootstrap, `${prefix}.revenue`),
      expectedRevenue(orders, WINDOW_MS),
      `take-over with snapshots every ${every}`,
    );
    return {
      case: 'kafka-takeover',
      snapshotEvery: every,
      records: count + PARTITIONS,
      seconds: round(seconds, 2),
      takeOverMsMax: Math.max(...ms),
      takeOverMsSum: ms.reduce((a, b) => a + b, 0),
      restoredSnapshots: takes.filter((m) => m[2].includes('state restored from the snapshot')).length,
      epochsReplayed: replayed.reduce((a, b) => a + b, 0),
      partitions: PARTITIONS,
    };
  } finally {
    for (const w of fleet) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    removeDir(dir);
  }
}

/** Table columns: heading, result field. */
const COLUMNS: readonly (readonly [string, string])[] = [
  ['workers', 'workers'],
  ['repartitioned', 'repartitioned'],
  ['active', 'activeWorkers'],
  ['records', 'records'],
  ['catch-up s', 'seconds'],
  ['records/s', 'recordsPerSecond'],
  ['CPU s', 'cpuSeconds'],
  ['start s', 'startSeconds'],
  ['p50 ms', 'latencyP50Ms'],
  ['p99 ms', 'latencyP99Ms'],
  ['SLA ms', 'slaMs'],
  ['in SLA', 'withinSla'],
];

function table(results: readonly Record<string, unknown>[]): void {
  const head = COLUMNS.map(([h]) => h);
  const keys = COLUMNS.map(([, k]) => k);
  const rows = [head, ...results.map((r) => keys.map((k) => String(r[k])))];
  const widths = head.map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  log('');
  for (const r of rows) log(`kafka  ${r.map((cell, c) => cell.padStart(widths[c])).join('  ')}`);
  log(
    `(${process.platform} ${process.arch}, node ${process.version}; epochs every ${results[0]?.epochIntervalMs} ms ` +
      `(the SLA's), ${PARTITIONS} partitions, broker on this machine; CPU s = the workers' utime+stime to catch-up)`,
  );
}

async function main(a: Args): Promise<void> {
  const why = kafkaUnavailable();
  if (why !== undefined) {
    process.stdout.write(`${JSON.stringify({ case: 'kafka', skipped: why })}\n`);
    log(`kafka: skipped: ${why}`);
    return;
  }
  log('kafka: starting a broker ...');
  const broker: KafkaServer = await startKafkaServer({ properties: { 'group.min.session.timeout.ms': 500 } });
  // The workers find the broker through the variable the fleet project names.
  process.env.NAPKIN_KAFKA_BROKERS = broker.bootstrap;
  const results: Record<string, unknown>[] = [];
  const takeOvers: Record<string, unknown>[] = [];
  try {
    for (const c of CASES) {
      const r = await measureWorkers(broker.bootstrap, c, a);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      results.push(r);
    }
    for (const every of ['0ms', '30s', 'never']) {
      log(`kafka: take-over after ${preloadCount(a.rows).toLocaleString('en')} orders, snapshots every ${every} ...`);
      const r = await takeOver(broker.bootstrap, preloadCount(a.rows), every);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      takeOvers.push(r);
    }
  } finally {
    await broker.stop();
  }
  table(results);
  for (const r of takeOvers)
    log(
      `kafka  take-over, snapshots every ${String(r.snapshotEvery).padEnd(5)}: ${r.seconds} s to all ${PARTITIONS} partitions (slowest ${r.takeOverMsMax} ms; ${r.restoredSnapshots} restored a snapshot, ${r.epochsReplayed} epochs replayed)`,
    );
}

await main(parseArgs(process.argv.slice(2)));
