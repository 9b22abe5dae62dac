// The column names DuckDB gives unaliased SELECT expressions, so lineage names output columns as tables do.
import { child, lower, type Node, nodes, text, texts } from './ast.ts';

/**
 * DuckDB names an unaliased expression after its parsed form's ToString(). This renders the common
 * shapes the same way and answers undefined for anything it is not sure of, so the model gets an alias.
 */
export function expressionName(expr: Node): string | undefined {
  if (text(expr, 'alias')) return undefined;
  switch (text(expr, 'class')) {
    case 'COLUMN_REF':
      return texts(expr, 'column_names').map(quoteIdentifier).join('.');
    case 'CONSTANT':
      return constantName(child(expr, 'value'));
    case 'FUNCTION':
      return expr.is_operator === true ? operatorFunctionName(expr) : functionName(expr);
    case 'COMPARISON':
      return comparisonName(expr);
    case 'CONJUNCTION':
      return conjunctionName(expr);
    case 'OPERATOR':
      return operatorName(expr);
    case 'CAST':
      return castName(expr);
    case 'CASE':
      return caseName(expr);
    case 'BETWEEN':
      return betweenName(expr);
    case 'WINDOW':
      return windowName(expr);
    default:
      return undefined;
  }
}

function names(exprs: readonly (Node | undefined)[]): string[] | undefined {
  const rendered = exprs.map((expr) => (expr ? expressionName(expr) : undefined));
  return rendered.every((name): name is string => name !== undefined) ? rendered : undefined;
}

function childName(expr: Node, key: string): string | undefined {
  const sub = child(expr, key);
  return sub ? expressionName(sub) : undefined;
}

export const INTEGER_TYPES = new Set([
  'TINYINT',
  'SMALLINT',
  'INTEGER',
  'BIGINT',
  'UTINYINT',
  'USMALLINT',
  'UINTEGER',
  'UBIGINT',
]);

function constantName(value: Node | undefined): string | undefined {
  if (!value) return undefined;
  if (value.is_null === true) return 'NULL';
  const type = child(value, 'type') ?? {};
  const raw = value.value;
  const id = text(type, 'id');
  if (id === 'VARCHAR' && typeof raw === 'string') return `'${raw.replaceAll("'", "''")}'`;
  if (id === 'BOOLEAN' && typeof raw === 'boolean') return String(raw);
  if (typeof raw !== 'number' || !Number.isSafeInteger(raw)) return undefined;
  if (INTEGER_TYPES.has(id)) return String(raw);
  const scale = child(type, 'type_info')?.scale;
  return id === 'DECIMAL' && typeof scale === 'number' ? decimalText(raw, scale) : undefined;
}

