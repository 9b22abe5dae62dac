import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { col, count } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { type Dataset, type DatasetOptions, dataset } from '../flow/dataset.ts';
import { type Flow, flow, model, type Output, write } from '../flow/flow.ts';
import { kafka } from '../flow/kafka-storage.ts';
import { defineProject } from '../flow/project.ts';
import { read } from '../flow/rel.ts';
import { csv, duckdb } from '../flow/storage.ts';
import { fixed } from '../time/windows.ts';
import { type Finding, formatFinding, RULES } from './findings.ts';
import { type ProjectPlan, planProject, type SqlAnalysis } from './project-plan.ts';
import type { SqlLineage } from './sql/lineage.ts';

const registry = createRegistry();

const events = contract({ key: ['id'], fields: { id: t.string(), value: t.int64() } });
const keyless = contract({ fields: { id: t.string(), value: t.int64() } });

/** A well-formed dataset: owned, contracted, stored. Options override. */
function ds(name: string, options: DatasetOptions = {}): Dataset {
  return dataset(name, {
    owner: 'data-team',
    contract: events,
    storage: duckdb(name.replaceAll('.', '_')),
    ...options,
  });
}

function mkFlow(name: string, outputs: readonly Output[], sla = '1d'): Flow {
  return flow({ name, owner: 'data-team', sla, outputs });
}

/** Plans a project and checks the invariants every finding keeps: a known code, its severity, a hint. */
function plan(flows: readonly Flow[], options: { datasets?: Dataset[]; sql?: SqlAnalysis } = {}): ProjectPlan {
  const p = planProject(
    defineProject({ name: 'test', flows, ...(options.datasets ? { datasets: options.datasets } : {}) }),
    registry,
    options.sql,
  );
  const rules = new Map<string, string>(Object.values(RULES).map((r) => [r.code, r.severity]));
  for (const f of p.findings) {
    assert.notEqual(f.hint.trim(), '', `finding without a hint: ${formatFinding(f)}`);
    assert.notEqual(f.message.trim(), '', `finding without a message: ${formatFinding(f)}`);
    assert.equal(rules.get(f.code), f.severity, `unknown code or wrong severity: ${formatFinding(f)}`);
  }
  return p;
}

function withCode(p: ProjectPlan, code: string): Finding[] {
  return p.findings.filter((f) => f.code === code);
}

/** The one finding with `code`; fails listing all findings otherwise. */
function one(p: ProjectPlan, code: string): Finding {
  const found = withCode(p, code);
  assert.equal(found.length, 1, `expected one ${code}, got:\n${p.findings.map(formatFinding).join('\n')}`);
  return found[0];
}

function codes(p: ProjectPlan): string[] {
  return p.findings.map((f) => f.code).sort();
}

function order(p: ProjectPlan): string[] {
  return p.flows.map((b) => b.flow.name);
}

function lineage(inputs: string[], errors: string[] = []): SqlLineage {
  return { inputs, outputColumns: ['id', 'value'], columns: { id: [], value: [] }, indirect: [], errors };
}

const raw = ds('shop.raw', { storage: csv('data/raw.csv') });

describe('a clean project', () => {
  test('yields zero findings', () => {
    const clean = ds('shop.clean');
    const totals = ds('mart.totals', { freshness: '1d' });
    const modelOut = ds('mart.model');
    const ingest = mkFlow('ingest', [
      write(clean, read(raw, { onInvalid: 'quarantine', errorBudget: 10 }).filter(col('value').gt(0)), {
        writeMode: 'merge',
      }),
    ]);
    const report = mkFlow('report', [
      write(
        totals,
        read(clean).groupBy('id').agg({ value: count() }).stage('totals', { mode: 'batch' }).filter(col('value').ge(0)),
      ),
      model(modelOut, 'select id, value from shop.clean'),
    ]);
    const p = plan([report, ingest], {
      datasets: [raw, clean],
      sql: new Map([['mart.model', lineage(['shop.clean'])]]),
    });
    assert.deepEqual(p.findings, [], p.findings.map(formatFinding).join('\n'));
    assert.deepEqual(order(p), ['ingest', 'report']);
    const node = p.datasets.get('shop.clean');
    assert.ok(node);
    assert.equal(node.published, true);
    assert.deepEqual(node.producers, [{ flow: 'ingest', stage: 'write_shop_clean' }]);
    assert.deepEqual(node.consumers, [
      { flow: 'report', stage: 'read_1' },
      { flow: 'report', stage: 'model_mart_model' },
    ]);
    assert.equal(p.datasets.get('shop.raw')?.published, false);
  });
});

