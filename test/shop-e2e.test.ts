// The shop example end to end, through the real CLI in a temp copy. The expected results are computed independently
// with plain DuckDB SQL over the same input files, then compared with what napkin wrote.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type CliResult,
  copyProject,
  type Duck,
  diffRows,
  napkin,
  openDuck,
  queryDuck,
  REPO,
  type Row,
  removeDir,
  show,
  sqlString,
} from './helpers.ts';

const SHOP = join(REPO, 'examples', 'shop');

interface StageJson {
  readonly stage: string;
  readonly kind: string;
  readonly mode: string;
  readonly in: number;
  readonly out: number;
  readonly quarantined: number;
  readonly filtered: number;
  readonly ms: number;
  readonly location?: string;
}

interface FlowJson {
  readonly flow: string;
  readonly stages: readonly StageJson[];
}

/** Napkin's outputs, read back in the shapes the expected results are computed in. */
interface Outputs {
  readonly enriched: Row[];
  readonly daily: Row[];
  readonly active: Row[];
  readonly bySegment: Row[];
  readonly csvText: string;
}

/** The expected results, computed with DuckDB SQL straight from data/*.csv|jsonl (none of napkin's code). */
async function expectedResults(dir: string): Promise<Omit<Outputs, 'csvText'> & { ordersRead: number }> {
  const data = (f: string) => sqlString(join(dir, 'data', f));
  const duck = await openDuck();
  try {
    const q = (sql: string) => duck.query(sql);
    await q(
      `CREATE TEMP TABLE raw_orders AS SELECT * FROM read_csv(${data('orders.csv')}, header = true, all_varchar = true)`,
    );
    await q(`CREATE TEMP TABLE orders AS
      SELECT order_id, customer_id, status, TRY_CAST(amount AS DECIMAL(12, 2)) AS amount, currency,
             TRY_CAST(placed_at AS TIMESTAMPTZ) AS placed_at, coupon
      FROM raw_orders
      WHERE order_id IS NOT NULL AND customer_id IS NOT NULL
        AND status IN ('placed', 'paid', 'shipped', 'cancelled', 'refunded')
        AND TRY_CAST(amount AS DECIMAL(12, 2)) IS NOT NULL
        AND currency IN ('EUR', 'GBP', 'USD')
        AND TRY_CAST(placed_at AS TIMESTAMPTZ) IS NOT NULL`);
    await q(`CREATE TEMP TABLE captured AS
      SELECT order_id, min(method) AS method, count(*) AS n
      FROM read_json(${data('payments.jsonl')}, format = 'newline_delimited')
      WHERE status = 'captured' GROUP BY order_id`);
    const multi = await q('SELECT count(*) AS n FROM captured WHERE n > 1');
    assert.equal(multi[0].n, 0, 'the test data has one captured payment per order');
    await q(
      `CREATE TEMP TABLE customers AS SELECT * FROM read_csv(${data('customers.csv')}, header = true, all_varchar = true)`,
    );
    await q(`CREATE TEMP TABLE fx AS
      SELECT currency, CAST(rate_to_eur AS DOUBLE) AS rate FROM read_csv(${data('fx_rates.csv')}, header = true, all_varchar = true)`);
    await q(`CREATE TEMP TABLE enriched AS
      SELECT o.order_id, o.customer_id, c.country, c.segment, p.method,
             round(CAST(o.amount AS DOUBLE) * f.rate, 2) AS amount_eur,
             epoch_ms(o.placed_at) AS placed_at_ms,
             CAST(CAST(timezone('UTC', o.placed_at) AS DATE) AS VARCHAR) AS order_date,
             o.coupon IS NOT NULL AS has_coupon
      FROM orders o
      JOIN captured p ON p.order_id = o.order_id
      LEFT JOIN customers c ON c.customer_id = o.customer_id
      JOIN fx f ON f.currency = o.currency
      WHERE o.status IN ('paid', 'shipped')`);
    const enriched = await q('SELECT * FROM enriched');
    // Sums in exact cents: float64 sums are only near the decimal truth, which the comparison allows for.
    const daily = await q(`
      WITH d AS (
        SELECT country, order_date, sum(CAST(round(amount_eur * 100) AS BIGINT)) AS c, count(*) AS n,
               count(DISTINCT customer_id) AS customers
        FROM enriched WHERE country IS NOT NULL GROUP BY country, order_date)
      SELECT country, order_date, c / 100 AS revenue_eur, n AS orders, customers,
             ((2 * c + n) // (2 * n)) / 100 AS avg_order_eur, (2 * c) % (2 * n) = n AS avg_is_tie
      FROM d`);
    const bySegment = await q(`
      SELECT coalesce(segment, 'unknown') AS segment, method, round(sum(amount_eur), 2) AS revenue_eur, count(*) AS orders
      FROM enriched GROUP BY ALL`);
    const active = await q(`
      SELECT country, count(DISTINCT customer_id) AS active_customers, round(sum(amount_eur), 2) AS revenue_eur
      FROM enriched
      WHERE country IS NOT NULL
        AND CAST(order_date AS DATE) BETWEEN (SELECT max(CAST(order_date AS DATE)) FROM enriched) - 6
                                        AND (SELECT max(CAST(order_date AS DATE)) FROM enriched)
      GROUP BY country`);
    const read = await q('SELECT count(*) AS n FROM raw_orders');
    return { enriched, daily, bySegment, active, ordersRead: read[0].n as number };
  } finally {
    duck.close();
  }
}

