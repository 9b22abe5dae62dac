// napkin's log on Kafka (`log: kafkaLog({ brokers })`), against a real broker: the shop example, unchanged but for
// that line, ingests its sources into Kafka topics `napkin.shop.<dataset>` and keeps its epoch records in
// `__napkin_epochs`, and writes exactly what it writes on the embedded log; a run killed at the ingestion's and the
// epochs' crash points, then run again, still does.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { copyProject, napkin, queryDuck, removeDir, show, writeFiles } from '../helpers.ts';
import { useKafkaServer } from '../kafka-server.ts';
import { RETRY, readCommitted } from './committed.ts';

const SHOP = join(import.meta.dirname, '..', '..', 'examples', 'shop');

/** The shop example with its log on Kafka under `prefix`. */
function onKafka(prefix: string): string {
  const dir = copyProject(SHOP);
  const config = readFileSync(join(dir, 'napkin.config.ts'), 'utf8')
    .replace("import { defineProject } from 'napkin';", "import { defineProject, kafkaLog } from 'napkin';")
    .replace(
      "warehouse: 'out/warehouse.duckdb',",
      `warehouse: 'out/warehouse.duckdb',\n  log: kafkaLog({ brokers: 'env:NAPKIN_KAFKA_BROKERS', prefix: '${prefix}' }),`,
    );
  writeFiles(dir, { 'napkin.config.ts': config });
  return dir;
}

/** Every table the shop writes to its warehouse, and its output files, as comparable text. */
async function outputs(dir: string): Promise<string> {
  const db = join(dir, 'out', 'warehouse.duckdb');
  const tables = await queryDuck(
    db,
    `SELECT schema_name || '.' || table_name AS t FROM duckdb_tables() WHERE schema_name NOT IN ('napkin_meta') ORDER BY 1`,
  );
  const parts: string[] = [];
  for (const { t } of tables) {
    const rows = await queryDuck(db, `SELECT * FROM ${t} ORDER BY ALL`);
    parts.push(`${t}: ${JSON.stringify(rows)}`);
  }
  for (const f of readdirSync(join(dir, 'out'))
    .filter((n) => n.endsWith('.csv'))
    .sort())
    parts.push(`${f}: ${readFileSync(join(dir, 'out', f), 'utf8')}`);
  return parts.join('\n');
}