describe('NAP007: cycles', () => {
  test('two flows that read each other’s output', () => {
    const x = ds('shop.x');
    const y = ds('shop.y');
    const a = mkFlow('a', [write(y, read(x))]);
    const b = mkFlow('b', [write(x, read(y))]);
    const p = plan([a, b]);
    const f = one(p, 'NAP007');
    assert.equal(f.severity, 'error');
    assert.match(f.message, /cycle: a → b → a/);
    assert.deepEqual(order(p).sort(), ['a', 'b'], 'every flow is still planned');
  });

  test('a cycle through three flows', () => {
    const [x, y, z] = [ds('shop.x'), ds('shop.y'), ds('shop.z')];
    const p = plan([
      mkFlow('a', [write(y, read(x))]),
      mkFlow('b', [write(z, read(y))]),
      mkFlow('c', [write(x, read(z))]),
    ]);
    assert.match(one(p, 'NAP007').message, /a → c → b → a/);
  });

  test('a flow that reads its own output', () => {
    const x = ds('shop.x');
    const p = plan([mkFlow('loop', [write(x, read(x).filter(col('value').gt(0)))])]);
    const f = one(p, 'NAP007');
    assert.equal(f.flow, 'loop');
    assert.match(f.message, /flow 'loop' reads a dataset it writes itself/);
  });

  test('a SQL model that reads the output of its own flow', () => {
    const x = ds('shop.x');
    const m = ds('mart.m');
    const p = plan([mkFlow('loop', [write(x, read(raw)), model(m, 'select * from shop.x')])], {
      sql: new Map([['mart.m', lineage(['shop.x'])]]),
    });
    assert.match(one(p, 'NAP007').message, /'loop'/);
  });
});

describe('dataset rules', () => {
  test('NAP008: a dataset written by two flows', () => {
    const z = ds('shop.z');
    const p = plan([mkFlow('a', [write(z, read(raw))]), mkFlow('b', [write(z, read(raw))])]);
    const f = one(p, 'NAP008');
    assert.equal(f.dataset, 'shop.z');
    assert.match(f.message, /'shop\.z' is written by a\/write_shop_z and b\/write_shop_z/);
  });

  test('NAP009: a declared dataset nobody reads or writes is a warning', () => {
    const unused = ds('shop.unused');
    const p = plan([mkFlow('a', [write(ds('shop.out'), read(raw))])], { datasets: [raw, unused] });
    const f = one(p, 'NAP009');
    assert.equal(f.severity, 'warning');
    assert.equal(f.dataset, 'shop.unused');
    assert.match(f.message, /shop\.unused/);
    assert.deepEqual(codes(p), ['NAP009']);
  });

  test('NAP010: a published dataset without an owner', () => {
    const out = ds('shop.out', { owner: undefined });
    const p = plan([mkFlow('a', [write(out, read(raw))])]);
    const f = one(p, 'NAP010');
    assert.equal(f.dataset, 'shop.out');
    assert.match(f.message, /'shop\.out' has no owner/);
    assert.deepEqual(codes(p), ['NAP010']);
    const blank = plan([mkFlow('a', [write(ds('shop.out', { owner: '  ' }), read(raw))])]);
    assert.deepEqual(codes(blank), ['NAP010']);
  });

  test('NAP011: a published dataset without a contract', () => {
    const out = ds('shop.out', { contract: undefined });
    const p = plan([mkFlow('a', [write(out, read(raw))])]);
    const f = one(p, 'NAP011');
    assert.equal(f.dataset, 'shop.out');
    assert.match(f.message, /published dataset 'shop\.out' has no contract/);
    assert.deepEqual(codes(p), ['NAP011']);
  });

  test('NAP006: a dataset read with no storage and no producer', () => {
    const ghost = ds('shop.ghost', { storage: undefined });
    const p = plan([mkFlow('a', [write(ds('shop.out'), read(ghost))])]);
    assert.equal(one(p, 'NAP006').dataset, 'shop.ghost');
    assert.deepEqual(codes(p), ['NAP006']);
  });

  test('NAP016: two flows with one name; NAP017: two datasets with one name', () => {
    const p = plan([mkFlow('a', [write(ds('shop.one'), read(raw))]), mkFlow('a', [write(ds('shop.two'), read(raw))])]);
    assert.match(one(p, 'NAP016').message, /two flows are named 'a'/);
    const q = plan([
      mkFlow('a', [write(ds('shop.one'), read(raw))]),
      mkFlow('b', [
        write(ds('shop.two'), read(ds('shop.raw', { owner: 'someone-else', storage: csv('data/raw.csv') }))),
      ]),
    ]);
    assert.equal(one(q, 'NAP017').dataset, 'shop.raw');
    assert.equal(
      withCode(plan([mkFlow('a', [write(ds('shop.one'), read(raw))])], { datasets: [raw] }), 'NAP017').length,
      0,
    );
  });
});

