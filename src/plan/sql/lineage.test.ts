import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { parseSql } from '../../connectors/duckdb/parse-sql.ts';
import { type ColumnEdge, isAggregate, type SqlLineage, sqlLineage } from './lineage.ts';

// The same tables exist in DuckDB, so output names can be checked against what DuckDB really produces.
const TABLES: Record<string, readonly (readonly [string, string])[]> = {
  'shop.orders': [
    ['order_id', 'INTEGER'],
    ['customer_id', 'INTEGER'],
    ['amount', 'DOUBLE'],
    ['status', 'VARCHAR'],
    ['ordered_at', 'TIMESTAMP'],
  ],
  customers: [
    ['customer_id', 'INTEGER'],
    ['name', 'VARCHAR'],
    ['country', 'VARCHAR'],
  ],
  refunds: [
    ['order_id', 'INTEGER'],
    ['amount', 'DOUBLE'],
  ],
};

const catalog = { columns: (table: string) => TABLES[table]?.map(([name]) => name) };

let instance: DuckDBInstance;
let connection: DuckDBConnection;

before(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  await connection.run('CREATE SCHEMA shop');
  for (const [table, columns] of Object.entries(TABLES)) {
    await connection.run(`CREATE TABLE ${table} (${columns.map(([name, type]) => `"${name}" ${type}`).join(', ')})`);
  }
});

after(() => {
  connection.closeSync();
  instance.closeSync();
});

async function lineage(sql: string): Promise<SqlLineage> {
  return sqlLineage(await parseSql(connection, sql), catalog);
}

/** "dataset.column TYPE/SUBTYPE", which reads well in a failing assertion. */
function show(edges: readonly ColumnEdge[]): string[] {
  return edges.map((edge) => `${edge.dataset}.${edge.column} ${edge.type}/${edge.subtype}`);
}

function showColumns(result: SqlLineage): Record<string, string[]> {
  return Object.fromEntries(result.outputColumns.map((name) => [name, show(result.columns[name])]));
}

async function duckdbNames(sql: string): Promise<string[]> {
  await connection.run(`CREATE OR REPLACE TEMP TABLE naming_probe AS ${sql}`);
  const reader = await connection.runAndReadAll('SELECT column_name FROM (DESCRIBE naming_probe)');
  return reader.getRows().map((row) => String(row[0]));
}