async function napkinOutputs(dir: string): Promise<Outputs> {
  const out = (f: string) => sqlString(join(dir, 'out', f));
  const duck: Duck = await openDuck();
  try {
    await duck.query(`ATTACH ${out('warehouse.duckdb')} AS wh (READ_ONLY)`);
    const enriched = await duck.query(`
      SELECT order_id, customer_id, country, segment, method, amount_eur, epoch_ms(placed_at) AS placed_at_ms,
             CAST(order_date AS VARCHAR) AS order_date, has_coupon
      FROM read_parquet(${out('orders_enriched.parquet')})`);
    const daily = await duck.query(`
      SELECT country, CAST(order_date AS VARCHAR) AS order_date, revenue_eur, orders, customers, avg_order_eur
      FROM wh.mart.daily_revenue`);
    const active = await duck.query('SELECT country, active_customers, revenue_eur FROM wh.mart.active_customers');
    const bySegment = await duck.query(`
      SELECT segment, method, revenue_eur, orders
      FROM read_csv(${out('revenue_by_segment.csv')}, header = true,
                    columns = {'segment': 'VARCHAR', 'method': 'VARCHAR', 'revenue_eur': 'DOUBLE', 'orders': 'BIGINT'})`);
    return {
      enriched,
      daily,
      active,
      bySegment,
      csvText: readFileSync(join(dir, 'out', 'revenue_by_segment.csv'), 'utf8'),
    };
  } finally {
    duck.close();
  }
}

/**
 * The expected daily revenue, less its tie marks. Where the exact average is a tie (x.xx5), napkin's float64 sum can
 * land a hair below it and round down: both neighbours are right there, so the expected row takes napkin's value
 * when it is one of them.
 */
function dailyExpected(expected: readonly Row[], actual: readonly Row[]): Row[] {
  const key = (r: Row) => `${r.country}|${r.order_date}`;
  const got = new Map(actual.map((r) => [key(r), r]));
  return expected.map(({ avg_is_tie, ...r }) => {
    const a = got.get(key(r))?.avg_order_eur;
    const near = typeof a === 'number' && Math.abs(a - ((r.avg_order_eur as number) - 0.01)) < 1e-9;
    return avg_is_tie === true && near ? { ...r, avg_order_eur: a } : r;
  });
}