describe('SLA and mode rules', () => {
  test('NAP012: a stage forced to streaming with a daily SLA', () => {
    const rel = read(raw).filter(col('value').gt(0)).stage('hot', { mode: 'streaming' });
    const p = plan([mkFlow('a', [write(ds('shop.out'), rel)])]);
    const f = one(p, 'NAP012');
    assert.equal(f.severity, 'warning');
    assert.equal(f.stage, 'hot');
    assert.match(f.message, /forced to streaming while its SLA is 1d/);
    assert.deepEqual(codes(p), ['NAP012']);
  });

  test('NAP013: a stage forced to batch with a 30s SLA', () => {
    const rel = read(raw).filter(col('value').gt(0)).stage('slow', { mode: 'batch' });
    const p = plan([mkFlow('a', [write(ds('shop.out'), rel)], '30s')]);
    const f = one(p, 'NAP013');
    assert.equal(f.severity, 'warning');
    assert.equal(f.stage, 'slow');
    assert.match(f.message, /forced to batch while its SLA is 30s/);
    assert.deepEqual(codes(p), ['NAP013']);
  });

  test('a forced mode that agrees with the SLA is fine', () => {
    const rel = read(raw).filter(col('value').gt(0)).stage('s', { mode: 'batch' });
    assert.deepEqual(plan([mkFlow('a', [write(ds('shop.out'), rel)])]).findings, []);
  });

  test('NAP014: a stage with SLA 1h whose input stage has SLA 1d', () => {
    const rel = read(raw).filter(col('value').gt(0)).stage('fast', { sla: '1h' });
    const p = plan([mkFlow('a', [write(ds('shop.out'), rel)])]);
    const f = one(p, 'NAP014');
    assert.equal(f.stage, 'fast');
    assert.match(f.message, /SLA 1h cannot be met: its input read_1 has SLA 1d/);
    assert.deepEqual(codes(p), ['NAP014']);
  });

  test('NAP014: a source refreshed daily read by a stage with SLA 1h', () => {
    const daily = ds('shop.daily', { freshness: '1d', storage: csv('data/daily.csv') });
    const p = plan([mkFlow('a', [write(ds('shop.out'), read(daily))], '1h')]);
    const f = one(p, 'NAP014');
    assert.equal(f.dataset, 'shop.daily');
    assert.equal(f.stage, 'read_1');
    assert.match(f.message, /dataset shop\.daily is only refreshed every 1d/);
    assert.deepEqual(codes(p), ['NAP014']);
    const hourly = ds('shop.daily', { freshness: '1h', storage: csv('data/daily.csv') });
    assert.deepEqual(plan([mkFlow('a', [write(ds('shop.out'), read(hourly))])]).findings, []);
  });

  test('NAP014: a dataset promising more freshness than the stage writing it', () => {
    const p = plan([mkFlow('a', [write(ds('shop.out', { freshness: '1h' }), read(raw))])]);
    const f = one(p, 'NAP014');
    assert.equal(f.stage, 'write_shop_out');
    assert.match(f.message, /promises freshness 1h but the stage writing it has SLA 1d/);
  });
});

