import { DuckDBInstance, DuckDBTypeId } from '@duckdb/node-api';
import type { Value } from 'napkin';
import type { QueryName } from './queries.ts';

/**
 * The reference definition of each query's result (spec nexmark.md §5), verbatim from the spec, so that napkin's
 * flows are checked against the spec's own SQL rather than against a second hand-written implementation.
 */

/** §5.1: loads an export named `events.jsonl` into the table `events` and the views person, auction and bid. */
export const LOAD_SQL = `CREATE TABLE events AS
SELECT * FROM read_json('events.jsonl', format = 'newline_delimited', columns = {
    type: 'VARCHAR',
    id: 'BIGINT', name: 'VARCHAR', emailAddress: 'VARCHAR', creditCard: 'VARCHAR',
    city: 'VARCHAR', state: 'VARCHAR',
    itemName: 'VARCHAR', description: 'VARCHAR', initialBid: 'BIGINT', reserve: 'BIGINT',
    expires: 'BIGINT', seller: 'BIGINT', category: 'BIGINT',
    auction: 'BIGINT', bidder: 'BIGINT', price: 'BIGINT', channel: 'VARCHAR', url: 'VARCHAR',
    dateTime: 'BIGINT', extra: 'VARCHAR'});
CREATE VIEW person AS SELECT id, name, emailAddress, creditCard, city, state, dateTime, extra
    FROM events WHERE type = 'person';
CREATE VIEW auction AS SELECT id, itemName, description, initialBid, reserve, dateTime, expires,
    seller, category, extra FROM events WHERE type = 'auction';
CREATE VIEW bid AS SELECT auction, bidder, price, channel, url, dateTime, extra
    FROM events WHERE type = 'bid';
`;

/** §5.2: the reference SQL of each query, in DuckDB's dialect; its columns are the ones napkin writes. */
export const REFERENCE_SQL: Readonly<Record<QueryName, string>> = {
  q0: `SELECT auction, bidder, price, dateTime, extra FROM bid;
`,
  q1: `SELECT auction, bidder, 0.908 * CAST(price AS DOUBLE) AS price, dateTime, extra FROM bid;
`,
  q2: `SELECT auction, price FROM bid WHERE auction % 123 = 0;
`,
  q3: `SELECT p.name, p.city, p.state, a.id
FROM auction AS a JOIN person AS p ON a.seller = p.id
WHERE a.category = 10 AND p.state IN ('OR', 'ID', 'CA');
`,
  q4: `WITH final_price AS (
    SELECT a.id, a.category, max(b.price) AS final
    FROM auction AS a JOIN bid AS b
      ON b.auction = a.id AND b.dateTime BETWEEN a.dateTime AND a.expires
    GROUP BY a.id, a.category)
SELECT category, avg(final) AS avgFinalPrice
FROM final_price
GROUP BY category;
`,
  q5: `WITH assigned AS (          -- each bid joins the 5 windows whose start s satisfies s <= dateTime < s + 10000
    SELECT b.auction, b.dateTime - b.dateTime % 2000 - 2000 * k.i AS starttime
    FROM bid AS b CROSS JOIN range(5) AS k(i)),
counts AS (
    SELECT auction, starttime, starttime + 10000 AS endtime, count(*) AS num
    FROM assigned
    GROUP BY auction, starttime)
SELECT auction, num, starttime, endtime
FROM counts
QUALIFY num = max(num) OVER (PARTITION BY starttime);
`,
  q7: `SELECT auction, price, bidder, dateTime, extra
FROM bid
QUALIFY price = max(price) OVER (PARTITION BY dateTime - dateTime % 10000);
`,
  q8: `WITH p AS (
    SELECT DISTINCT id, name, dateTime - dateTime % 10000 AS starttime FROM person),
a AS (
    SELECT DISTINCT seller, dateTime - dateTime % 10000 AS starttime FROM auction)
SELECT p.id, p.name, p.starttime
FROM p JOIN a ON a.seller = p.id AND a.starttime = p.starttime;
`,
  q11: `WITH flagged AS (           -- 1 where a bid opens a new session for its bidder
    SELECT bidder, dateTime,
           CASE WHEN dateTime - lag(dateTime) OVER (PARTITION BY bidder ORDER BY dateTime) < 10000
                THEN 0 ELSE 1 END AS opens
    FROM bid),
numbered AS (               -- default RANGE frame: bids with equal dateTime share a session number
    SELECT bidder, dateTime, sum(opens) OVER (PARTITION BY bidder ORDER BY dateTime) AS session
    FROM flagged)
SELECT bidder, count(*) AS bid_count, min(dateTime) AS starttime, max(dateTime) + 10000 AS endtime
FROM numbered
GROUP BY bidder, session;
`,
};

/** A query's reference result: its columns, the ones DuckDB computes as doubles, and the rows in JavaScript values. */
export interface ReferenceResult {
  readonly columns: readonly string[];
  readonly doubles: readonly string[];
  readonly rows: readonly Readonly<Record<string, Value>>[];
}

/** An export loaded into an in-memory DuckDB by the spec's own loading SQL. */
export interface ReferenceDb {
  result(query: QueryName): Promise<ReferenceResult>;
  close(): void;
}

/** Loads the JSONL export at `path` (§4) with {@link LOAD_SQL}; close the result when done. */
export async function loadReference(path: string): Promise<ReferenceDb> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    // The spec names the file `events.jsonl`; only the path literal changes.
    await connection.run(LOAD_SQL.replace("'events.jsonl'", `'${path.replaceAll("'", "''")}'`));
  } catch (e) {
    connection.closeSync();
    throw new Error(`reference: loading ${path} into DuckDB failed: ${(e as Error).message}; is it a §4 JSONL export?`);
  }
  return {
    async result(query) {
      const reader = await connection.runAndReadAll(REFERENCE_SQL[query]);
      const columns = reader.columnNames();
      const types = reader.columnTypes();
      const doubles = columns.filter((_, i) => types[i].typeId === DuckDBTypeId.DOUBLE);
      const rows = reader.getRowObjectsJS().map((r) => {
        const row: Record<string, Value> = {};
        for (const c of columns) row[c] = toValue(r[c], query, c);
        return row;
      });
      return { columns, doubles, rows };
    },
    close() {
      connection.closeSync();
    },
  };
}

/** DuckDB's BIGINTs come back as bigint; napkin holds them as safe-integer numbers (§2). */
function toValue(v: unknown, query: QueryName, column: string): Value {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`reference ${query}: ${column} = ${v} is not a safe integer`);
    return n;
  }
  throw new Error(`reference ${query}: ${column} has an unexpected ${typeof v} value; extend toValue`);
}
