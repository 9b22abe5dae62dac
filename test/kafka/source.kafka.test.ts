// The Kafka source against a real broker (test/kafka-server.ts): a topic of 3 partitions ingested by `napkin run`
// into the dataset's topic and from there into a DuckDB table, with keys, headers, record timestamps as event time,
// committed and aborted transactions, and bad records quarantined at kafka:<topic>/<partition>, record = offset;
// where a first run starts (earliest, latest, an offset, a time); a position behind the partition's log start
// refused; and resuming after SIGKILLs of real `napkin run` processes mid-ingest with nothing lost or doubled.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { KafkaTail } from '../../src/connectors/kafka/source.ts';
import { contract, t } from '../../src/flow/contract.ts';
import { type KafkaStart, kafka } from '../../src/flow/kafka-storage.ts';
import { MIN_TIMESTAMP } from '../../src/time/timestamps.ts';
import { BIN, napkin, queryDuck, removeDir, show, tempProject, writeFiles } from '../helpers.ts';
import { useKafkaServer } from '../kafka-server.ts';
import { closeProducer, createTopic, RETRY, testProducer } from './committed.ts';

const NOW = Date.now();

/** The first file called `name` under `dir`, depth first. */
function findFile(dir: string, name: string): string | undefined {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const found = findFile(p, name);
      if (found !== undefined) return found;
    } else if (e.name === name) return p;
  }
  return undefined;
}
const header = (k: string, v: string) => [Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer];

/** A project reading `topic` (kafka, JSON, key `id`, headers, event time = record timestamp) into mart.orders. */
function projectFiles(topic: string, extra = ''): Record<string, string> {
  return {
    'napkin.config.ts': `
import { contract, dataset, defineProject, duckdb, flow, kafka, read, t, write } from 'napkin';

const fields = { id: t.string(), amount: t.int64(), at: t.timestamp(), meta: t.string().optional() };
const orders = dataset('shop.orders', {
  owner: 'sales',
  storage: kafka({ topic: '${topic}', brokers: 'env:NAPKIN_KAFKA_BROKERS', key: 'id', headers: 'meta',
    eventTime: 'timestamp', stopAfterIdle: '3s', pollInterval: '100ms'${extra} }),
  contract: contract({ key: ['id'], eventTime: 'at', fields }),
});
const copy = dataset('mart.orders', { owner: 'sales', storage: duckdb('mart.orders'),
  contract: contract({ key: ['id'], eventTime: 'at', fields }) });
export default defineProject({
  name: 'kafka_source',
  flows: [flow({ name: 'copy_orders', owner: 'sales', sla: '2s',
    outputs: [write(copy, read(orders, { onInvalid: 'quarantine', errorBudget: 1000 }))] })],
});
`,
  };
}