describe('bad-input rules', () => {
  test('NAP015: quarantine without an error budget', () => {
    const p = plan([mkFlow('a', [write(ds('shop.out'), read(raw, { onInvalid: 'quarantine' }))])]);
    const f = one(p, 'NAP015');
    assert.equal(f.stage, 'read_1');
    assert.equal(f.dataset, 'shop.raw');
    assert.match(f.message, /shop\.raw/);
    assert.deepEqual(codes(p), ['NAP015']);
    const budgeted = read(raw, { onInvalid: 'quarantine', errorBudget: 'unlimited' });
    assert.deepEqual(plan([mkFlow('a', [write(ds('shop.out'), budgeted)])]).findings, []);
  });

  test('NAP019: a merge write to a dataset whose contract has no key', () => {
    const out = ds('shop.out', { contract: keyless });
    const p = plan([mkFlow('a', [write(out, read(raw), { writeMode: 'merge' })])]);
    const f = one(p, 'NAP019');
    assert.equal(f.stage, 'write_shop_out');
    assert.match(f.message, /merge write to shop\.out/);
    assert.deepEqual(codes(p), ['NAP019']);
    assert.deepEqual(plan([mkFlow('a', [write(out, read(raw))])]).findings, [], 'replace needs no key');
  });
});

describe('flow order', () => {
  test('producers run before consumers whatever the declaration order', () => {
    const [b1, b2, b3] = [ds('shop.b1'), ds('shop.b2'), ds('shop.b3')];
    const first = mkFlow('first', [write(b1, read(raw))]);
    const second = mkFlow('second', [write(b2, read(b1))]);
    const third = mkFlow('third', [write(b3, read(b2).union(read(b1)))]);
    const alone = mkFlow('alone', [write(ds('shop.alone'), read(raw))]);
    for (const flows of [
      [third, second, first, alone],
      [alone, second, third, first],
      [first, second, third, alone],
    ]) {
      const p = plan(flows);
      assert.deepEqual(p.findings, []);
      const o = order(p);
      assert.equal(o.length, 4);
      assert.ok(o.indexOf('first') < o.indexOf('second'), o.join(', '));
      assert.ok(o.indexOf('second') < o.indexOf('third'), o.join(', '));
    }
    assert.deepEqual(order(plan([third, second, first])), ['first', 'second', 'third']);
  });
});