function assertSameRows(what: string, actual: readonly Row[], expected: readonly Row[]): void {
  const d = diffRows(actual, expected);
  assert.equal(d, null, `${what}: ${d}`);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function stageOf(flows: readonly FlowJson[], flow: string, stage: string): StageJson {
  const s = flows.find((f) => f.flow === flow)?.stages.find((x) => x.stage === stage);
  assert.ok(s !== undefined, `no stage ${flow}/${stage} in the --json output`);
  return s;
}

describe('shop example, end to end through the CLI', () => {
  let dir: string;
  let first: CliResult;
  let expected: Awaited<ReturnType<typeof expectedResults>>;
  let outputs: Outputs;

  before(async () => {
    dir = copyProject(SHOP);
    first = napkin(dir, 'run', '--summary');
    expected = await expectedResults(dir);
    if (first.status === 0) outputs = await napkinOutputs(dir);
  });

  after(() => removeDir(dir));

  it('runs with exit 0 and a summary of what went where', () => {
    assert.equal(first.status, 0, show(first));
    const o = first.stdout;
    assert.match(o, /✔ shop_orders committed in \d+ ms/);
    assert.match(o, /✔ finance_daily committed in \d+ ms/);
    const lines = o.split('\n').map((l) => l.trim());
    const parquet = join(dir, 'out', 'orders_enriched.parquet');
    const csv = join(dir, 'out', 'revenue_by_segment.csv');
    // A file is shown by its path, absolute or relative to the project.
    const file = (p: string) => `(?:${escapeRegExp(join(dir, p))}|${escapeRegExp(p)})`;
    const line = (re: string) =>
      assert.ok(
        lines.some((l) => new RegExp(`^${re}$`).test(l)),
        `no line /${re}/ in\n${o}`,
      );
    assert.ok(lines.includes('Written:'), o);
    line(
      `mart\\.orders_enriched → parquet ${file('out/orders_enriched.parquet')} \\(${expected.enriched.length} rows\\)`,
    );
    line(`mart\\.daily_revenue → duckdb mart\\.daily_revenue \\(${expected.daily.length} rows, merge\\)`);
    line(
      `mart\\.revenue_by_segment → csv ${file('out/revenue_by_segment.csv')} \\(${expected.bySegment.length} rows\\)`,
    );
    line(`mart\\.active_customers → duckdb mart\\.active_customers(?: \\(${expected.active.length} rows\\))?`);
    assert.ok(lines.includes('Quarantined:'), o);
    assert.ok(lines.includes('1 record(s) from shop.orders → quarantine (napkin quarantine show shop.orders)'), o);
    assert.ok(existsSync(parquet) && existsSync(csv) && existsSync(join(dir, 'out', 'warehouse.duckdb')));
  });

  it('writes the enriched orders Parquet file as computed independently', () => {
    assert.ok(expected.enriched.length > 2000, 'the example yields enough paid orders to be a real test');
    assertSameRows('orders_enriched.parquet', outputs.enriched, expected.enriched);
  });

  it('writes mart.daily_revenue as computed independently', () => {
    assertSameRows('mart.daily_revenue', outputs.daily, dailyExpected(expected.daily, outputs.daily));
  });

  it('writes mart.active_customers (SQL model) as computed independently', () => {
    assert.ok(expected.active.length > 0);
    assertSameRows('mart.active_customers', outputs.active, expected.active);
  });

  it('writes revenue_by_segment.csv as computed independently', () => {
    assertSameRows('revenue_by_segment.csv', outputs.bySegment, expected.bySegment);
    assert.equal(outputs.csvText.split('\n')[0], 'segment,method,revenue_eur,orders');
  });

  it('quarantines exactly the one malformed order, with where, why and the original text', async () => {
    const text = readFileSync(join(dir, 'data', 'orders.csv'), 'utf8');
    const lines = text.split('\n');
    const index = lines.findIndex((l) => l.includes('twelve euros'));
    assert.ok(index > 0);
    const q = napkin(dir, 'quarantine', 'show', 'shop.orders', '--json');
    assert.equal(q.status, 0, show(q));
    const records = JSON.parse(q.stdout) as { [k: string]: unknown }[];
    assert.equal(records.length, 1, q.stdout);
    const r = records[0];
    assert.equal(r.source, 'data/orders.csv');
    assert.equal(r.line, index + 1);
    assert.equal(r.record, index, 'record numbers exclude the header line');
    assert.equal(r.field, '/amount');
    assert.equal(r.errorClass, 'type');
    assert.equal(r.found, 'twelve euros');
    assert.equal(r.raw, lines[index]);
    assert.equal(r.rawEncoding, 'utf8');
    assert.equal(r.flow, 'shop_orders');
    // The table behind the command says the same, and nothing else is in it.
    const rows = await queryDuck(
      join(dir, 'out', 'warehouse.duckdb'),
      'SELECT dataset, source, line, field, error_class, raw FROM napkin_meta.quarantine',
    );
    assert.deepEqual(rows, [
      {
        dataset: 'shop.orders',
        source: 'data/orders.csv',
        line: index + 1,
        field: '/amount',
        error_class: 'type',
        raw: lines[index],
      },
    ]);
    const list = napkin(dir, 'quarantine', 'list', '--json');
    assert.equal(list.status, 0, show(list));
    const summary = JSON.parse(list.stdout) as { dataset: string; errorClass: string; count: number }[];
    assert.deepEqual(
      summary.map((s) => [s.dataset, s.errorClass, s.count]),
      [['shop.orders', 'type', 1]],
    );
  });

  it('accounts for every record: in = out + quarantined + filtered, and again after a second run', async () => {
    const beforeSecond = outputs;
    const second = napkin(dir, 'run', '--json');
    assert.equal(second.status, 0, show(second));
    assert.equal(second.stderr, '', 'a --json run writes nothing to stderr when not on a terminal');
    const flows = JSON.parse(second.stdout) as FlowJson[];
    assert.deepEqual(
      flows.map((f) => f.flow),
      ['shop_orders', 'finance_daily'],
    );
    for (const f of flows) {
      for (const s of f.stages) {
        const isFilter = s.stage.startsWith('filter_') || s.stage === 'paid_orders';
        if (s.kind === 'source' || isFilter) {
          assert.equal(s.in, s.out + s.quarantined + s.filtered, `${f.flow}/${s.stage}: ${JSON.stringify(s)}`);
        }
        if (s.kind === 'sink') assert.equal(s.in, s.out, `${f.flow}/${s.stage}`);
        if (s.kind !== 'source') assert.equal(s.quarantined, 0, `${f.flow}/${s.stage}`);
      }
    }
    const orders = stageOf(flows, 'shop_orders', 'read_1');
    assert.equal(orders.in, expected.ordersRead, 'every data line of orders.csv is read');
    assert.equal(orders.quarantined, 1);
    assert.equal(orders.out + orders.quarantined, expected.ordersRead);
    const paid = stageOf(flows, 'shop_orders', 'paid_orders');
    assert.equal(paid.in, orders.out);
    assert.equal(stageOf(flows, 'shop_orders', 'write_mart_orders_enriched').out, expected.enriched.length);
    assert.equal(stageOf(flows, 'finance_daily', 'read_1').in, expected.enriched.length);
    assert.equal(stageOf(flows, 'finance_daily', 'write_mart_daily_revenue').out, expected.daily.length);
    assert.equal(stageOf(flows, 'finance_daily', 'write_mart_revenue_by_segment').out, expected.bySegment.length);

    // Merge mode: the second run upserts the same keys, so daily revenue has no duplicates and the same rows.
    const again = await napkinOutputs(dir);
    const dup = await queryDuck(
      join(dir, 'out', 'warehouse.duckdb'),
      'SELECT count(*) AS n FROM (SELECT country, order_date FROM mart.daily_revenue GROUP BY ALL HAVING count(*) > 1)',
    );
    assert.equal(dup[0].n, 0, 'no duplicate (country, order_date) after two merge runs');
    assertSameRows('mart.daily_revenue after the second run', again.daily, dailyExpected(expected.daily, again.daily));
    // Replace mode: identical outputs.
    assertSameRows('orders_enriched.parquet after the second run', again.enriched, beforeSecond.enriched);
    assertSameRows('mart.active_customers after the second run', again.active, beforeSecond.active);
    assert.equal(again.csvText, beforeSecond.csvText, 'revenue_by_segment.csv is rewritten byte for byte');
    // Each run quarantines the bad record once: two runs, two entries, both for the same line.
    const q = await queryDuck(
      join(dir, 'out', 'warehouse.duckdb'),
      'SELECT count(*) AS n, count(DISTINCT run_id) AS runs, count(DISTINCT line) AS lines FROM napkin_meta.quarantine',
    );
    assert.deepEqual(q, [{ n: 2, runs: 2, lines: 1 }]);
  });

  it('passes napkin check', () => {
    const r = napkin(dir, 'check');
    assert.equal(r.status, 0, show(r));
    assert.match(r.stdout, /^0 error\(s\), \d+ warning\(s\) in 2 flow\(s\)/m);
    const j = napkin(dir, 'check', '--json');
    assert.equal(j.status, 0, show(j));
    const findings = JSON.parse(j.stdout) as { severity: string }[];
    assert.ok(findings.every((f) => f.severity !== 'error'));
  });

  it('traces mart.daily_revenue.revenue_eur back to shop.orders.amount', () => {
    const r = napkin(dir, 'lineage', 'mart.daily_revenue.revenue_eur', '--format', 'json');
    assert.equal(r.status, 0, show(r));
    const trace = JSON.parse(r.stdout) as { dataset: string; column: string; direction: string };
    assert.equal(trace.dataset, 'mart.daily_revenue');
    assert.equal(trace.column, 'revenue_eur');
    assert.equal(trace.direction, 'upstream');
    const nodes: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (typeof v === 'object' && v !== null) {
        const o = v as { dataset?: unknown; column?: unknown; children?: unknown };
        if (typeof o.dataset === 'string' && typeof o.column === 'string') nodes.push(`${o.dataset}.${o.column}`);
        walk(o.children);
      }
    };
    walk((JSON.parse(r.stdout) as { trace: unknown }).trace);
    assert.ok(nodes.includes('shop.orders.amount'), nodes.join(', '));
    assert.ok(nodes.includes('mart.orders_enriched.amount_eur'), nodes.join(', '));
  });

  it('draws the napkin as SVG', () => {
    const file = join(dir, 'napkin.svg');
    const r = napkin(dir, 'draw', '--format', 'svg', '--out', file);
    assert.equal(r.status, 0, show(r));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /wrote .*napkin\.svg/);
    const svg = readFileSync(file, 'utf8');
    assert.match(svg, /<svg[\s>]/);
    assert.match(svg, /<\/svg>\s*$/);
    for (const name of ['shop.orders', 'mart.daily_revenue', 'mart.orders_enriched'])
      assert.ok(svg.includes(name), name);
  });
});