describe('sqlLineage', () => {
  it('traces a join + group by model: revenue per country', async () => {
    const result = await lineage(`
      SELECT country, sum(amount) AS revenue, count(*) AS orders
      FROM shop.orders JOIN customers USING (customer_id)
      WHERE status = 'paid'
      GROUP BY country`);
    assert.deepEqual(result, {
      inputs: ['customers', 'shop.orders'],
      outputColumns: ['country', 'revenue', 'orders'],
      columns: {
        country: [{ dataset: 'customers', column: 'country', type: 'DIRECT', subtype: 'IDENTITY' }],
        revenue: [{ dataset: 'shop.orders', column: 'amount', type: 'DIRECT', subtype: 'AGGREGATION' }],
        orders: [],
      },
      indirect: [
        { dataset: 'customers', column: 'country', type: 'INDIRECT', subtype: 'GROUP_BY' },
        { dataset: 'customers', column: 'customer_id', type: 'INDIRECT', subtype: 'JOIN' },
        { dataset: 'shop.orders', column: 'customer_id', type: 'INDIRECT', subtype: 'JOIN' },
        { dataset: 'shop.orders', column: 'status', type: 'INDIRECT', subtype: 'FILTER' },
      ],
      errors: [],
    });
  });

  it('resolves table aliases, column aliases, qualified names and JOIN ... ON', async () => {
    const result = await lineage(`
      SELECT o.order_id AS id, c.name AS customer, o.amount * 2 AS doubled
      FROM shop.orders AS o JOIN customers AS c ON o.customer_id = c.customer_id AND c.country <> 'NL'
      ORDER BY customer, o.ordered_at`);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(showColumns(result), {
      id: ['shop.orders.order_id DIRECT/IDENTITY'],
      customer: ['customers.name DIRECT/IDENTITY'],
      doubled: ['shop.orders.amount DIRECT/TRANSFORMATION'],
    });
    assert.deepEqual(show(result.indirect), [
      'customers.country INDIRECT/JOIN',
      'customers.customer_id INDIRECT/JOIN',
      'customers.name INDIRECT/SORT',
      'shop.orders.customer_id INDIRECT/JOIN',
      'shop.orders.ordered_at INDIRECT/SORT',
    ]);

    // Without an alias a table answers to its name, with or without schema; with one, only to the alias.
    const unaliased = await lineage('SELECT shop.orders.amount, orders.status AS s FROM shop.orders');
    assert.deepEqual(showColumns(unaliased), {
      amount: ['shop.orders.amount DIRECT/IDENTITY'],
      s: ['shop.orders.status DIRECT/IDENTITY'],
    });
    assert.deepEqual((await lineage('SELECT orders.amount FROM shop.orders AS o')).errors, [
      "unknown column 'orders.amount' at position 7",
    ]);
  });

  it('expands *, t.* and star modifiers with the catalog', async () => {
    const star = await lineage('SELECT * FROM shop.orders JOIN customers USING (customer_id)');
    assert.deepEqual(
      star.outputColumns,
      await duckdbNames('SELECT * FROM shop.orders JOIN customers USING (customer_id)'),
    );
    assert.deepEqual(star.columns.customer_id, [
      { dataset: 'shop.orders', column: 'customer_id', type: 'DIRECT', subtype: 'IDENTITY' },
    ]);
    assert.deepEqual(star.columns.country, [
      { dataset: 'customers', column: 'country', type: 'DIRECT', subtype: 'IDENTITY' },
    ]);

    const sql =
      'SELECT c.*, o.* EXCLUDE (status, ordered_at) REPLACE (amount * 100 AS amount) FROM shop.orders o, customers c';
    const qualified = await lineage(sql);
    assert.deepEqual(qualified.outputColumns, await duckdbNames(sql));
    assert.deepEqual(showColumns(qualified), {
      customer_id: ['customers.customer_id DIRECT/IDENTITY'],
      name: ['customers.name DIRECT/IDENTITY'],
      country: ['customers.country DIRECT/IDENTITY'],
      order_id: ['shop.orders.order_id DIRECT/IDENTITY'],
      customer_id_1: ['shop.orders.customer_id DIRECT/IDENTITY'],
      amount: ['shop.orders.amount DIRECT/TRANSFORMATION'],
    });
  });

  it('follows lineage through a CTE to the base tables, carrying its filters and grouping', async () => {
    const result = await lineage(`
      WITH paid AS (
        SELECT customer_id, sum(amount) AS total FROM shop.orders WHERE status = 'paid' GROUP BY customer_id
      ), big AS (SELECT * FROM paid WHERE total > 100)
      SELECT name, total / 100 AS hundreds FROM big JOIN customers USING (customer_id)`);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.inputs, ['customers', 'shop.orders']);
    assert.deepEqual(showColumns(result), {
      name: ['customers.name DIRECT/IDENTITY'],
      hundreds: ['shop.orders.amount DIRECT/AGGREGATION'],
    });
    assert.deepEqual(show(result.indirect), [
      'customers.customer_id INDIRECT/JOIN',
      'shop.orders.amount INDIRECT/FILTER',
      'shop.orders.customer_id INDIRECT/GROUP_BY',
      'shop.orders.customer_id INDIRECT/JOIN',
      'shop.orders.status INDIRECT/FILTER',
    ]);
  });

  it('follows lineage through a derived table with column aliases, and ORDER BY ordinals', async () => {
    const result = await lineage(`
      SELECT x.cid, x.n, x.biggest
      FROM (SELECT customer_id, count(DISTINCT order_id), max(amount) FROM shop.orders GROUP BY ALL) AS x(cid, n, biggest)
      ORDER BY 3 DESC`);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(showColumns(result), {
      cid: ['shop.orders.customer_id DIRECT/IDENTITY'],
      n: ['shop.orders.order_id DIRECT/AGGREGATION'],
      biggest: ['shop.orders.amount DIRECT/AGGREGATION'],
    });
    assert.deepEqual(show(result.indirect), [
      'shop.orders.amount INDIRECT/SORT',
      'shop.orders.customer_id INDIRECT/GROUP_BY',
    ]);
  });

  it('gives output column i of UNION ALL the edges of column i of every side', async () => {
    const result = await lineage(`
      SELECT order_id, amount AS signed FROM shop.orders
      UNION ALL
      SELECT order_id, -amount FROM refunds`);
    assert.deepEqual(showColumns(result), {
      order_id: ['refunds.order_id DIRECT/IDENTITY', 'shop.orders.order_id DIRECT/IDENTITY'],
      signed: ['refunds.amount DIRECT/TRANSFORMATION', 'shop.orders.amount DIRECT/IDENTITY'],
    });
    assert.deepEqual(result.indirect, []);

    // Without ALL the rows are deduplicated: a GROUP BY over every output column.
    const distinct = await lineage('SELECT order_id FROM shop.orders UNION SELECT order_id FROM refunds');
    assert.deepEqual(show(distinct.indirect), [
      'refunds.order_id INDIRECT/GROUP_BY',
      'shop.orders.order_id INDIRECT/GROUP_BY',
    ]);
  });

  it('marks window PARTITION BY / ORDER BY as INDIRECT WINDOW on the window column', async () => {
    const result = await lineage(`
      SELECT order_id,
             row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at DESC) AS rn,
             sum(amount) OVER (PARTITION BY customer_id) AS customer_total,
             lag(amount) OVER (ORDER BY ordered_at) AS previous
      FROM shop.orders
      QUALIFY rn = 1`);
    assert.deepEqual(showColumns(result), {
      order_id: ['shop.orders.order_id DIRECT/IDENTITY'],
      rn: ['shop.orders.customer_id INDIRECT/WINDOW', 'shop.orders.ordered_at INDIRECT/WINDOW'],
      customer_total: ['shop.orders.amount DIRECT/AGGREGATION', 'shop.orders.customer_id INDIRECT/WINDOW'],
      previous: ['shop.orders.amount DIRECT/TRANSFORMATION', 'shop.orders.ordered_at INDIRECT/WINDOW'],
    });
    assert.deepEqual(show(result.indirect), [
      'shop.orders.customer_id INDIRECT/FILTER',
      'shop.orders.ordered_at INDIRECT/FILTER',
    ]);
  });

  it('splits CASE into TRANSFORMATION values and CONDITIONAL conditions', async () => {
    const result = await lineage(`
      SELECT CASE WHEN status = 'paid' THEN amount WHEN ordered_at IS NULL THEN 0 ELSE -order_id END AS value,
             CAST(customer_id AS VARCHAR) AS customer_key
      FROM shop.orders`);
    assert.deepEqual(showColumns(result), {
      value: [
        'shop.orders.amount DIRECT/TRANSFORMATION',
        'shop.orders.order_id DIRECT/TRANSFORMATION',
        'shop.orders.ordered_at INDIRECT/CONDITIONAL',
        'shop.orders.status INDIRECT/CONDITIONAL',
      ],
      customer_key: ['shop.orders.customer_id DIRECT/TRANSFORMATION'],
    });
  });

  it('gives count(*) no input column, and aggregates any aggregate function', async () => {
    const result = await lineage(`
      SELECT count(*) AS n, count(DISTINCT customer_id) AS customers, avg(amount) + 1 AS avg_plus,
             string_agg(status, ',' ORDER BY ordered_at) AS statuses,
             sum(amount) FILTER (WHERE status = 'paid') AS paid
      FROM shop.orders
      HAVING count(*) > 1`);
    assert.deepEqual(showColumns(result), {
      n: [],
      customers: ['shop.orders.customer_id DIRECT/AGGREGATION'],
      avg_plus: ['shop.orders.amount DIRECT/AGGREGATION'],
      statuses: ['shop.orders.ordered_at INDIRECT/SORT', 'shop.orders.status DIRECT/AGGREGATION'],
      paid: ['shop.orders.amount DIRECT/AGGREGATION', 'shop.orders.status INDIRECT/FILTER'],
    });
    assert.deepEqual(result.indirect, []);
  });

  it('handles DISTINCT, GROUP BY ALL, HAVING, ORDER BY an alias, and select-list alias reuse', async () => {
    const result = await lineage(`
      SELECT DISTINCT status, sum(amount) AS total, total * 2 AS twice
      FROM shop.orders GROUP BY ALL HAVING total > 0 ORDER BY total`);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(showColumns(result), {
      status: ['shop.orders.status DIRECT/IDENTITY'],
      total: ['shop.orders.amount DIRECT/AGGREGATION'],
      twice: ['shop.orders.amount DIRECT/AGGREGATION'],
    });
    assert.deepEqual(show(result.indirect), [
      'shop.orders.amount INDIRECT/FILTER',
      'shop.orders.amount INDIRECT/GROUP_BY',
      'shop.orders.amount INDIRECT/SORT',
      'shop.orders.status INDIRECT/GROUP_BY',
    ]);
  });

  it('traces scalar, EXISTS and correlated subqueries', async () => {
    const result = await lineage(`
      SELECT name, (SELECT max(amount) FROM shop.orders o WHERE o.customer_id = c.customer_id) AS biggest
      FROM customers c
      WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = c.customer_id)`);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(showColumns(result), {
      name: ['customers.name DIRECT/IDENTITY'],
      biggest: [
        'customers.customer_id INDIRECT/FILTER',
        'shop.orders.amount DIRECT/AGGREGATION',
        'shop.orders.customer_id INDIRECT/FILTER',
      ],
    });
    assert.deepEqual(show(result.indirect), [
      'customers.customer_id INDIRECT/FILTER',
      'refunds.order_id INDIRECT/FILTER',
    ]);
  });

  it('reaches a fixpoint through a recursive CTE', async () => {
    const result = await lineage(`
      WITH RECURSIVE chain(id, total) AS (
        SELECT order_id, amount FROM shop.orders WHERE status = 'root'
        UNION ALL
        SELECT o.order_id, c.total + o.amount FROM shop.orders o JOIN chain c ON o.customer_id = c.id
      )
      SELECT * FROM chain`);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(showColumns(result), {
      id: ['shop.orders.order_id DIRECT/IDENTITY'],
      total: ['shop.orders.amount DIRECT/IDENTITY', 'shop.orders.amount DIRECT/TRANSFORMATION'],
    });
    assert.deepEqual(show(result.indirect), [
      'shop.orders.customer_id INDIRECT/JOIN',
      'shop.orders.order_id INDIRECT/JOIN',
      'shop.orders.status INDIRECT/FILTER',
    ]);
  });

  it('reports unknown columns and tables with their position, and ambiguous columns', async () => {
    assert.deepEqual((await lineage('SELECT amont FROM shop.orders')).errors, ["unknown column 'amont' at position 7"]);
    assert.deepEqual((await lineage('SELECT o.amount FROM shop.orders AS x')).errors, [
      "unknown column 'o.amount' at position 7",
    ]);
    assert.deepEqual((await lineage('SELECT id FROM shop.nope')).errors, ["unknown table 'shop.nope' at position 15"]);
    assert.deepEqual((await lineage('SELECT customer_id FROM shop.orders, customers')).errors, [
      "ambiguous column 'customer_id' at position 7: it is in shop.orders, customers",
    ]);
  });

  it('asks for an alias when it cannot be sure of the name DuckDB would give', async () => {
    // The parse tree drops the (10, 2) and the (3) that DuckDB's names keep.
    const result = await lineage('SELECT amount::DECIMAL(10, 2), status::VARCHAR(3), customer_id FROM shop.orders');
    assert.deepEqual(result.errors, [
      'give the expression an alias (AS name) at position 13',
      'give the expression an alias (AS name) at position 37',
    ]);
    assert.deepEqual(result.outputColumns, ['#1', '#2', 'customer_id']);
  });

  it('names unaliased expressions as DuckDB does', async () => {
    const sql = `SELECT order_id, shop.orders.status, amount + 1, amount * customer_id + 1, -amount, lower(status),
      status || 'x', 'it''s', 42, 1.50, NULL, coalesce(amount, 0), amount IS NULL, customer_id IN (1, 2),
      amount BETWEEN 1 AND 2, status LIKE 'p%', customer_id > 1 AND amount < 2 AND NOT (status = 'x'),
      CAST(order_id AS DOUBLE), TRY_CAST(status AS INTEGER), NULL::DATE, true, amount IS NOT FALSE, current_date, customer_id::BIGINT, ordered_at::DATE,
      CASE WHEN amount > 1 THEN status ELSE 'small' END, CASE customer_id WHEN 1 THEN 'one' END,
      row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at DESC NULLS LAST), first(amount) OVER (),
      lag(amount, 1, 0) OVER (ORDER BY ordered_at), first_value(amount IGNORE NULLS) OVER (ORDER BY order_id),
      year(ordered_at), date_trunc('month', ordered_at), round(amount / 3, 2), amount IS NOT DISTINCT FROM 1,
      left(status, 1), main.upper(status), order_id, order_id
      FROM shop.orders`;
    const result = await lineage(sql);
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.outputColumns, await duckdbNames(sql));

    const aggregates = `SELECT count(*), count(DISTINCT customer_id), sum(amount) FILTER (WHERE status = 'paid'),
      string_agg(status, ',' ORDER BY order_id DESC), avg(amount)::INTEGER, first(status), max(amount + 1)
      FROM shop.orders`;
    const aggregated = await lineage(aggregates);
    assert.deepEqual(aggregated.errors, []);
    assert.deepEqual(aggregated.outputColumns, await duckdbNames(aggregates));
  });

  it('quotes every DuckDB keyword in a derived name as DuckDB does', async () => {
    const reader = await connection.runAndReadAll('SELECT keyword_name FROM duckdb_keywords()');
    const keywords = reader.getRows().map((row) => String(row[0]));
    const columns = [...keywords, 'Mixed', 'with space', 'quo"te'];
    await connection.run(
      `CREATE OR REPLACE TABLE keywords (${columns.map((k) => `"${k.replaceAll('"', '""')}" INTEGER`).join(', ')})`,
    );
    const sql = `SELECT ${columns.map((k) => `"${k.replaceAll('"', '""')}" + 1`).join(', ')} FROM keywords`;
    const result = sqlLineage(await parseSql(connection, sql), {
      columns: (t) => (t === 'keywords' ? columns : undefined),
    });
    assert.deepEqual(result.errors, []);
    assert.deepEqual(result.outputColumns, await duckdbNames(sql));
  });

  it('knows every aggregate function of the installed DuckDB', async () => {
    const reader = await connection.runAndReadAll(
      "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'aggregate'",
    );
    const missing = reader
      .getRows()
      .map((row) => String(row[0]))
      .filter((name) => !isAggregate(name));
    assert.deepEqual(missing, []);
    assert.equal(isAggregate('upper'), false);
  });
});

describe('parseSql', () => {
  it('binds the SQL as a parameter, so quotes in it are harmless', async () => {
    const result = await lineage("SELECT 'x''); DROP TABLE customers; --' AS s FROM customers");
    assert.deepEqual(result.outputColumns, ['s']);
    await connection.run('SELECT * FROM customers');
  });

  it('refuses anything but one SELECT statement', async () => {
    const oneSelect = /a SQL model must be one SELECT statement/;
    await assert.rejects(parseSql(connection, 'INSERT INTO customers VALUES (1, 2, 3)'), oneSelect);
    await assert.rejects(parseSql(connection, 'DROP TABLE customers'), oneSelect);
    await assert.rejects(parseSql(connection, 'SELECT 1; SELECT 2'), /one SELECT statement .*found 2 statements/);
    await assert.rejects(parseSql(connection, ''), oneSelect);
  });

  it("reports DuckDB's parser message on one line", async () => {
    await assert.rejects(parseSql(connection, 'SELECT FROM WHERE'), {
      message: 'SQL does not parse: syntax error at or near "WHERE" (at position 12)',
    });
  });
});