/** DuckDB keeps a decimal literal as an integer and a scale: 250 with scale 2 is 2.50. */
function decimalText(unscaled: number, scale: number): string {
  if (scale === 0) return String(unscaled);
  const digits = String(Math.abs(unscaled)).padStart(scale + 1, '0');
  const sign = unscaled < 0 ? '-' : '';
  return `${sign}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

function functionName(expr: Node): string | undefined {
  const args = names(nodes(expr, 'children'));
  const orders = orderNames(nodes(child(expr, 'order_bys') ?? {}, 'orders'));
  const filter = child(expr, 'filter');
  const filterName = filter ? expressionName(filter) : '';
  if (!args || orders === undefined || filterName === undefined) return undefined;
  if (text(expr, 'catalog') || expr.export_state === true) return undefined;
  const schema = text(expr, 'schema');
  const qualified = `${schema ? `${quoteIdentifier(schema)}.` : ''}${quoteIdentifier(text(expr, 'function_name'))}`;
  const distinct = expr.distinct === true ? 'DISTINCT ' : '';
  const ordered = orders ? ` ORDER BY ${orders}` : '';
  const filtered = filter ? ` FILTER (WHERE ${filterName})` : '';
  return `${qualified}(${distinct}${args.join(', ')}${ordered})${filtered}`;
}

function operatorFunctionName(expr: Node): string | undefined {
  const name = text(expr, 'function_name');
  const args = names(nodes(expr, 'children'));
  if (!args || !/^[^\w\s]+$/.test(name)) return undefined;
  if (args.length === 1) return `${name}(${args[0]})`;
  return args.length === 2 ? `(${args[0]} ${name} ${args[1]})` : undefined;
}

const COMPARISONS: Record<string, string> = {
  COMPARE_EQUAL: '=',
  COMPARE_NOTEQUAL: '!=',
  COMPARE_LESSTHAN: '<',
  COMPARE_GREATERTHAN: '>',
  COMPARE_LESSTHANOREQUALTO: '<=',
  COMPARE_GREATERTHANOREQUALTO: '>=',
  COMPARE_DISTINCT_FROM: 'IS DISTINCT FROM',
  COMPARE_NOT_DISTINCT_FROM: 'IS NOT DISTINCT FROM',
};

function comparisonName(expr: Node): string | undefined {
  const operator = COMPARISONS[text(expr, 'type')];
  const left = childName(expr, 'left');
  const right = childName(expr, 'right');
  return operator && left !== undefined && right !== undefined ? `(${left} ${operator} ${right})` : undefined;
}

function conjunctionName(expr: Node): string | undefined {
  const operator = { CONJUNCTION_AND: 'AND', CONJUNCTION_OR: 'OR' }[text(expr, 'type')];
  const parts = names(nodes(expr, 'children'));
  return operator && parts ? `(${parts.join(` ${operator} `)})` : undefined;
}

function operatorName(expr: Node): string | undefined {
  const parts = names(nodes(expr, 'children'));
  if (!parts || parts.length === 0) return undefined;
  const [first, ...rest] = parts;
  switch (text(expr, 'type')) {
    case 'OPERATOR_NOT':
      return `(NOT ${first})`;
    case 'OPERATOR_IS_NULL':
      return `(${first} IS NULL)`;
    case 'OPERATOR_IS_NOT_NULL':
      return `(${first} IS NOT NULL)`;
    case 'COMPARE_IN':
      return `(${first} IN (${rest.join(', ')}))`;
    case 'COMPARE_NOT_IN':
      return `(${first} NOT IN (${rest.join(', ')}))`;
    case 'OPERATOR_COALESCE':
      return `COALESCE(${parts.join(', ')})`;
    default:
      return undefined;
  }
}

// DuckDB writes the SQL-standard type keywords bare and quotes every other type name. VARCHAR and
// DECIMAL are missing on purpose: the JSON drops the modifiers of VARCHAR(10) or DECIMAL(10, 2), which the name keeps.
const CAST_TYPES: Record<string, string> = {
  BOOLEAN: 'BOOLEAN',
  SMALLINT: 'SMALLINT',
  INTEGER: 'INTEGER',
  BIGINT: 'BIGINT',
  FLOAT: 'FLOAT',
  TIME: 'TIME',
  TIMESTAMP: 'TIMESTAMP',
  INTERVAL: 'INTERVAL',
  TINYINT: '"TINYINT"',
  UTINYINT: '"UTINYINT"',
  USMALLINT: '"USMALLINT"',
  UINTEGER: '"UINTEGER"',
  UBIGINT: '"UBIGINT"',
  HUGEINT: '"HUGEINT"',
  UHUGEINT: '"UHUGEINT"',
  DOUBLE: '"DOUBLE"',
  DATE: '"DATE"',
  BLOB: '"BLOB"',
  UUID: '"UUID"',
  'TIMESTAMP WITH TIME ZONE': '"TIMESTAMP WITH TIME ZONE"',
};

function castName(expr: Node): string | undefined {
  const target = child(expr, 'cast_type') ?? {};
  const type = target.type_info ? undefined : CAST_TYPES[text(target, 'id')];
  const source = child(expr, 'child');
  if (!type || !source) return undefined;
  const value = expressionName(source);
  return value === undefined ? undefined : `${expr.try_cast === true ? 'TRY_CAST' : 'CAST'}(${value} AS ${type})`;
}

function caseName(expr: Node): string | undefined {
  const checks = nodes(expr, 'case_checks').map((check) => {
    const pair = names([child(check, 'when_expr'), child(check, 'then_expr')]);
    return pair ? ` WHEN (${pair[0]}) THEN (${pair[1]})` : undefined;
  });
  const otherwise = childName(expr, 'else_expr');
  if (checks.length === 0 || otherwise === undefined || checks.some((check) => check === undefined)) return undefined;
  return `CASE ${checks.join('')} ELSE ${otherwise} END`;
}

function betweenName(expr: Node): string | undefined {
  const parts = names([child(expr, 'input'), child(expr, 'lower'), child(expr, 'upper')]);
  return parts ? `(${parts[0]} BETWEEN ${parts[1]} AND ${parts[2]})` : undefined;
}

function windowName(expr: Node): string | undefined {
  const defaultFrame =
    text(expr, 'start') === 'UNBOUNDED_PRECEDING' &&
    text(expr, 'end') === 'CURRENT_ROW_RANGE' &&
    text(expr, 'exclude_clause') === 'NO_OTHER';
  const plain = !expr.distinct && !child(expr, 'filter_expr') && nodes(expr, 'arg_orders').length === 0;
  const extras = [child(expr, 'offset_expr'), child(expr, 'default_expr')].filter((extra): extra is Node => !!extra);
  const args = names([...nodes(expr, 'children'), ...extras]);
  const partitions = names(nodes(expr, 'partitions'));
  const orders = orderNames(nodes(expr, 'orders'));
  if (!defaultFrame || !plain || !args || !partitions || orders === undefined) return undefined;
  const over = [
    partitions.length > 0 ? `PARTITION BY ${partitions.join(', ')}` : '',
    orders ? `ORDER BY ${orders}` : '',
  ];
  const ignoreNulls = expr.ignore_nulls === true ? ' IGNORE NULLS' : '';
  // Unlike other function names, DuckDB writes a window function's name unquoted.
  const call = `${text(expr, 'function_name')}(${args.join(', ')}${ignoreNulls})`;
  return `${call} OVER (${over.filter(Boolean).join(' ')})`;
}

const ORDER_DIRECTIONS: Record<string, string> = { ORDER_DEFAULT: '', ASCENDING: ' ASC', DESCENDING: ' DESC' };
const NULL_ORDERS: Record<string, string> = {
  ORDER_DEFAULT: '',
  'NULLS FIRST': ' NULLS FIRST',
  'NULLS LAST': ' NULLS LAST',
};

/** "a, b DESC NULLS LAST", '' for no terms, undefined when a term cannot be rendered. */
function orderNames(orders: readonly Node[]): string | undefined {
  const terms = orders.map((order) => {
    const expr = childName(order, 'expression');
    const direction = ORDER_DIRECTIONS[text(order, 'type')];
    const nulls = NULL_ORDERS[text(order, 'null_order')];
    return expr === undefined || direction === undefined || nulls === undefined ? undefined : expr + direction + nulls;
  });
  return terms.every((term): term is string => term !== undefined) ? terms.join(', ') : undefined;
}

/** DuckDB quotes an identifier that is a keyword or is not plain ASCII letters, digits and underscores. */
function quoteIdentifier(name: string): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !KEYWORDS.has(lower(name));
  return plain ? name : `"${name.replaceAll('"', '""')}"`;
}