describe('SQL models', () => {
  test('NAP018: the SqlLineage errors of a model become findings', () => {
    const m = ds('mart.m');
    const errors = ['unknown column shop.raw.vaule', 'a SQL model must be one SELECT statement'];
    const p = plan([mkFlow('a', [model(m, 'select vaule from shop.raw')])], {
      sql: new Map([['mart.m', lineage(['shop.raw'], errors)]]),
      datasets: [raw],
    });
    const found = withCode(p, 'NAP018');
    assert.deepEqual(
      found.map((f) => f.message),
      errors,
    );
    for (const f of found) {
      assert.equal(f.flow, 'a');
      assert.equal(f.stage, 'model_mart_m');
      assert.equal(f.dataset, 'mart.m');
    }
    assert.deepEqual(codes(p), ['NAP018', 'NAP018']);
  });

  test('a model without analysis gives no finding and no edges', () => {
    const p = plan([mkFlow('a', [model(ds('mart.m'), 'select 1 as id')])]);
    assert.deepEqual(p.findings, []);
    assert.equal(p.datasets.get('mart.m')?.published, true);
  });

  test('the inputs of a model order its flow after their producers, whatever the declaration order', () => {
    const y = ds('shop.y');
    const m = ds('mart.m');
    const consumer = mkFlow('consumer', [model(m, 'select id, value from shop.y')]);
    const producer = mkFlow('producer', [write(y, read(raw))]);
    const sql = new Map([['mart.m', lineage(['shop.y'])]]);
    for (const flows of [
      [consumer, producer],
      [producer, consumer],
    ]) {
      const p = plan(flows, { sql });
      assert.deepEqual(p.findings, []);
      assert.deepEqual(order(p), ['producer', 'consumer']);
      assert.deepEqual(p.datasets.get('shop.y')?.consumers, [{ flow: 'consumer', stage: 'model_mart_m' }]);
    }
  });

  test('a model in a cycle with a flow is reported', () => {
    const [y, m] = [ds('shop.y'), ds('mart.m')];
    const p = plan([mkFlow('a', [model(m, 'select * from shop.y')]), mkFlow('b', [write(y, read(m))])], {
      sql: new Map([['mart.m', lineage(['shop.y'])]]),
    });
    assert.match(one(p, 'NAP007').message, /a → b → a/);
  });
});

