/**
 * `node --import tsx bench/recovery.ts [--rows N]`: what state snapshots save when a flow starts again. N/5 events
 * (`npm run bench`'s default N gives 2 million, over 100,000 keys and 200 epochs) go through a keyed windowed sum (1 h windows, 10 min allowed
 * lateness: the general windowed stage, spec §8) on the embedded log. The same epochs run twice, without snapshots
 * and with one every epoch; after each, a new runner takes the flow up, as after a crash: by replaying every
 * committed epoch, or by restoring the last snapshot. Prints one JSON line per measurement (seconds and CPU seconds
 * of the take-up, snapshot size and the time to take one), and checks that both runs commit the same rows.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { col, count, sum } from '../src/expr/builders.ts';
import { createRegistry } from '../src/expr/functions.ts';
import { contract, t } from '../src/flow/contract.ts';
import { dataset } from '../src/flow/dataset.ts';
import { flow, write } from '../src/flow/flow.ts';
import { read } from '../src/flow/rel.ts';
import { bindFlow } from '../src/plan/bind.ts';
import { testIO } from '../src/runtime/testing.ts';
import { boundedOutOfOrderness } from '../src/time/watermarks.ts';
import { fixed } from '../src/time/windows.ts';
import { EpochRunner, topicInputs } from '../src/workspace/epoch-run.ts';
import { EpochStore } from '../src/workspace/epochs.ts';
import { Topic } from '../src/workspace/topic-log.ts';

const rowsArg = process.argv.indexOf('--rows');
const EVENTS = Math.floor((rowsArg < 0 ? 10_000_000 : Number(process.argv[rowsArg + 1])) / 5);
const KEYS = Math.min(100_000, Math.max(1, Math.floor(EVENTS / 20)));
const EPOCHS = 200;
const HOUR = 3_600_000;

const events = dataset('r.events', {
  contract: contract({ eventTime: 'at', fields: { key: t.string(), value: t.int64(), at: t.timestamp() } }),
});
const sums = dataset('r.sums', { owner: 'o', contract: contract({ content: 'open', fields: { key: t.string() } }) });

function windowedSum() {
  const agg = read(events, { watermark: boundedOutOfOrderness(60_000) })
    .window(fixed(HOUR), { allowedLateness: 600_000 })
    .groupBy('key')
    .agg({ total: sum(col('value')), n: count() })
    .stage('per_hour');
  return flow({ name: 'r', owner: 'o', sla: '30s', outputs: [write(sums, agg)] });
}

/** Ingests the events in one chunk per epoch: event time runs over six hours, so windows open and close. */
async function ingest(topic: Topic): Promise<Map<string, number>[]> {
  await topic.startGeneration(['key', 'value', 'at']);
  const per = Math.ceil(EVENTS / EPOCHS);
  const ends: Map<string, number>[] = [];
  let seed = 42;
  for (let e = 0; e < EPOCHS; e++) {
    const n = Math.min(per, EVENTS - e * per);
    const keys: string[] = new Array(n);
    const values: number[] = new Array(n);
    const at: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      keys[i] = `k${seed % KEYS}`;
      values[i] = seed % 1000;
      at[i] = Math.floor(((e * per + i) / EVENTS) * 6 * HOUR);
    }
    await topic.appendChunk({ batch: { length: n, columns: [keys, values, at] }, rejected: [] }, 2, 0, {
      kind: 'chunk',
      file: 'bench',
    });
    ends.push(new Map([['r.events', topic.state.end]]));
  }
  return ends;
}

interface Outcome {
  readonly rows: number;
  readonly checksum: string;
  readonly snapshots: number;
  readonly snapshotMs: number;
  readonly snapshotBytes: number;
  readonly takeUp: { seconds: number; cpuSeconds: number; replayed: number; restoredFrom: number | null };
}