// DuckDB 1.5's keywords (duckdb_keywords()); a test keeps this list in step with the installed DuckDB.
const KEYWORDS = new Set(
  `abort absolute access action add admin after aggregate all also alter always analyse analyze and anti any array as
  asc asof assertion assignment asymmetric at attach attribute authorization backward before begin between bigint
  binary bit boolean both by cache call called cascade cascaded case cast catalog centuries century chain char
  character characteristics check checkpoint class close cluster coalesce collate collation column columns comment
  comments commit committed compression concurrently configuration conflict connection constraint constraints content
  continue conversion copy cost create cross csv cube current cursor cycle data database day days deallocate dec
  decade decades decimal declare default defaults deferrable deferred definer delete delimiter delimiters depends desc
  describe detach dictionary disable discard distinct do document domain double drop each else enable encoding
  encrypted end enum error escape event except exclude excluding exclusive execute exists explain export export_state
  extension extensions external extract false family fetch filter first float following for force foreign forward
  freeze from full function functions generated glob global grant granted group grouping grouping_id groups handler
  having header hold hour hours identity if ignore ilike immediate immutable implicit import in include including
  increment index indexes inherit inherits initially inline inner inout input insensitive insert install instead int
  integer intersect interval into invoker is isnull isolation join json key label lambda language large last lateral
  leading leakproof left level like limit listen load local location lock locked logged macro map mapping match
  matched materialized maxvalue merge method microsecond microseconds millennia millennium millisecond milliseconds
  minute minutes minvalue mode month months move name names national natural nchar new next no none not nothing notify
  notnull nowait null nullif nulls numeric object of off offset oids old on only operator option options or order
  ordinality others out outer over overlaps overlay overriding owned owner parallel parser partial partition
  partitioned passing password percent persistent pivot pivot_longer pivot_wider placing plans policy position
  positional pragma preceding precision prepare prepared preserve primary prior privileges procedural procedure program
  publication qualify quarter quarters quote range read real reassign recheck recursive ref references referencing
  refresh reindex relative release rename repeatable replace replica reset respect restart restrict returning returns
  revoke right role rollback rollup row rows rule sample savepoint schema schemas scope scroll search second seconds
  secret security select semi sequence sequences serializable server session set setof sets share show similar simple
  skip smallint snapshot some sorted source sql stable standalone start statement statistics stdin stdout storage
  stored strict strip struct subscription substring summarize symmetric sysid system table tables tablesample
  tablespace target temp template temporary text then ties time timestamp to trailing transaction transform treat
  trigger trim true truncate trusted try_cast type types unbounded uncommitted unencrypted union unique unknown
  unlisten unlogged unpack unpivot until update use user using vacuum valid validate validator value values varchar
  variable variadic varying verbose version view views virtual volatile week weeks when where whitespace window with
  within without work wrapper write xml xmlattributes xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse
  xmlpi xmlroot xmlserialize xmltable year years yes zone`.split(/\s+/),
);

/** DuckDB's renaming of duplicate output names when it materialises a table: a, a_1, a_2. */
export function deduplicateNames(names: readonly string[]): string[] {
  const counts = new Map<string, number>();
  return names.map((name) => {
    const key = lower(name);
    const seen = counts.get(key);
    if (seen === undefined) {
      counts.set(key, 1);
      return name;
    }
    let n = seen;
    while (counts.has(lower(`${name}_${n}`))) n++;
    counts.set(key, n + 1);
    counts.set(lower(`${name}_${n}`), 1);
    return `${name}_${n}`;
  });
}
