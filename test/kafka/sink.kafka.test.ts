// The Kafka sink against a real broker (test/kafka-server.ts), checked by an independent read_committed reader
// (committed.ts): records as written (keys, contract-order JSON values, event-time timestamps, headers, the wire
// framing), epochs idempotent by their commit key in __napkin_commits, exactly once under SIGKILL at the sink's crash
// points and at random moments (children playing the epoch runner around the sink, test/kafka/sink-child.ts; at least
// 20 trials, NAPKIN_KAFKA_TRIALS for more), a zombie producer fenced with one line naming its transactional id, and
// `napkin run` of a live flow into Kafka killed at a crash point.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import avsc from 'avsc';
import { openKafkaSink } from '../../src/connectors/kafka/sink.ts';
import { KafkaTail } from '../../src/connectors/kafka/source.ts';
import type { Field, Value } from '../../src/expr/types.ts';
import { avroSchemaOf } from '../../src/flow/avro-schema.ts';
import { contract, t } from '../../src/flow/contract.ts';
import { dataset } from '../../src/flow/dataset.ts';
import { kafka } from '../../src/flow/kafka-storage.ts';
import type { EpochCommit } from '../../src/runtime/execute.ts';
import { BIN, napkin, removeDir, show, tempProject, writeFiles } from '../helpers.ts';
import { useKafkaServer } from '../kafka-server.ts';
import { closeProducer, readCommitted, rowsOf, settled, testProducer, texts } from './committed.ts';

const TRIALS = Number(process.env.NAPKIN_KAFKA_TRIALS ?? '20');
const CHILD = resolve(import.meta.dirname, 'sink-child.ts');
const FINGERPRINT = 'a'.repeat(64);
const NOW = Date.now();

const fields: Field[] = [
  { name: 'id', type: { kind: 'string' }, nullable: false },
  { name: 'amount', type: { kind: 'decimal', precision: 10, scale: 2 }, nullable: false },
  { name: 'at', type: { kind: 'timestamp' }, nullable: false },
  { name: 'meta', type: { kind: 'string' }, nullable: true },
];

const commitOf = (flow: string, epoch: number): EpochCommit => ({
  flow,
  sink: 'write_out',
  partition: '0',
  epoch,
  fingerprint: FINGERPRINT,
  fresh: epoch === 1,
});