async function runOnce(topic: Topic, ends: Map<string, number>[], dir: string, everyMs: number): Promise<Outcome> {
  const registry = createRegistry();
  const bound = bindFlow(windowedSum(), registry);
  const { io, rows } = testIO(bound.stages, []);
  const store = new EpochStore(join(dir, `epochs-${everyMs}`), 'r');
  let snapshots = 0;
  let snapshotMs = 0;
  let snapshotBytes = 0;
  // Times the snapshot writes through the store, which sees every one.
  const writeCommit = store.writeCommit.bind(store);
  store.writeCommit = async (epoch, state) => {
    if (state !== undefined) {
      snapshots++;
      snapshotBytes = state.length;
    }
    return writeCommit(epoch, state);
  };
  const ctx = {
    bound,
    registry,
    io,
    store,
    inputs: topicInputs(new Map([['r.events', topic]]), bound),
    fingerprint: 'bench',
    quarantine: async () => {},
    snapshotEveryMs: everyMs,
  };
  let runner = new EpochRunner(ctx);
  await runner.start();
  for (let e = 0; e < EPOCHS - 1; e++) {
    const t0 = performance.now();
    await runner.epoch({ final: false, upTo: ends[e], clock: e });
    // An epoch's time with a snapshot minus one without is the snapshot's cost; here the whole epoch is reported.
    if (everyMs === 0) snapshotMs += performance.now() - t0;
  }
  await runner.close();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  runner = new EpochRunner(ctx);
  await runner.start();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const takeUp = {
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    replayed: runner.replayed,
    restoredFrom: runner.restoredFrom ?? null,
  };
  await runner.epoch({ final: true, upTo: ends[EPOCHS - 1], clock: EPOCHS });
  const out = rows.get('r.sums') ?? [];
  const hash = createHash('sha256');
  for (const line of out.map((r) => JSON.stringify(r)).sort()) hash.update(line);
  const checksum = hash.digest('hex');
  return { rows: out.length, checksum, snapshots, snapshotMs, snapshotBytes, takeUp };
}

const dir = mkdtempSync(join(tmpdir(), 'napkin-bench-recovery-'));
try {
  const topic = await Topic.open(join(dir, 'log'), 'r.events', { fsync: 'unsafe-none' });
  const ends = await ingest(topic);
  const replay = await runOnce(topic, ends, dir, Number.POSITIVE_INFINITY);
  const epochTimeWithout = await timeEpochs(topic, ends, dir);
  const snap = await runOnce(topic, ends, dir, 0);
  await topic.close();
  const base = { case: 'recovery', events: EVENTS, keys: KEYS, epochs: EPOCHS - 1 };
  process.stdout.write(`${JSON.stringify({ ...base, takeUp: 'replay', ...replay.takeUp })}\n`);
  process.stdout.write(
    `${JSON.stringify({
      ...base,
      takeUp: 'snapshot',
      ...snap.takeUp,
      snapshotBytes: snap.snapshotBytes,
      snapshotMsPerEpoch: round((snap.snapshotMs - epochTimeWithout) / snap.snapshots),
      sameRows: snap.rows === replay.rows && snap.checksum === replay.checksum,
    })}\n`,
  );
  if (snap.rows !== replay.rows || snap.checksum !== replay.checksum)
    throw new Error(`the snapshot run committed other rows (${snap.rows}) than the replay run (${replay.rows})`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The wall time of the same epochs without snapshots (ms), to subtract from the run that takes one per epoch. */
async function timeEpochs(topic: Topic, ends: Map<string, number>[], base: string): Promise<number> {
  const registry = createRegistry();
  const bound = bindFlow(windowedSum(), registry);
  const { io } = testIO(bound.stages, []);
  const runner = new EpochRunner({
    bound,
    registry,
    io,
    store: new EpochStore(join(base, 'epochs-timing'), 'r'),
    inputs: topicInputs(new Map([['r.events', topic]]), bound),
    fingerprint: 'bench',
    quarantine: async () => {},
    snapshotEveryMs: Number.POSITIVE_INFINITY,
  });
  await runner.start();
  const t0 = performance.now();
  for (let e = 0; e < EPOCHS - 1; e++) await runner.epoch({ final: false, upTo: ends[e], clock: e });
  const ms = performance.now() - t0;
  await runner.close();
  return ms;
}

function round(x: number): number {
  return Number(x.toFixed(1));
}