describe('Kafka source', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) removeDir(d);
  });
  const broker = useKafkaServer();
  const bootstrap = () => broker().bootstrap;

  it('ingests every partition: keys, headers, timestamps; aborted transactions skipped; bad records quarantined', async () => {
    const topic = 'src.orders';
    await createTopic(bootstrap(), topic, 3);
    const p = testProducer(bootstrap());
    const tx = testProducer(bootstrap(), 'src-test-tx');
    try {
      const good = (i: number) => ({
        topic,
        key: Buffer.from(`o${i}`),
        value: Buffer.from(JSON.stringify({ amount: i })),
        headers: new Map([header('source', 'shop'), header('n', String(i))]),
        timestamp: BigInt(NOW + i),
      });
      await p.send({ messages: Array.from({ length: 30 }, (_, i) => good(i)) });
      // A committed transaction is read; an aborted one is not.
      const committed = await tx.beginTransaction();
      await committed.send({ messages: Array.from({ length: 10 }, (_, i) => good(30 + i)) });
      await committed.commit();
      const aborted = await tx.beginTransaction();
      await aborted.send({ messages: Array.from({ length: 10 }, (_, i) => good(100 + i)) });
      await aborted.abort();
      const bad = (key: string, value?: Buffer) => ({
        topic,
        partition: 1,
        key: Buffer.from(key),
        ...(value === undefined ? {} : { value }),
      });
      await p.send({
        messages: [
          bad('b1', Buffer.from('{not json')),
          bad('b2', Buffer.from(JSON.stringify({ amount: 'twelve' }))),
          bad('b3', Buffer.from([0xff, 0xfe, 0x7b])),
          bad('b4', Buffer.from(JSON.stringify({ id: 'other', amount: 4 }))),
          bad('b5'),
          bad('b6', Buffer.from(JSON.stringify({ amount: 6, surprise: true }))),
        ],
      });
    } finally {
      await closeProducer(p);
      await closeProducer(tx);
    }
    const dir = tempProject('napkin-kafka-src-');
    dirs.push(dir);
    writeFiles(dir, projectFiles(topic));
    const check = napkin(dir, 'check');
    assert.equal(check.status, 0, show(check));
    const run = napkin(dir, 'run', '--summary');
    assert.equal(run.status, 0, show(run));
    assert.match(run.stdout, /in 46 {2}out 40 {2}quarantined 6/);
    const wh = `${dir}/.napkin/warehouse.duckdb`;
    const rows = await queryDuck(wh, 'SELECT id, amount, epoch_ms("at") AS at, meta FROM mart.orders ORDER BY amount');
    assert.equal(rows.length, 40);
    rows.forEach((r, i) => {
      assert.deepEqual(r, {
        id: `o${i}`,
        amount: i,
        at: NOW + i,
        meta: JSON.stringify({ source: 'shop', n: String(i) }),
      });
    });
    const q = await queryDuck(
      wh,
      `SELECT DISTINCT source, record, field, error_class, raw, raw_encoding FROM napkin_meta.quarantine ORDER BY record`,
    );
    assert.deepEqual(
      q.map((r) => [r.source, r.field, r.error_class, r.raw_encoding]),
      [
        ['kafka:src.orders/1', null, 'parse', 'utf8'],
        ['kafka:src.orders/1', '/amount', 'type', 'utf8'],
        ['kafka:src.orders/1', null, 'encoding', 'base64'],
        ['kafka:src.orders/1', '/id', 'type', 'utf8'],
        ['kafka:src.orders/1', null, 'parse', 'utf8'],
        ['kafka:src.orders/1', '/surprise', 'drift', 'utf8'],
      ],
    );
    assert.equal(q[0].raw, '{not json');
    assert.equal(Buffer.from(String(q[2].raw), 'base64').toString('hex'), 'fffe7b');
    // Record numbers are the offsets in partition 1, consecutive for the six bad records sent last.
    const offsets = q.map((r) => Number(r.record));
    assert.deepEqual(
      offsets,
      offsets.map((_, i) => offsets[0] + i),
    );

    // More records: the next run reads on from the positions in the log, each record once.
    const more = testProducer(bootstrap());
    await more.send({
      messages: Array.from({ length: 5 }, (_, i) => ({
        topic,
        key: Buffer.from(`o${40 + i}`),
        value: Buffer.from(JSON.stringify({ amount: 40 + i })),
        timestamp: BigInt(NOW + 40 + i),
      })),
    });
    await closeProducer(more);
    const again = napkin(dir, 'run', '--summary');
    assert.equal(again.status, 0, show(again));
    const n = await queryDuck(wh, 'SELECT count(*) AS n, count(DISTINCT id) AS d FROM mart.orders');
    assert.deepEqual(n[0], { n: 45, d: 45 });
  });

  it('starts a first run at earliest, latest, an offset or a time; refuses a position retention deleted', async () => {
    const topic = 'src.start';
    await createTopic(bootstrap(), topic, 2);
    const p = testProducer(bootstrap());
    const send = (from: number, n: number, ts: number) =>
      p.send({
        messages: Array.from({ length: n }, (_, i) => ({
          topic,
          partition: (from + i) % 2,
          value: Buffer.from(JSON.stringify({ n: from + i })),
          timestamp: BigInt(ts),
        })),
      });
    await send(0, 10, NOW - 60_000);
    await send(10, 10, NOW);
    const c = contract({ fields: { n: t.int64() } });
    const read = async (startFrom: KafkaStart, from?: Record<string, number>) => {
      const storage = kafka({ topic, brokers: 'env:NAPKIN_KAFKA_BROKERS', startFrom, stopAfterIdle: '300ms' });
      const tail = await KafkaTail.open({
        storage,
        dataset: 'x',
        contract: c,
        signal: new AbortController().signal,
        now: Date.now,
        ...(from === undefined ? {} : { from }),
      });
      const start = tail.position;
      const got: number[] = [];
      try {
        for await (const ch of tail.chunks())
          for (let i = 0; i < ch.batch.length; i++) got.push(ch.batch.columns[0][i] as number);
      } finally {
        await tail.close();
      }
      return { start, got: got.sort((a, b) => a - b) };
    };
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    assert.deepEqual((await read('earliest')).got, range(0, 20));
    const latest = await read('latest');
    assert.deepEqual(latest, { start: { '0': 10, '1': 10 }, got: [] });
    assert.deepEqual((await read({ offset: 7 })).got, [14, 15, 16, 17, 18, 19]);
    assert.deepEqual((await read({ offset: { '1': 8 } })).got, [0, 2, 4, 6, 8, 10, 12, 14, 16, 17, 18, 19]);
    assert.deepEqual((await read({ time: new Date(NOW - 1000).toISOString() })).got, range(10, 20));
    assert.deepEqual((await read('earliest', { '0': 9, '1': 10 })).got, [18]);

    const admin = new Admin({ clientId: 'src-admin', bootstrapBrokers: [bootstrap()], ...RETRY });
    try {
      await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 4n }] }] });
    } finally {
      await admin.close();
    }
    await closeProducer(p);
    await assert.rejects(read('earliest', { '0': 2, '1': 0 }), (e: Error) => {
      assert.match(
        e.message,
        /partition 0 starts at offset 4 but napkin resumes at 2: records 2–3 were deleted by retention/,
      );
      assert.match(e.message, /never skips records silently/);
      assert.doesNotMatch(e.message, new RegExp(bootstrap().replaceAll('.', '\\.')), 'the brokers are never named');
      return true;
    });
  });

  it('resumes after SIGKILLs of napkin run mid-ingest: every record once in the log and the table', async () => {
    const topic = 'src.kills';
    await createTopic(bootstrap(), topic, 3);
    const dir = tempProject('napkin-kafka-kill-');
    dirs.push(dir);
    writeFiles(dir, projectFiles(topic));
    // Records keep arriving while napkin runs and is killed (50 every 200 ms), some bad ones among them.
    const p = testProducer(bootstrap());
    let sent = 0;
    let bad = 0;
    let producing = true;
    const producer = (async () => {
      while (producing) {
        const messages = Array.from({ length: 50 }, (_, i) => {
          const n = sent + i;
          const broken = n % 97 === 13;
          if (broken) bad++;
          return {
            topic,
            key: Buffer.from(`k${n}`),
            value: Buffer.from(broken ? `{"amount": "x${n}"}` : JSON.stringify({ amount: n })),
            timestamp: BigInt(NOW + n),
          };
        });
        await p.send({ messages });
        sent += messages.length;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const logBytes = () => {
      const seg = join(dir, '.napkin', 'log', 'shop.orders', 'partition-0');
      return existsSync(seg) ? readdirSync(seg).reduce((n, f) => n + statSync(join(seg, f)).size, 0) : 0;
    };
    const runs: string[] = [];
    // Every run has the same definition (storage is part of the fingerprint): each one would end 3 s after the
    // last record, which the producer keeps from happening until the last run.
    const run = (label: string, env: Record<string, string>, last = false) => {
      const child = spawn(process.execPath, [BIN, '--project', dir, 'run'], {
        cwd: dir,
        env: { ...process.env, NO_COLOR: '1', NAPKIN_CRASH_AT: '', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.push(child);
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      // A run whose crash point never comes is killed all the same.
      const watchdog = setTimeout(() => child.kill('SIGKILL'), last ? 120_000 : 30_000);
      const exited = new Promise<string>((resolve) =>
        child.on('close', (code, signal) => {
          clearTimeout(watchdog);
          runs.push(`${label}: ${code ?? signal}${err === '' ? '' : ` ${err.trim().split('\n')[0]}`}`);
          resolve(String(code ?? signal));
        }),
      );
      return { child, exited };
    };
    /** Sends `signal` once the run has appended to the dataset's topic, `delayMs` later. */
    const stopMidIngest = async (signal: NodeJS.Signals, delayMs: number) => {
      const before = logBytes();
      const r = run(`${signal} ${delayMs} ms into ingestion`, {});
      const poll = setInterval(() => {
        if (logBytes() > before) {
          clearInterval(poll);
          setTimeout(() => r.child.kill(signal), delayMs);
        }
      }, 50);
      await r.exited;
      clearInterval(poll);
    };
    try {
      // Killed right after its 3rd append to the dataset's topic, after writing its 2nd checkpoint (before the
      // sinks commit) and while it ingests, then stopped by SIGTERM (gracefully); each run goes on from where the
      // log says.
      for (const point of ['ingest-append:3', 'epoch-checkpoint:2'])
        await run(point, { NAPKIN_CRASH_AT: point }).exited;
      await stopMidIngest('SIGKILL', 700);
      await stopMidIngest('SIGTERM', 500);
      producing = false;
      await producer;
      assert.equal(await run('to the end', {}, true).exited, '0', runs.join('\n'));
    } finally {
      producing = false;
      await producer.catch(() => undefined);
      await closeProducer(p);
    }
    const kills = runs.filter((r) => r.includes('SIGKILL')).length;
    assert.ok(kills >= 3, `three runs were killed:\n${runs.join('\n')}`);
    const wh = `${dir}/.napkin/warehouse.duckdb`;
    const rows = await queryDuck(
      wh,
      `SELECT count(*) AS n, count(DISTINCT id) AS d, min(amount) AS lo, max(amount) AS hi, sum(amount) AS s FROM mart.orders`,
    );
    const total = sent;
    const goodSum = Array.from({ length: total }, (_, n) => (n % 97 === 13 ? 0 : n)).reduce((a, b) => a + b, 0);
    assert.deepEqual(rows[0], { n: total - bad, d: total - bad, lo: 0, hi: total - 1, s: goodSum }, runs.join('\n'));
    const q = await queryDuck(wh, `SELECT count(DISTINCT id) AS n FROM napkin_meta.quarantine`);
    assert.equal(q[0].n, bad);
    console.log(`# kafka source: ${total} records, ${runs.length} runs (${kills} SIGKILLs): ${runs.join('; ')}`);
  });

  it('holds the watermark at the slowest partition; an empty partition stops holding it once idle', async () => {
    // Partition 0's records are 1 KiB, partition 1's a few bytes: one fetch takes all of partition 1 (ten minutes
    // of event time) but a quarter MiB of partition 0. Were the watermark the newest time over all partitions,
    // partition 0's later records would be late and left out of their windows. Partition 2 stays empty.
    const topic = 'src.lagging';
    await createTopic(bootstrap(), topic, 3);
    const perPartition = 3000;
    const t0 = Date.parse('2026-06-01T00:00:00Z');
    const p = testProducer(bootstrap());
    try {
      for (const partition of [0, 1]) {
        for (let from = 0; from < perPartition; from += 50) {
          await p.send({
            messages: Array.from({ length: 50 }, (_, k) => ({
              topic,
              partition,
              key: Buffer.from(`p${partition}-${from + k}`),
              value: Buffer.from(
                JSON.stringify({
                  id: `p${partition}-${from + k}`,
                  at: new Date(t0 + (from + k) * 200).toISOString(),
                  pad: partition === 0 ? 'x'.repeat(1024) : '',
                }),
              ),
            })),
          });
        }
      }
    } finally {
      await closeProducer(p);
    }
    const files = (idle: string) => ({
      'napkin.config.ts': `
import { boundedOutOfOrderness, col, contract, count, dataset, defineProject, duckdb, fixed, flow, kafka, read, t, write } from 'napkin';

const clicks = dataset('web.clicks', {
  owner: 'web',
  storage: kafka({ topic: '${topic}', brokers: 'env:NAPKIN_KAFKA_BROKERS', eventTime: 'at', stopAfterIdle: '3s',
    pollInterval: '100ms', partitionIdleTimeout: '${idle}' }),
  contract: contract({ key: ['id'], eventTime: 'at', fields: { id: t.string(), at: t.timestamp(), pad: t.string() } }),
});
const perMinute = dataset('mart.clicks_per_minute', { owner: 'web', storage: duckdb('mart.clicks_per_minute'),
  contract: contract({ key: ['window_start'], fields: { window_start: t.timestamp(), clicks: t.int64() } }) });
const counted = read(clicks, { watermark: boundedOutOfOrderness('0s') })
  .window(fixed('1m'))
  .groupBy()
  .agg({ clicks: count() })
  .stage('clicks_per_minute')
  .select('window_start', 'clicks');
export default defineProject({
  name: 'kafka_frontier',
  flows: [flow({ name: 'count_clicks', owner: 'web', sla: '2s', outputs: [write(perMinute, counted)] })],
});
`,
    });
    const frontierOf = (dir: string): { frontier: number; times: Record<string, number> } => {
      const found = findFile(join(dir, '.napkin'), 'topic.json');
      assert.ok(found !== undefined, 'the dataset topic has a state cache');
      return JSON.parse(readFileSync(found, 'utf8')).state.frontier;
    };
    const newest = t0 + (perPartition - 1) * 200;
    for (const idle of ['500ms', 'never']) {
      const dir = tempProject('napkin-kafka-frontier-');
      dirs.push(dir);
      writeFiles(dir, files(idle));
      const run = napkin(dir, 'run', '--summary');
      assert.equal(run.status, 0, show(run));
      const rows = await queryDuck(
        `${dir}/.napkin/warehouse.duckdb`,
        'SELECT epoch_ms(window_start) AS w, clicks FROM mart.clicks_per_minute ORDER BY w',
      );
      assert.deepEqual(
        rows,
        Array.from({ length: 10 }, (_, m) => ({ w: t0 + m * 60_000, clicks: 600 })),
        `partitionIdleTimeout ${idle}: every record in its window, none late\n${run.stdout}`,
      );
      const f = frontierOf(dir);
      assert.deepEqual(f.times, { '0': newest, '1': newest, '2': MIN_TIMESTAMP });
      // Idle, the empty partition let the frontier reach the others' newest time; never idle, it held it at −∞.
      assert.equal(f.frontier, idle === 'never' ? MIN_TIMESTAMP : newest, `partitionIdleTimeout ${idle}`);
    }
  });
});