describe("napkin's log on Kafka (kafkaLog)", () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) removeDir(d);
  });
  const broker = useKafkaServer();
  /** What the shop writes on the embedded log: the reference every run on Kafka is held to (computed once). */
  let reference: Promise<string> | undefined;
  const embeddedOutputs = (): Promise<string> => {
    reference ??= (async () => {
      const embedded = copyProject(SHOP);
      dirs.push(embedded);
      const r = napkin(embedded, 'run');
      assert.equal(r.status, 0, show(r));
      return outputs(embedded);
    })();
    return reference;
  };

  it('the shop example writes what it writes on the embedded log; its topics and epoch records are on Kafka', async () => {
    const want = await embeddedOutputs();
    const dir = onKafka('napkin.shop1');
    dirs.push(dir);
    const r1 = napkin(dir, 'run');
    assert.equal(r1.status, 0, show(r1));
    assert.equal(await outputs(dir), want);
    // The topics are Kafka's: no segment file in the state folder, records in napkin.shop1.<dataset>.
    const segments = (d: string): string[] =>
      existsSync(d)
        ? readdirSync(d, { withFileTypes: true }).flatMap((e) =>
            e.isDirectory() ? segments(join(d, e.name)) : e.name.endsWith('.seg') ? [e.name] : [],
          )
        : [];
    assert.deepEqual(segments(join(dir, '.napkin')), []);
    const admin = new Admin({ clientId: 'check', bootstrapBrokers: [broker().bootstrap], ...RETRY });
    const topics = (await admin.listTopics({ includeInternals: true })).filter((t) => t.startsWith('napkin.shop1.'));
    await admin.close();
    assert.ok(topics.length >= 3, topics.join(', '));
    const orders = topics.find((t) => t.endsWith('.orders')) as string;
    const c = await readCommitted(broker().bootstrap, orders);
    assert.ok(c.records.length > 0 && c.open === 0, `${orders}: ${c.records.length} records, ${c.open} open`);
    const epochs = await readCommitted(broker().bootstrap, '__napkin_epochs');
    // Both flows committed their epoch there (partition 0: napkin run runs a flow whole), under the log's prefix.
    const keys = new Set(epochs.records.map((r) => r.key));
    for (const flow of ['shop_orders', 'finance_daily'])
      assert.ok(keys.has(`napkin.shop1/${flow}/0/commit`), `napkin.shop1/${flow}/0/commit`);

    // A second run ingests nothing new and writes the same again.
    const r2 = napkin(dir, 'run');
    assert.equal(r2.status, 0, show(r2));
    assert.equal(await outputs(dir), want);
    assert.equal((await readCommitted(broker().bootstrap, orders)).records.length, c.records.length);
    // napkin status reads the epochs from __napkin_epochs (without fencing anyone), the sources as topics on Kafka.
    const st = napkin(dir, 'status', '--json');
    assert.equal(st.status, 0, show(st));
    const flows = (
      JSON.parse(st.stdout) as {
        flows: {
          flow: string;
          health: string;
          sources: { dataset: string; state: string; topic?: string; committed?: number; end?: number }[];
        }[];
      }
    ).flows;
    const shop = flows.find((f) => f.flow === 'shop_orders');
    assert.ok(shop !== undefined && shop.health !== 'NEVER RUN', JSON.stringify(shop));
    assert.ok(
      // Caught up: the committed epochs end at the last record; the topic's end is one past its last commit marker.
      shop.sources.every(
        (x) =>
          x.state === 'on kafka' &&
          x.topic === `napkin.shop1.${x.dataset}` &&
          x.end !== undefined &&
          x.committed !== undefined &&
          x.end - x.committed === 1,
      ),
      JSON.stringify(shop.sources),
    );
    assert.match(napkin(dir, 'status').stdout, /kafka napkin\.shop1\.shop\.orders, committed to offset \d+ of \d+/);
  });

  it('napkin quarantine replay and napkin replay work on Kafka as they do on the embedded log', async () => {
    // The same steps on both logs: run, replay the quarantined order with a corrected record, run, then rebuild
    // shop_orders into version 2 from the log and switch it in. Outputs (the kept version 1 included) must agree.
    const steps = (dir: string): string[] => {
      const lines: string[] = [];
      const step = (...args: string[]) => {
        const r = napkin(dir, ...args);
        assert.equal(r.status, 0, `${args.join(' ')}: ${show(r)}`);
        lines.push(r.stdout.split('\n').find((l) => /replayed|version/.test(l)) ?? '');
      };
      step('run');
      const id = /([0-9a-f]{12})/.exec(napkin(dir, 'quarantine', 'show', 'shop.orders').stdout)?.[1];
      assert.ok(id !== undefined, 'the shop quarantines one order');
      writeFiles(dir, {
        'fixed.jsonl': `${JSON.stringify({
          _quarantine_id: id,
          order_id: 'O900001',
          customer_id: 'C0042',
          status: 'paid',
          amount: '12.00',
          currency: 'EUR',
          placed_at: '2024-04-12T10:00:00Z',
        })}\n`,
      });
      step('quarantine', 'replay', 'shop.orders', '--file', 'fixed.jsonl');
      step('run');
      step('replay', 'shop_orders');
      step('run');
      return lines;
    };
    const embedded = copyProject(SHOP);
    dirs.push(embedded);
    const want = steps(embedded);
    const dir = onKafka('napkin.shop-replays');
    dirs.push(dir);
    assert.deepEqual(steps(dir), want);
    assert.equal(await outputs(dir), await outputs(embedded));
    const versions = napkin(dir, 'versions', 'shop_orders');
    assert.equal(versions.stdout, napkin(embedded, 'versions', 'shop_orders').stdout);
    assert.match(versions.stdout, /__v1/, `version 1 is kept after the switch: ${versions.stdout}`);
    // The replay chunk went to the dataset's topic on Kafka, not to the state folder.
    const c = await readCommitted(broker().bootstrap, 'napkin.shop-replays.shop.orders');
    assert.ok(
      c.records.some((r) => r.value?.toString('utf8').includes('"kind":"replay"') === true),
      'a replay marker in napkin.shop-replays.shop.orders',
    );
  });

  for (const point of ['ingest-append:2', 'epoch-offsets:1', 'epoch-checkpoint:1', 'epoch-sinks:1', 'epoch-commit:1'])
    it(`killed at ${point}, then run again: the same output`, async () => {
      const want = await embeddedOutputs();
      const dir = onKafka(`napkin.crash-${point.replace(':', '-')}`);
      dirs.push(dir);
      const killed = napkinWith(dir, { NAPKIN_CRASH_AT: point }, 'run');
      assert.equal(killed.status, null, `not killed at ${point}: ${show(killed)}`);
      const again = napkin(dir, 'run');
      assert.equal(again.status, 0, show(again));
      assert.equal(await outputs(dir), want);
    });
});

function napkinWith(dir: string, env: Record<string, string>, ...args: string[]) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return napkin(dir, ...args);
  } finally {
    for (const k of Object.keys(env))
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
  }
}