/** A small seeded generator (mulberry32), so a failing trial can be run again. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

describe('Kafka sink', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const d of dirs) removeDir(d);
  });
  const broker = useKafkaServer();
  const bootstrap = () => broker().bootstrap;

  const open = (topic: string, flow: string, options: Partial<Parameters<typeof openKafkaSink>[0]> = {}) =>
    openKafkaSink({
      storage: kafka({ topic, brokers: 'env:NAPKIN_KAFKA_BROKERS', headers: 'meta' }),
      dataset: 'test.out',
      contract: { fields },
      contractKey: ['id'],
      eventTime: 'at',
      mode: 'replace',
      input: { fields: [fields[3], fields[2], fields[1], fields[0]] },
      flow,
      sink: 'write_out',
      fingerprint: FINGERPRINT,
      ...options,
    });

  it('writes an epoch in one transaction with its commit key; a repeated epoch produces nothing', async () => {
    const sink = await open('sink.basic', 'basic');
    // Columns in the upstream order (meta, at, amount, id): the sink writes contract order.
    const batch = (ids: string[]) => ({
      length: ids.length,
      columns: [
        ids.map((id) => (id === 'a' ? JSON.stringify({ trace: 't-1', n: 7 }) : null)),
        ids.map((_, i) => NOW + i),
        ids.map((_, i) => 10.5 + i),
        ids,
      ] as Value[][],
    });
    sink.write(batch(['a', 'b', 'c']));
    assert.match(await sink.commit(commitOf('basic', 1)), /kafka sink\.basic \(3 records, epoch 1\)/);
    sink.write(batch(['d']));
    assert.match(await sink.commit(commitOf('basic', 2)), /1 records, epoch 2/);
    await sink.abort();

    // A new producer of the same sink (a restart): epoch 2 regenerated produces nothing; epoch 1 again is refused.
    const again = await open('sink.basic', 'basic');
    again.write(batch(['d']));
    assert.match(await again.commit(commitOf('basic', 2)), /epoch 2 already committed/);
    again.write(batch(['a']));
    await assert.rejects(again.commit(commitOf('basic', 1)), /has committed epoch 2 .* but this run is at epoch 1/);
    await again.abort();

    const out = await readCommitted(bootstrap(), 'sink.basic');
    assert.ok(settled(out), 'no transaction is left open');
    assert.equal(out.open, 0);
    assert.deepEqual(texts(out), [
      `{"id":"a","amount":"10.50","at":"${new Date(NOW).toISOString()}"}`,
      `{"id":"b","amount":"11.50","at":"${new Date(NOW + 1).toISOString()}"}`,
      `{"id":"c","amount":"12.50","at":"${new Date(NOW + 2).toISOString()}"}`,
      `{"id":"d","amount":"10.50","at":"${new Date(NOW).toISOString()}"}`,
    ]);
    assert.deepEqual(
      out.records.map((r) => [r.key, r.timestamp, r.headers]),
      [
        ['a', NOW, { trace: 't-1', n: '7' }],
        ['b', NOW + 1, {}],
        ['c', NOW + 2, {}],
        ['d', NOW, {}],
      ],
    );
    const keys = await readCommitted(bootstrap(), '__napkin_commits');
    const mine = keys.records.filter((r) => r.key === 'napkin.basic.write_out.0');
    assert.deepEqual(
      mine.map((r) => JSON.parse(String(r.value))).map((k) => [k.flow, k.sink, k.partition, k.epoch, k.records]),
      [
        ['basic', 'write_out', '0', 1, 3],
        ['basic', 'write_out', '0', 2, 1],
      ],
    );
  });

  it('writes tombstones for retractions (merge) and the wire framing (napkin format), which the source reads', async () => {
    const flags: Field = { name: 'retraction', type: { kind: 'bool' }, nullable: false };
    const merge = await open('sink.merge', 'merge', {
      mode: 'merge',
      input: { fields: [...fields, flags] },
      storage: kafka({ topic: 'sink.merge', brokers: 'env:NAPKIN_KAFKA_BROKERS', format: 'napkin', schemaId: 7 }),
    });
    merge.write({
      length: 3,
      columns: [
        ['k1', 'k1', 'k2'],
        [1, 1, 2],
        [NOW, NOW, NOW],
        [null, null, null],
        [false, true, false],
      ],
    });
    await merge.commit(commitOf('merge', 1));
    await merge.abort();
    const out = await readCommitted(bootstrap(), 'sink.merge');
    assert.deepEqual(
      out.records.map((r) => [r.key, r.value === null ? null : r.value.subarray(0, 5).toString('hex')]),
      [
        ['k1', '0000000007'],
        ['k1', null],
        ['k2', '0000000007'],
      ],
    );
    assert.equal(
      out.records[0].value?.subarray(5).toString(),
      `{"id":"k1","amount":"1.00","at":"${new Date(NOW).toISOString()}","meta":null}`,
    );

    const read = async (schemaId: number) => {
      const storage = kafka({
        topic: 'sink.merge',
        brokers: 'env:NAPKIN_KAFKA_BROKERS',
        format: 'napkin',
        schemaId,
        stopAfterIdle: '300ms',
      });
      const c = contract({
        fields: { id: t.string(), amount: t.decimal(10, 2), at: t.timestamp(), meta: t.string().optional() },
      });
      const tail = await KafkaTail.open({
        storage,
        dataset: 'x',
        contract: c,
        signal: new AbortController().signal,
        now: Date.now,
      });
      const got: { ids: Value[]; rejected: string[] } = { ids: [], rejected: [] };
      try {
        for await (const ch of tail.chunks()) {
          got.ids.push(...ch.batch.columns[0].slice(0, ch.batch.length));
          got.rejected.push(...ch.rejected.map((e) => `${e.errorClass}: ${e.found}; ${e.rawEncoding}`));
        }
      } finally {
        await tail.close();
      }
      return got;
    };
    assert.deepEqual(await read(7), { ids: ['k1', 'k2'], rejected: ['parse: null (a tombstone); utf8'] });
    assert.deepEqual((await read(8)).rejected, [
      'drift: schema id 7; base64',
      'parse: null (a tombstone); utf8',
      'drift: schema id 7; base64',
    ]);
  });

  it('writes avro (the wire framing around Avro of the schema derived from the contract), which the source reads', async () => {
    const topic = 'sink.avro';
    const storage = kafka({
      topic,
      brokers: 'env:NAPKIN_KAFKA_BROKERS',
      format: 'avro',
      schemaId: 9,
      headers: 'meta',
      stopAfterIdle: '300ms',
    });
    const c = contract({
      key: ['id'],
      eventTime: 'at',
      fields: { id: t.string(), amount: t.decimal(10, 2), at: t.timestamp(), meta: t.string().optional() },
    });
    const sink = await open(topic, 'avro', { storage });
    // Columns in the upstream order (meta, at, amount, id).
    sink.write({
      length: 3,
      columns: [
        [JSON.stringify({ trace: 't-1' }), null, null],
        [NOW, NOW + 1, NOW + 2],
        [10.5, -11.25, 0],
        ['a', 'b', 'c'],
      ],
    });
    assert.match(await sink.commit(commitOf('avro', 1)), /kafka sink\.avro \(3 records, epoch 1\)/);
    await sink.abort();

    // What any Avro reader makes of the values with the schema napkin gives to register.
    const out = await readCommitted(bootstrap(), topic);
    const registered = avsc.Type.forSchema(avroSchemaOf(dataset('test.out', { contract: c, storage })) as avsc.Schema);
    assert.deepEqual(
      out.records.map((r) => {
        const v = r.value ?? Buffer.alloc(0);
        const o = registered.fromBuffer(v.subarray(5)) as { id: string; amount: Buffer; at: number };
        return [v.subarray(0, 5).toString('hex'), r.key, o.id, o.amount.readIntBE(0, o.amount.length), o.at, r.headers];
      }),
      [
        ['0000000009', 'a', 'a', 1050, NOW, { trace: 't-1' }],
        ['0000000009', 'b', 'b', -1125, NOW + 1, {}],
        ['0000000009', 'c', 'c', 0, NOW + 2, {}],
      ],
    );

    const p = testProducer(bootstrap());
    try {
      await p.send({ messages: [{ topic, key: Buffer.from('d'), value: Buffer.from([0, 0, 0, 0, 9, 0x02]) }] });
    } finally {
      await closeProducer(p);
    }
    const tail = await KafkaTail.open({
      storage,
      dataset: 'test.out',
      contract: c,
      signal: new AbortController().signal,
      now: Date.now,
    });
    const rows: Value[][] = [];
    const rejected: string[] = [];
    try {
      for await (const ch of tail.chunks()) {
        for (let i = 0; i < ch.batch.length; i++) rows.push(ch.batch.columns.map((col) => col[i]));
        rejected.push(
          ...ch.rejected.map((e) => `${e.source} ${e.record} ${e.errorClass}: ${e.found}; ${e.rawEncoding}`),
        );
      }
    } finally {
      await tail.close();
    }
    assert.deepEqual(rows, [
      ['a', 10.5, NOW, JSON.stringify({ trace: 't-1' })],
      ['b', -11.25, NOW + 1, '{}'],
      ['c', 0, NOW + 2, '{}'],
    ]);
    // The commit markers of the transaction take offset 3.
    assert.deepEqual(rejected, [`kafka:${topic}/0 4 truncated: 1 byte, cut inside the record; base64`]);
  });

  it(`is exactly once under SIGKILL at its crash points and at random moments (${TRIALS} trials)`, async () => {
    const work = mkdtempSync(join(tmpdir(), 'napkin-kafka-trials-'));
    dirs.push(work);
    const EPOCHS = 4;
    const points = ['kafka-produced', 'kafka-committed', 'child-recorded'];
    const seed = Number(process.env.NAPKIN_KAFKA_SEED ?? '6');
    let kills = 0;
    let spawned = 0;
    const started = Date.now();
    const perPoint = new Map<string, number>();
    const runChild = (args: object, env: Record<string, string>, killAfterMs?: number) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((done) => {
        spawned++;
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
          env: { ...process.env, NAPKIN_CRASH_AT: '', ...env },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        children.push(child);
        let err = '';
        child.stderr?.on('data', (d: Buffer) => {
          err += d.toString();
        });
        const timers = [setTimeout(() => child.kill('SIGKILL'), 60_000)];
        if (killAfterMs !== undefined) timers.push(setTimeout(() => child.kill('SIGKILL'), killAfterMs));
        child.on('close', (code, signal) => {
          for (const x of timers) clearTimeout(x);
          done({ code, signal, err });
        });
      });
    /** One trial: faults, then a clean run, then the check; true when a process was killed. */
    const trial = async (i: number): Promise<boolean> => {
      const killsBefore = kills;
      const rng = prng(seed * 1000 + i);
      const topic = `trial.${i}`;
      const args = { state: join(work, `state-${i}`), topic, flow: `trial${i}`, epochs: EPOCHS, base: NOW };
      const history: string[] = [];
      // One fault (a quarter of the trials two), then a clean run to the end.
      const faults = rng() < 0.25 ? 2 : 1;
      for (let f = 0; f < faults; f++) {
        const random = rng() < 0.3;
        const point = points[Math.floor(rng() * points.length)];
        const k = 1 + Math.floor(rng() * EPOCHS);
        const r = random
          ? await runChild(args, {}, 300 + Math.floor(rng() * 2000))
          : await runChild(args, { NAPKIN_CRASH_AT: `${point}:${k}` });
        const label = random ? 'random' : `${point}:${k}`;
        if (r.signal === 'SIGKILL') {
          kills++;
          perPoint.set(random ? 'random' : point, (perPoint.get(random ? 'random' : point) ?? 0) + 1);
        }
        history.push(`${label} → ${r.signal ?? r.code}${r.err === '' ? '' : ` ${r.err.trim()}`}`);
      }
      const last = await runChild(args, {});
      history.push(`clean → ${last.signal ?? last.code}${last.err === '' ? '' : ` ${last.err.trim()}`}`);
      assert.equal(last.code, 0, `trial ${i}: ${history.join('; ')}`);
      assert.equal(readFileSync(args.state, 'utf8'), String(EPOCHS));
      const out = await readCommitted(bootstrap(), topic);
      const expected = Array.from({ length: EPOCHS }, (_, e) => rowsOf(e + 1, NOW))
        .flat()
        .map((r) => r.id);
      const got = out.records.map((r) => r.key as string);
      assert.equal(new Set(got).size, got.length, `trial ${i}: no record twice; ${history.join('; ')}`);
      assert.deepEqual([...got].sort(), [...expected].sort(), `trial ${i}: ${history.join('; ')}`);
      assert.equal(out.open, 0, `trial ${i}: no open transaction`);
      assert.ok(settled(out), `trial ${i}: the last stable offset is the end offset`);
      return history.some((h) => h.includes('SIGKILL')) && kills > killsBefore;
    };
    // Three trials at a time: each child is a short Node process, mostly starting up; the broker is shared. Trials
    // go on until TRIALS of them killed a process (a random kill can come after the child finished).
    let next = 0;
    let killed = 0;
    let trials = 0;
    const failures: string[] = [];
    await Promise.all(
      [0, 1, 2].map(async () => {
        while (killed < TRIALS && next < TRIALS * 2 && failures.length === 0) {
          const i = next++;
          try {
            if (await trial(i)) killed++;
            trials++;
          } catch (e) {
            failures.push((e as Error).message);
          }
        }
      }),
    );
    const seconds = ((Date.now() - started) / 1000).toFixed(0);
    console.log(
      `# kafka sink trials: ${trials} trials (${killed} with a SIGKILL), ${spawned} processes, ${kills} SIGKILLs (${[...perPoint].map(([p, n]) => `${p} ${n}`).join(', ')}), ${seconds} s`,
    );
    assert.deepEqual(failures, []);
    assert.ok(killed >= TRIALS, `${TRIALS} trials killed a process (${killed} of ${trials})`);
  });

  it('fences a zombie: the older producer of a transactional id stops with one line naming it', async () => {
    const work = mkdtempSync(join(tmpdir(), 'napkin-kafka-zombie-'));
    dirs.push(work);
    const topic = 'sink.zombie';
    const spawnChild = (args: object) => {
      const child = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(args)], {
        env: { ...process.env, NAPKIN_CRASH_AT: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let err = '';
      child.stderr?.on('data', (d: Buffer) => {
        err += d.toString();
      });
      const exited = new Promise<{ code: number | null; err: string }>((done) =>
        child.on('close', (code) => done({ code, err })),
      );
      return { child, exited };
    };
    const zombieState = join(work, 'zombie');
    const zombie = spawnChild({ state: zombieState, topic, flow: 'zombie', epochs: 40, pauseMs: 300, base: NOW });
    // Let it commit two epochs, then freeze it (a long GC pause, a VM migration).
    for (let i = 0; i < 600 && !(existsSync(zombieState) && Number(readFileSync(zombieState, 'utf8')) >= 2); i++)
      await new Promise((r) => setTimeout(r, 100));
    assert.ok(Number(readFileSync(zombieState, 'utf8')) >= 2, 'the first producer committed epochs');
    zombie.child.kill('SIGSTOP');
    const frozenAt = Number(readFileSync(zombieState, 'utf8'));
    // A new owner of the same sink (same flow, sink and partition: same transactional id) takes over.
    const owner = spawnChild({ state: join(work, 'owner'), topic, flow: 'zombie', epochs: 102, first: 100, base: NOW });
    const o = await owner.exited;
    assert.equal(o.code, 0, o.err);
    zombie.child.kill('SIGCONT');
    const z = await zombie.exited;
    assert.equal(z.code, 1);
    const lines = z.err.trim().split('\n');
    assert.equal(lines.length, 1, z.err);
    assert.match(
      lines[0],
      /^fenced: kafka sink write_out of flow zombie .*transactional id napkin\.zombie\.write_out\.0 was taken over by a newer producer/,
    );
    assert.match(lines[0], /without committing epoch \d+ and does not retry$/);
    const out = await readCommitted(bootstrap(), topic);
    const epochs = [...new Set(out.records.map((r) => Number(String(r.key).split(':')[0])))].sort((a, b) => a - b);
    // Every epoch the zombie committed before the takeover, then the new owner's; nothing of the zombie after.
    const before = Array.from({ length: frozenAt }, (_, i) => i + 1);
    assert.deepEqual(epochs.slice(0, frozenAt), before);
    assert.deepEqual(epochs.slice(-3), [100, 101, 102]);
    assert.ok(epochs.length <= frozenAt + 4, `the zombie committed at most the epoch it was in (${epochs.join(',')})`);
    assert.ok(settled(out));
  });

  it('napkin run: a live flow into Kafka killed at kafka-produced, then kafka-committed, writes every row once', async () => {
    const dir = tempProject('napkin-kafka-run-');
    dirs.push(dir);
    const lines = Array.from(
      { length: 300 },
      (_, i) => `${JSON.stringify({ id: `r${i}`, amount: i, at: new Date(NOW + i).toISOString() })}\n`,
    );
    writeFiles(dir, {
      'data/in.jsonl': lines.join(''),
      'napkin.config.ts': `
import { contract, dataset, defineProject, flow, jsonl, kafka, read, t, write, col } from 'napkin';
const fields = { id: t.string(), amount: t.int64(), at: t.timestamp() };
const input = dataset('shop.input', { owner: 'x', storage: jsonl('data/in.jsonl', { follow: true, stopAfterIdle: '1h' }),
  contract: contract({ key: ['id'], eventTime: 'at', fields }) });
const out = dataset('shop.big', { owner: 'x', storage: kafka({ topic: 'sink.run', brokers: 'env:NAPKIN_KAFKA_BROKERS' }),
  contract: contract({ key: ['id'], eventTime: 'at', fields }) });
export default defineProject({ name: 'kafka_sink', flows: [flow({ name: 'emit', owner: 'x', sla: '2s',
  outputs: [write(out, read(input).filter(col('amount').ge(100)))] })] });
`,
    });
    const check = napkin(dir, 'check');
    assert.equal(check.status, 0, show(check));
    const commits = join(dir, '.napkin', 'flows', 'emit', 'commits');
    const committedEpochs = () =>
      existsSync(commits) ? readdirSync(commits).filter((f) => f.endsWith('.json')).length : 0;
    const run = (env: Record<string, string>, termWhen?: () => Promise<boolean>) =>
      new Promise<{ code: number | null; signal: NodeJS.Signals | null; err: string }>((done) => {
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
        const watchdog = setTimeout(() => child.kill('SIGKILL'), 90_000);
        let poll: NodeJS.Timeout | undefined;
        if (termWhen !== undefined) {
          const tick = async () => {
            if (await termWhen()) child.kill('SIGTERM');
            else poll = setTimeout(tick, 500);
          };
          poll = setTimeout(tick, 500);
        }
        child.on('close', (code, signal) => {
          clearTimeout(watchdog);
          clearTimeout(poll);
          done({ code, signal, err });
        });
      });
    const first = await run({ NAPKIN_CRASH_AT: 'kafka-produced:1' });
    assert.equal(first.signal, 'SIGKILL', first.err);
    const second = await run({ NAPKIN_CRASH_AT: 'kafka-committed:1' });
    assert.equal(second.signal, 'SIGKILL', second.err);
    // The flow never ends its input; it is stopped by SIGTERM once it has settled the epoch the last run left and
    // its output holds 200 rows (a graceful stop commits a last epoch, non-final, so a later run would go on).
    const before = committedEpochs();
    const done = await run(
      {},
      async () => committedEpochs() > before && (await readCommitted(bootstrap(), 'sink.run')).records.length >= 200,
    );
    assert.equal(done.code, 0, done.err);
    const out = await readCommitted(bootstrap(), 'sink.run');
    const ids = out.records.map((r) => r.key);
    assert.equal(ids.length, 200);
    assert.equal(new Set(ids).size, 200);
    assert.ok(settled(out));
    assert.ok(out.aborted > 0, 'the first run left a transaction that the second aborted');
    rmSync(join(dir, 'data'), { recursive: true, force: true });
  });
});