describe('NAP027: stages that answer at the end of an input that never ends', () => {
  const topic = (name: string, more: { stopAfterIdle?: string } = {}) =>
    ds(name, {
      contract: contract({
        key: ['id'],
        eventTime: 'at',
        fields: { id: t.string(), value: t.int64(), at: t.timestamp() },
      }),
      storage: kafka({ topic: name, brokers: 'env:NAPKIN_KAFKA_BROKERS', key: 'id', ...more }),
    });
  const orders = topic('shop.orders');
  const dim = ds('shop.dim', { storage: csv('data/dim.csv') });

  test('a hash join whose right side reads a Kafka topic, and a global aggregate over one, are warned of', () => {
    const joined = read(dim).join(read(orders).select('id', 'value'), { on: 'id' }).stage('joined');
    const totals = read(orders).filter(col('value').gt(0)).groupBy('id').agg({ n: count() }).stage('totals');
    const p = plan([mkFlow('a', [write(ds('shop.j'), joined), write(ds('shop.t'), totals)], '1m')]);
    const found = withCode(p, 'NAP027');
    assert.deepEqual(found.map((f) => f.stage).sort(), ['joined', 'totals']);
    const j = found.find((f) => f.stage === 'joined') as Finding;
    assert.equal(j.severity, 'warning');
    assert.match(j.message, /right side reads shop\.orders \(Kafka topic shop\.orders\), which never ends/);
    assert.match(j.hint, /temporalJoin/);
    assert.match((found.find((f) => f.stage === 'totals') as Finding).hint, /window\(fixed/);
  });

  test('the stream on the left of a join, a windowed aggregate, or a source told to stop after idling are fine', () => {
    const streamLeft = read(orders).join(read(dim).select('id'), { on: 'id' }).stage('enriched');
    const windowed = read(orders).window(fixed('1m')).groupBy('id').agg({ n: count() }).stage('per_minute');
    const ending = read(topic('shop.batchy', { stopAfterIdle: '5s' }))
      .groupBy('id')
      .agg({ n: count() })
      .stage('all');
    const p = plan([
      mkFlow('a', [write(ds('shop.e'), streamLeft), write(ds('shop.w'), windowed), write(ds('shop.x'), ending)], '1m'),
    ]);
    assert.deepEqual(withCode(p, 'NAP027'), []);
  });
});

describe('state rules (reliability §2.8)', () => {
  const timed = ds('shop.timed', {
    storage: csv('data/timed.csv'),
    contract: contract({
      key: ['id'],
      eventTime: 'at',
      fields: { id: t.string(), value: t.int64(), at: t.timestamp() },
    }),
  });
  const stateful = (p: ProjectPlan) => withCode(p, 'NAP025').map((f) => f.stage);

  test('NAP025: an aggregate without an explicit id is a warning naming the stage and how to name it', () => {
    const p = plan([mkFlow('a', [write(ds('shop.out'), read(raw).groupBy('id').agg({ value: count() }))])]);
    const f = one(p, 'NAP025');
    assert.equal(f.severity, 'warning');
    assert.equal(f.flow, 'a');
    assert.equal(f.stage, 'aggregate_1');
    assert.match(f.message, /aggregate \(groupBy id agg value = count\(\)\) keeps state but has no explicit id/);
    assert.match(f.message, /made-up id 'aggregate_1'/);
    assert.match(f.hint, /\.agg\(\{…\}\)\.stage\('totals_by_id'\)/);
    assert.deepEqual(codes(p), ['NAP025']);
  });

  test('joins, dedupe and windowed aggregates are stateful; filter, select, union and map are not', () => {
    const rel = read(raw)
      .filter(col('value').gt(0))
      .select('id', 'value')
      .union(read(raw))
      .map((r) => ({ value: r.value }), { reads: ['value'], writes: { value: t.int64() } })
      .dedupe('id')
      .join(read(ds('shop.dim', { storage: csv('data/dim.csv') })).select('id'), { on: 'id' });
    const windowed = read(timed).window(fixed('1m')).groupBy('id').agg({ n: count() });
    const p = plan([mkFlow('a', [write(ds('shop.out'), rel), write(ds('shop.win'), windowed)])]);
    assert.deepEqual(stateful(p).sort(), ['aggregate_1', 'dedupe_1', 'join_1']);
    assert.match(withCode(p, 'NAP025').find((f) => f.stage === 'aggregate_1')?.message ?? '', /^windowed aggregate/);
    assert.match(
      withCode(p, 'NAP025').find((f) => f.stage === 'join_1')?.hint ?? '',
      /\.join\(…\)\.stage\('joined_by_id'\)/,
    );
    assert.match(withCode(p, 'NAP025').find((f) => f.stage === 'dedupe_1')?.hint ?? '', /\.stage\('unique_by_id'\)/);
  });

  test('an id given to the stateful stage itself silences it; one given to a later stage does not', () => {
    const named = read(raw).groupBy('id').agg({ value: count() }).stage('totals');
    assert.deepEqual(plan([mkFlow('a', [write(ds('shop.out'), named.filter(col('value').gt(1)))])]).findings, []);
    const late = read(raw).groupBy('id').agg({ value: count() }).filter(col('value').gt(1)).stage('big_totals');
    assert.deepEqual(stateful(plan([mkFlow('a', [write(ds('shop.out'), late)])])), ['aggregate_1']);
  });

  test('why: a made-up id shifts when a stage is added before it, an explicit one stays', () => {
    const idOf = (p: ProjectPlan, detail: RegExp) =>
      p.flows[0].stages.find((s) => s.op === 'aggregate' && detail.test(s.detail))?.id;
    const flowOf = (extra: boolean, name?: string) => {
      const totals = read(raw).groupBy('id').agg({ value: count() });
      const second = name === undefined ? totals : totals.stage(name);
      const outputs = [write(ds('shop.out'), second)];
      if (extra)
        // An unnamed aggregate added before it takes its made-up id.
        outputs.unshift(write(ds('shop.first'), read(raw).groupBy('value').agg({ n: count() })));
      return plan([mkFlow('a', outputs)]);
    };
    assert.equal(idOf(flowOf(false), /groupBy id/), 'aggregate_1');
    assert.notEqual(idOf(flowOf(true), /groupBy id/), 'aggregate_1');
    assert.equal(idOf(flowOf(false, 'totals'), /groupBy id/), 'totals');
    assert.equal(idOf(flowOf(true, 'totals'), /groupBy id/), 'totals');
  });
});
