// Column-level lineage of a warehouse SQL model, computed from DuckDB's own parse tree
// (json_serialize_sql) in OpenLineage's column-lineage vocabulary. Pure: no I/O.

// ---------------------------------------------------------------- public API

export type DirectSubtype = 'IDENTITY' | 'TRANSFORMATION' | 'AGGREGATION';
export type IndirectSubtype = 'JOIN' | 'GROUP_BY' | 'FILTER' | 'SORT' | 'WINDOW' | 'CONDITIONAL';
export type Transformation =
  | { readonly type: 'DIRECT'; readonly subtype: DirectSubtype }
  | { readonly type: 'INDIRECT'; readonly subtype: IndirectSubtype };
export type ColumnEdge = Transformation & { readonly dataset: string; readonly column: string };

export interface SqlCatalog {
  /** Columns of a dataset named as the SQL writes it, schema-qualified as 'schema.table'; undefined when unknown. */
  columns(table: string): readonly string[] | undefined;
}

export interface SqlLineage {
  /** Datasets the query reads, sorted. */
  inputs: string[];
  /** Output column names as DuckDB materialises them (duplicates get DuckDB's _1, _2 suffixes). */
  outputColumns: string[];
  /** Per output column: DIRECT edges, plus INDIRECT ones that only affect that column (CASE, window, aggregate FILTER). */
  columns: Record<string, ColumnEdge[]>;
  /** Dataset-level INDIRECT edges: they decide which rows exist or their order (join, filter, group by, sort). */
  indirect: ColumnEdge[];
  errors: string[];
}

/** Lineage of the single SELECT in `ast` (the JSON of DuckDB's json_serialize_sql). */
export function sqlLineage(ast: unknown, catalog: SqlCatalog): SqlLineage {
  const ctx: Ctx = { catalog, errors: [], inputs: new Set() };
  const node = statementNode(ctx, ast);
  const relation = node ? evalQuery(ctx, node, undefined, undefined) : EMPTY_RELATION;
  const names = deduplicateNames(relation.columns.map((column) => column.name));
  return {
    inputs: [...ctx.inputs].sort(),
    outputColumns: names,
    columns: Object.fromEntries(relation.columns.map((column, i) => [names[i], finishEdges(column.edges)])),
    indirect: finishEdges(relation.indirect),
    errors: [...new Set(ctx.errors)],
  };
}

function statementNode(ctx: Ctx, ast: unknown): Node | undefined {
  if (!isNode(ast)) return fail(ctx, 'the SQL AST is not a JSON object');
  const statements = nodes(ast, 'statements');
  // DuckDB only serialises SELECT; anything else comes back as a 'not implemented' error.
  if (ast.error === true && ast.error_type !== 'not implemented') {
    return fail(ctx, `SQL does not parse: ${text(ast, 'error_message')}`);
  }
  if (ast.error === true || statements.length !== 1) return fail(ctx, 'a SQL model must be one SELECT statement');
  return child(statements[0], 'node') ?? fail(ctx, 'the SQL AST has no query node');
}

// ---------------------------------------------------------------- AST access

type Node = { readonly [key: string]: unknown };

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(node: Node, key: string): Node | undefined {
  const value = node[key];
  return isNode(value) ? value : undefined;
}

function nodes(node: Node, key: string): Node[] {
  const value = node[key];
  return Array.isArray(value) ? value.filter(isNode) : [];
}

function text(node: Node, key: string): string {
  const value = node[key];
  return typeof value === 'string' ? value : '';
}

function texts(node: Node, key: string): string[] {
  const value = node[key];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function isExpression(value: unknown): value is Node {
  return isNode(value) && typeof value.class === 'string';
}

/** Every direct sub-expression, whatever key the node keeps it under. */
function subExpressions(node: Node): Node[] {
  return Object.values(node).flatMap((value) => {
    if (isExpression(value)) return [value];
    return Array.isArray(value) ? value.filter(isExpression) : [];
  });
}

/** " at position N", or nothing when DuckDB left the location unset (it uses 2^64-1 for that). */
function at(node: Node): string {
  const location = node.query_location;
  return typeof location === 'number' && Number.isSafeInteger(location) ? ` at position ${location}` : '';
}

function lower(name: string): string {
  return name.toLowerCase();
}

// ---------------------------------------------------------------- edges and transformations

const IDENTITY: Transformation = { type: 'DIRECT', subtype: 'IDENTITY' };
const TRANSFORMATION: Transformation = { type: 'DIRECT', subtype: 'TRANSFORMATION' };
const AGGREGATION: Transformation = { type: 'DIRECT', subtype: 'AGGREGATION' };
const DIRECT_RANK: Record<DirectSubtype, number> = { IDENTITY: 0, TRANSFORMATION: 1, AGGREGATION: 2 };

function indirect(subtype: IndirectSubtype): Transformation {
  return { type: 'INDIRECT', subtype };
}

/** Mode for the arguments of a scalar function or operator. */
function transformed(mode: Transformation): Transformation {
  return mode.type === 'DIRECT' && mode.subtype === 'IDENTITY' ? TRANSFORMATION : mode;
}

/** Mode for the arguments of an aggregate. */
function aggregated(mode: Transformation): Transformation {
  return mode.type === 'DIRECT' ? AGGREGATION : mode;
}

/** Mode for a part of an expression that steers it without flowing into it (a CASE condition, a window's partition). */
function steering(mode: Transformation, subtype: IndirectSubtype): Transformation {
  return mode.type === 'DIRECT' ? indirect(subtype) : mode;
}

/**
 * Applies the way an outer query uses a column to the edges that column already carries.
 * Whatever feeds an INDIRECT use is INDIRECT; a DIRECT use keeps the lossiest DIRECT subtype of the chain,
 * and leaves the column's own INDIRECT edges as they are.
 */
function compose(mode: Transformation, edge: ColumnEdge): ColumnEdge {
  const source = { dataset: edge.dataset, column: edge.column };
  if (mode.type === 'INDIRECT') return { ...source, ...mode };
  if (edge.type === 'INDIRECT') return edge;
  return DIRECT_RANK[edge.subtype] >= DIRECT_RANK[mode.subtype] ? edge : { ...source, ...mode };
}

function composeAll(mode: Transformation, edges: readonly ColumnEdge[]): ColumnEdge[] {
  return edges.map((edge) => compose(mode, edge));
}

function edgeKey(edge: ColumnEdge): string {
  return [edge.dataset, edge.column, edge.type, edge.subtype].join('\u0000');
}

function dedupeEdges(edges: readonly ColumnEdge[]): ColumnEdge[] {
  return [...new Map(edges.map((edge) => [edgeKey(edge), edge])).values()];
}

function finishEdges(edges: readonly ColumnEdge[]): ColumnEdge[] {
  return dedupeEdges(edges).sort((a, b) => (edgeKey(a) < edgeKey(b) ? -1 : edgeKey(a) > edgeKey(b) ? 1 : 0));
}

// ---------------------------------------------------------------- relations and scopes

interface Ctx {
  readonly catalog: SqlCatalog;
  readonly errors: string[];
  readonly inputs: Set<string>;
}

function fail(ctx: Ctx, message: string): undefined {
  ctx.errors.push(message);
  return undefined;
}

interface Column {
  readonly name: string;
  readonly edges: readonly ColumnEdge[];
}

interface Relation {
  readonly columns: readonly Column[];
  /** Dataset-level edges: whatever decided which rows this relation holds. */
  readonly indirect: readonly ColumnEdge[];
}

const EMPTY_RELATION: Relation = { columns: [], indirect: [] };

/** One FROM item as seen by column references. */
interface Binding {
  /** Lower-cased names a qualified reference may use: the alias, or the table name with and without schema. */
  readonly qualifiers: readonly string[];
  /** How errors name it. */
  readonly label: string;
  readonly columns: readonly Column[];
  /** Lower-cased USING columns that an unqualified reference or `*` takes from another binding. */
  readonly hidden: ReadonlySet<string>;
  /** USING columns of right and full joins, which unqualified references and `*` see merged with the other side. */
  readonly shared: ReadonlyMap<string, Column>;
  /** Unknown table or table function: already reported, so references into it stay silent. */
  readonly opaque: boolean;
}

interface CteEntry {
  readonly name: string;
  readonly node: Node;
  readonly aliases: readonly string[];
  readonly scope: CteScope;
  relation?: Relation;
  /** What a recursive CTE has produced so far, seen by its own recursive step. */
  partial?: Relation;
  busy: boolean;
}

interface CteScope {
  readonly entries: ReadonlyMap<string, CteEntry>;
  readonly parent: CteScope | undefined;
}

interface Scope {
  readonly bindings: readonly Binding[];
  readonly outer: Scope | undefined;
  readonly ctes: CteScope | undefined;
  /** Select-list aliases: DuckDB lets later select items, WHERE, GROUP BY and HAVING reuse them. */
  readonly aliases?: ReadonlyMap<string, Column>;
  readonly lambdaParameters?: ReadonlySet<string>;
}

function binding(qualifiers: readonly string[], columns: readonly Column[], opaque = false): Binding {
  const named = qualifiers.filter(Boolean);
  return {
    qualifiers: [...new Set(named.map(lower))],
    label: named[named.length - 1] ?? 'a subquery',
    columns,
    hidden: new Set(),
    shared: new Map(),
    opaque,
  };
}

function findColumn(columns: readonly Column[], name: string): Column | undefined {
  const wanted = lower(name);
  return columns.find((column) => lower(column.name) === wanted);
}

/** The columns an unqualified reference or `*` sees. */
function visibleColumns(b: Binding): Column[] {
  return b.columns
    .filter((column) => !b.hidden.has(lower(column.name)))
    .map((column) => b.shared.get(lower(column.name)) ?? column);
}

function renameColumns(ctx: Ctx, columns: readonly Column[], names: readonly string[], where: string): Column[] {
  if (names.length > columns.length) {
    fail(ctx, `${names.length} column names given for ${columns.length} columns${where}`);
  }
  return columns.map((column, i) => (i < names.length ? { name: names[i], edges: column.edges } : column));
}

// ---------------------------------------------------------------- column resolution

type Lookup =
  | { readonly kind: 'found'; readonly column: Column }
  | { readonly kind: 'ambiguous'; readonly tables: readonly string[] }
  | { readonly kind: 'opaque' }
  | { readonly kind: 'missing' };

const MISSING: Lookup = { kind: 'missing' };
const OPAQUE: Lookup = { kind: 'opaque' };

/** Resolves a column reference, reporting unknown and ambiguous names; undefined when it cannot be resolved. */
function resolveColumn(ctx: Ctx, scope: Scope, ref: Node): Column | undefined {
  const parts = texts(ref, 'column_names');
  const found = lookupColumn(scope, parts);
  if (found.kind === 'found') return found.column;
  if (found.kind === 'ambiguous') {
    return fail(ctx, `ambiguous column '${parts.join('.')}'${at(ref)}: it is in ${found.tables.join(', ')}`);
  }
  if (found.kind === 'opaque') return undefined;
  // DuckDB reads these names as functions when no column has them.
  if (parts.length === 1 && SQL_VALUE_FUNCTIONS.has(lower(parts[0]))) return { name: parts[0], edges: [] };
  return fail(ctx, `unknown column '${parts.join('.')}'${at(ref)}`);
}

const SQL_VALUE_FUNCTIONS = new Set([
  'current_date',
  'current_time',
  'current_timestamp',
  'localtime',
  'localtimestamp',
  'current_user',
  'user',
  'session_user',
  'current_role',
  'current_schema',
  'current_catalog',
]);

function lookupColumn(scope: Scope, parts: readonly string[]): Lookup {
  for (let current: Scope | undefined = scope; current; current = current.outer) {
    const found = parts.length === 1 ? lookupUnqualified(current, parts[0]) : lookupQualified(current, parts);
    if (found.kind !== 'missing') return found;
  }
  return MISSING;
}

function lookupUnqualified(scope: Scope, name: string): Lookup {
  if (scope.lambdaParameters?.has(lower(name))) return { kind: 'found', column: { name, edges: [] } };
  const found = lookupInBindings(scope.bindings, name);
  if (found.kind !== 'missing') return found;
  const alias = scope.aliases?.get(lower(name));
  return alias ? { kind: 'found', column: alias } : MISSING;
}

function lookupInBindings(bindings: readonly Binding[], name: string): Lookup {
  const hits = bindings.flatMap((b) => {
    const column = findColumn(visibleColumns(b), name);
    return column ? [{ b, column }] : [];
  });
  if (hits.length === 1) return { kind: 'found', column: hits[0].column };
  if (hits.length > 1) return { kind: 'ambiguous', tables: hits.map((hit) => hit.b.label) };
  return bindings.some((b) => b.opaque) ? OPAQUE : MISSING;
}

/** `t.c`, `s.t.c`, or DuckDB's struct field access `c.field` when no table answers to the prefix. */
function lookupQualified(scope: Scope, parts: readonly string[]): Lookup {
  for (let split = parts.length - 1; split >= 1; split--) {
    const qualifier = lower(parts.slice(0, split).join('.'));
    const b = scope.bindings.find((candidate) => candidate.qualifiers.includes(qualifier));
    if (!b) continue;
    if (b.opaque) return OPAQUE;
    const column = findColumn(b.columns, parts[split]);
    if (!column) return MISSING;
    return { kind: 'found', column: fieldAccess(column, parts.slice(split + 1)) };
  }
  const found = lookupInBindings(scope.bindings, parts[0]);
  return found.kind === 'found' ? { kind: 'found', column: fieldAccess(found.column, parts.slice(1)) } : found;
}

function fieldAccess(column: Column, fields: readonly string[]): Column {
  if (fields.length === 0) return column;
  return { name: fields[fields.length - 1], edges: composeAll(TRANSFORMATION, column.edges) };
}

// ---------------------------------------------------------------- queries

function evalQuery(ctx: Ctx, node: Node, ctes: CteScope | undefined, outer: Scope | undefined): Relation {
  const scoped = withCtes(node, ctes);
  switch (text(node, 'type')) {
    case 'SELECT_NODE':
      return evalSelect(ctx, node, scoped, outer);
    case 'SET_OPERATION_NODE':
      return evalSetOperation(ctx, node, scoped, outer);
    case 'RECURSIVE_CTE_NODE':
      return evalRecursiveCte(ctx, node, scoped, outer);
    default:
      fail(ctx, `unsupported query node ${text(node, 'type') || '(none)'}`);
      return EMPTY_RELATION;
  }
}

function withCtes(node: Node, parent: CteScope | undefined): CteScope | undefined {
  const map = nodes(child(node, 'cte_map') ?? {}, 'map');
  if (map.length === 0) return parent;
  const entries = new Map<string, CteEntry>();
  const scope: CteScope = { entries, parent };
  for (const item of map) {
    const value = child(item, 'value') ?? {};
    const query = child(child(value, 'query') ?? {}, 'node');
    const name = text(item, 'key');
    if (query) entries.set(lower(name), { name, node: query, aliases: texts(value, 'aliases'), scope, busy: false });
  }
  return scope;
}

function findCte(ctes: CteScope | undefined, name: string): CteEntry | undefined {
  for (let current = ctes; current; current = current.parent) {
    const entry = current.entries.get(lower(name));
    if (entry) return entry;
  }
  return undefined;
}

/** A CTE's relation, evaluated once on first use; undefined while it is being evaluated and not recursive. */
function cteRelation(ctx: Ctx, entry: CteEntry): Relation | undefined {
  if (entry.relation) return entry.relation;
  if (entry.partial) return entry.partial;
  // A non-recursive CTE that names itself means the base table of that name.
  if (entry.busy) return undefined;
  entry.busy = true;
  const relation = evalQuery(ctx, entry.node, entry.scope, undefined);
  entry.busy = false;
  entry.relation = {
    columns: renameColumns(ctx, relation.columns, entry.aliases, ` in CTE '${entry.name}'`),
    indirect: relation.indirect,
  };
  return entry.relation;
}

// Edges only grow, so a few rounds reach the fixpoint for any realistic recursion.
const RECURSION_ROUNDS = 16;

function evalRecursiveCte(ctx: Ctx, node: Node, ctes: CteScope | undefined, outer: Scope | undefined): Relation {
  const entry = findCte(ctes, text(node, 'cte_name'));
  const anchor = evalQuery(ctx, child(node, 'left') ?? {}, ctes, outer);
  if (!entry) return anchor;
  let current: Relation = {
    columns: renameColumns(ctx, anchor.columns, entry.aliases, at(node)),
    indirect: anchor.indirect,
  };
  for (let round = 0; round < RECURSION_ROUNDS; round++) {
    entry.partial = current;
    const step = evalQuery(ctx, child(node, 'right') ?? {}, ctes, outer);
    const next = unionRelations(ctx, current, step, node);
    const grown = edgeCount(next) > edgeCount(current);
    current = next;
    if (!grown) break;
  }
  entry.partial = undefined;
  return current;
}

function edgeCount(relation: Relation): number {
  return relation.columns.reduce((sum, column) => sum + column.edges.length, relation.indirect.length);
}

// ---------------------------------------------------------------- SELECT

interface SelectItem {
  readonly column: Column;
  /** The select-list expression, or undefined for a column that `*` expanded. */
  readonly expr: Node | undefined;
}

function evalSelect(ctx: Ctx, node: Node, ctes: CteScope | undefined, outer: Scope | undefined): Relation {
  const from = evalFrom(ctx, child(node, 'from_table'), { bindings: [], outer, ctes });
  const aliases = new Map<string, Column>();
  const scope: Scope = { bindings: from.bindings, outer, ctes, aliases };
  const items = selectItems(ctx, scope, nodes(node, 'select_list'), aliases);
  const clause = (key: string, subtype: IndirectSubtype): ColumnEdge[] => {
    const expr = child(node, key);
    return expr ? expressionEdges(ctx, scope, expr, indirect(subtype)) : [];
  };
  const rowEdges = [
    ...from.indirect,
    ...clause('where_clause', 'FILTER'),
    ...groupByEdges(ctx, scope, node, items),
    ...clause('having', 'FILTER'),
    ...clause('qualify', 'FILTER'),
    ...modifierEdges(ctx, scope, nodes(node, 'modifiers'), items),
  ];
  return { columns: items.map((item) => item.column), indirect: dedupeEdges(rowEdges) };
}

function selectItems(ctx: Ctx, scope: Scope, list: readonly Node[], aliases: Map<string, Column>): SelectItem[] {
  return list.flatMap((expr, index): SelectItem[] => {
    if (text(expr, 'class') === 'STAR')
      return expandStar(ctx, scope, expr).map((column) => ({ column, expr: undefined }));
    const column = selectColumn(ctx, scope, expr, index);
    const alias = text(expr, 'alias');
    if (alias) aliases.set(lower(alias), column);
    return [{ column, expr }];
  });
}

function selectColumn(ctx: Ctx, scope: Scope, expr: Node, index: number): Column {
  const alias = text(expr, 'alias');
  if (text(expr, 'class') === 'COLUMN_REF') {
    const resolved = resolveColumn(ctx, scope, expr);
    const written = texts(expr, 'column_names');
    const name = alias || resolved?.name || written[written.length - 1] || `#${index + 1}`;
    return { name, edges: resolved?.edges ?? [] };
  }
  const edges = expressionEdges(ctx, scope, expr, IDENTITY);
  const name = alias || expressionName(expr);
  if (name !== undefined) return { name, edges };
  fail(ctx, `give the expression an alias (AS name)${at(expr)}`);
  return { name: `#${index + 1}`, edges };
}

/** GROUP BY expressions, ordinals, aliases, and GROUP BY ALL (every select item without an aggregate). */
function groupByEdges(ctx: Ctx, scope: Scope, node: Node, items: readonly SelectItem[]): ColumnEdge[] {
  const groups = nodes(node, 'group_expressions');
  const mode = indirect('GROUP_BY');
  if (groups.length === 0 && text(node, 'aggregate_handling') === 'FORCE_AGGREGATES') {
    return items
      .filter((item) => !item.expr || !hasAggregate(item.expr))
      .flatMap((item) => composeAll(mode, item.column.edges));
  }
  return groups.flatMap((expr) => {
    const item = ordinalItem(ctx, expr, items);
    return item ? composeAll(mode, item.column.edges) : expressionEdges(ctx, scope, expr, mode);
  });
}

/** The select item a `GROUP BY 2` / `ORDER BY 2` means, if `expr` is such an ordinal. */
function ordinalItem(ctx: Ctx, expr: Node, items: readonly SelectItem[]): SelectItem | undefined {
  const value = text(expr, 'class') === 'CONSTANT' ? child(expr, 'value') : undefined;
  if (!value || !INTEGER_TYPES.has(text(child(value, 'type') ?? {}, 'id'))) return undefined;
  const position = value.value;
  if (typeof position !== 'number' || !Number.isInteger(position)) return undefined;
  const item = items[position - 1];
  return item ?? fail(ctx, `position ${position} is not in the select list${at(expr)}`);
}

function modifierEdges(ctx: Ctx, scope: Scope, modifiers: readonly Node[], items: readonly SelectItem[]): ColumnEdge[] {
  return modifiers.flatMap((modifier) => {
    const type = text(modifier, 'type');
    if (type === 'ORDER_MODIFIER') {
      return orderExpressions(nodes(modifier, 'orders')).flatMap((expr) =>
        outputEdges(ctx, scope, expr, items, indirect('SORT')),
      );
    }
    if (type !== 'DISTINCT_MODIFIER') return [];
    // DISTINCT collapses rows like a GROUP BY over its targets, or over every output column.
    const targets = nodes(modifier, 'distinct_on_targets');
    if (targets.length === 0) return items.flatMap((item) => composeAll(indirect('GROUP_BY'), item.column.edges));
    return targets.flatMap((expr) => outputEdges(ctx, scope, expr, items, indirect('GROUP_BY')));
  });
}

/** An ORDER BY / DISTINCT ON term: an ordinal, ALL, an output column name, or else an expression over FROM. */
function outputEdges(
  ctx: Ctx,
  scope: Scope,
  expr: Node,
  items: readonly SelectItem[],
  mode: Transformation,
): ColumnEdge[] {
  if (text(expr, 'class') === 'STAR' && expr.columns === true && !child(expr, 'expr')) {
    return items.flatMap((item) => composeAll(mode, item.column.edges));
  }
  const ordinal = ordinalItem(ctx, expr, items);
  if (ordinal) return composeAll(mode, ordinal.column.edges);
  const names = texts(expr, 'column_names');
  const named = names.length === 1 && text(expr, 'class') === 'COLUMN_REF' ? outputNamed(items, names[0]) : undefined;
  return named ? composeAll(mode, named.column.edges) : expressionEdges(ctx, scope, expr, mode);
}

function outputNamed(items: readonly SelectItem[], name: string): SelectItem | undefined {
  return items.find((item) => lower(item.column.name) === lower(name));
}

function hasAggregate(expr: Node): boolean {
  const klass = text(expr, 'class');
  if (klass === 'WINDOW') return true;
  if (klass === 'SUBQUERY') return false;
  if (klass === 'FUNCTION' && isAggregate(text(expr, 'function_name'))) return true;
  return subExpressions(expr).some(hasAggregate);
}

// ---------------------------------------------------------------- star

function expandStar(ctx: Ctx, scope: Scope, star: Node): Column[] {
  if (star.columns === true) {
    fail(ctx, `COLUMNS(...) is not supported; list the columns${at(star)}`);
    return [];
  }
  const relation = text(star, 'relation_name');
  const bindings = relation ? scope.bindings.filter((b) => b.qualifiers.includes(lower(relation))) : scope.bindings;
  if (relation && bindings.length === 0) {
    fail(ctx, `unknown table '${relation}' in ${relation}.*${at(star)}`);
    return [];
  }
  const excluded = starExclusions(star);
  const renames = starRenames(star);
  const replacements = new Map(nodes(star, 'replace_list').map((entry) => [lower(text(entry, 'key')), entry]));
  return bindings.flatMap((b) =>
    (relation ? b.columns : visibleColumns(b)).flatMap((column) => {
      if (excluded.has(lower(column.name))) return [];
      const replacement = child(replacements.get(lower(column.name)) ?? {}, 'value');
      const edges = replacement ? expressionEdges(ctx, scope, replacement, IDENTITY) : column.edges;
      return [{ name: renames.get(lower(column.name)) ?? column.name, edges }];
    }),
  );
}

function starExclusions(star: Node): Set<string> {
  const qualified = nodes(star, 'qualified_exclude_list').map((entry) => text(entry, 'column'));
  return new Set([...texts(star, 'exclude_list'), ...qualified].map(lower));
}

function starRenames(star: Node): Map<string, string> {
  return new Map(
    nodes(star, 'rename_list').map((entry) => [lower(text(child(entry, 'key') ?? {}, 'column')), text(entry, 'value')]),
  );
}

// ---------------------------------------------------------------- FROM

interface From {
  readonly bindings: readonly Binding[];
  readonly indirect: readonly ColumnEdge[];
}

const NO_FROM: From = { bindings: [], indirect: [] };

function evalFrom(ctx: Ctx, ref: Node | undefined, scope: Scope): From {
  if (!ref) return NO_FROM;
  switch (text(ref, 'type')) {
    case 'EMPTY':
      return NO_FROM;
    case 'BASE_TABLE':
      return baseTable(ctx, ref, scope);
    case 'SUBQUERY':
      return subqueryRef(ctx, ref, scope);
    case 'JOIN':
      return joinRef(ctx, ref, scope);
    case 'EXPRESSION_LIST':
      return valuesRef(ctx, ref, scope);
    case 'TABLE_FUNCTION':
      return opaqueRef(ctx, ref, `table functions are not supported in a SQL model; read a dataset instead${at(ref)}`);
    default:
      return opaqueRef(ctx, ref, `unsupported FROM item ${text(ref, 'type') || '(none)'}${at(ref)}`);
  }
}

function opaqueRef(ctx: Ctx, ref: Node, message: string): From {
  fail(ctx, message);
  return { bindings: [binding([text(ref, 'alias')], [], true)], indirect: [] };
}

function fromRelation(ctx: Ctx, ref: Node, qualifiers: readonly string[], relation: Relation): From {
  const columns = renameColumns(ctx, relation.columns, texts(ref, 'column_name_alias'), at(ref));
  return { bindings: [binding(qualifiers, columns)], indirect: relation.indirect };
}

function baseTable(ctx: Ctx, ref: Node, scope: Scope): From {
  const table = text(ref, 'table_name');
  const schema = text(ref, 'schema_name');
  const catalogName = text(ref, 'catalog_name');
  const alias = text(ref, 'alias');
  const cte = schema || catalogName ? undefined : findCte(scope.ctes, table);
  const cteRows = cte ? cteRelation(ctx, cte) : undefined;
  if (cteRows) return fromRelation(ctx, ref, [alias || table], cteRows);
  const name = [catalogName, schema, table].filter(Boolean).join('.');
  const names = ctx.catalog.columns(name);
  const qualifiers = alias ? [alias] : [table, [schema, table].filter(Boolean).join('.'), name];
  if (!names) return opaqueRef(ctx, ref, `unknown table '${name}'${at(ref)}`);
  ctx.inputs.add(name);
  const columns = names.map((column) => ({ name: column, edges: [{ dataset: name, column, ...IDENTITY }] }));
  return fromRelation(ctx, ref, qualifiers, { columns, indirect: [] });
}

function subqueryRef(ctx: Ctx, ref: Node, scope: Scope): From {
  const query = child(child(ref, 'subquery') ?? {}, 'node');
  if (!query) return opaqueRef(ctx, ref, `subquery without a query${at(ref)}`);
  return fromRelation(ctx, ref, [text(ref, 'alias')], evalQuery(ctx, query, scope.ctes, scope));
}

function valuesRef(ctx: Ctx, ref: Node, scope: Scope): From {
  const rows = Array.isArray(ref.values) ? ref.values.map((row) => (Array.isArray(row) ? row.filter(isNode) : [])) : [];
  const width = rows[0]?.length ?? 0;
  const columns = Array.from({ length: width }, (_, i) => ({
    // DuckDB names VALUES columns col0, col1, ...
    name: `col${i}`,
    edges: rows.flatMap((row) => (row[i] ? expressionEdges(ctx, scope, row[i], IDENTITY) : [])),
  }));
  return fromRelation(ctx, ref, [text(ref, 'alias')], { columns, indirect: [] });
}

function joinRef(ctx: Ctx, ref: Node, scope: Scope): From {
  const left = evalFrom(ctx, child(ref, 'left'), scope);
  // The right side sees the left one: DuckDB joins subqueries laterally when they refer to it.
  const right = evalFrom(ctx, child(ref, 'right'), { bindings: left.bindings, outer: scope, ctes: scope.ctes });
  const joinType = text(ref, 'join_type');
  const condition = child(ref, 'condition');
  const both: Scope = { bindings: [...left.bindings, ...right.bindings], outer: scope.outer, ctes: scope.ctes };
  const onEdges = condition ? expressionEdges(ctx, both, condition, indirect('JOIN')) : [];
  const using = text(ref, 'ref_type') === 'NATURAL' ? naturalColumns(left, right) : texts(ref, 'using_columns');
  const merged = using.length > 0 ? mergeUsing(ctx, ref, left.bindings, right.bindings, using) : undefined;
  const bindings = merged?.bindings ?? both.bindings;
  // SEMI and ANTI joins only test the right side; its columns do not reach the output.
  const visible =
    joinType === 'SEMI' || joinType === 'ANTI' ? bindings.filter((b) => !right.bindings.includes(b)) : bindings;
  return { bindings: visible, indirect: [...left.indirect, ...right.indirect, ...onEdges, ...(merged?.edges ?? [])] };
}

function naturalColumns(left: From, right: From): string[] {
  const leftNames = left.bindings.flatMap(visibleColumns).map((column) => column.name);
  const rightNames = new Set(right.bindings.flatMap(visibleColumns).map((column) => lower(column.name)));
  return leftNames.filter((name) => rightNames.has(lower(name)));
}

interface Merged {
  readonly bindings: readonly Binding[];
  readonly edges: readonly ColumnEdge[];
}

/**
 * USING / NATURAL: each key is a join condition, and its unqualified name and `*` then mean one column,
 * kept where the left side has it. That column is the left one for inner and left joins; for right and full
 * joins it can come from either side.
 */
function mergeUsing(ctx: Ctx, ref: Node, left: readonly Binding[], right: readonly Binding[], names: string[]): Merged {
  const either = ['RIGHT', 'FULL', 'OUTER'].includes(text(ref, 'join_type'));
  let bindings = [...left, ...right];
  const edges: ColumnEdge[] = [];
  for (const name of names) {
    const [l, r] = [left, right].map((side) => usingSide(ctx, ref, side, name));
    edges.push(...composeAll(indirect('JOIN'), [...(l?.column.edges ?? []), ...(r?.column.edges ?? [])]));
    const merged = { name: l?.column.name ?? name, edges: [...(l?.column.edges ?? []), ...(r?.column.edges ?? [])] };
    bindings = bindings.map((b) => {
      if (b === r?.b) return { ...b, hidden: new Set([...b.hidden, lower(name)]) };
      if (b === l?.b && either) return { ...b, shared: new Map([...b.shared, [lower(name), merged]]) };
      return b;
    });
    // Later keys must find the updated bindings.
    left = bindings.slice(0, left.length);
    right = bindings.slice(left.length);
  }
  return { bindings, edges };
}

function usingSide(
  ctx: Ctx,
  ref: Node,
  side: readonly Binding[],
  name: string,
): { b: Binding; column: Column } | undefined {
  const hits = side.flatMap((b) => {
    const column = findColumn(visibleColumns(b), name);
    return column ? [{ b, column }] : [];
  });
  if (hits.length > 0) return hits[0];
  if (side.some((b) => b.opaque)) return undefined;
  fail(ctx, `USING column '${name}' is not on both sides of the join${at(ref)}`);
  return undefined;
}

// ---------------------------------------------------------------- set operations

function evalSetOperation(ctx: Ctx, node: Node, ctes: CteScope | undefined, outer: Scope | undefined): Relation {
  const left = evalQuery(ctx, child(node, 'left') ?? {}, ctes, outer);
  const right = evalQuery(ctx, child(node, 'right') ?? {}, ctes, outer);
  const combined = combine(ctx, node, left, right);
  const items = combined.columns.map((column) => ({ column, expr: undefined }));
  const scope: Scope = { bindings: [binding([], combined.columns)], outer, ctes };
  // Without ALL, a set operation removes duplicate rows: a GROUP BY over every output column.
  const distinct =
    node.setop_all === true ? [] : items.flatMap((item) => composeAll(indirect('GROUP_BY'), item.column.edges));
  const sorted = modifierEdges(ctx, scope, nodes(node, 'modifiers'), items);
  return { columns: combined.columns, indirect: dedupeEdges([...combined.indirect, ...distinct, ...sorted]) };
}

function combine(ctx: Ctx, node: Node, left: Relation, right: Relation): Relation {
  switch (text(node, 'setop_type')) {
    case 'UNION':
      return unionRelations(ctx, left, right, node);
    case 'UNION_BY_NAME':
      return unionByName(left, right);
    case 'EXCEPT':
    case 'INTERSECT': {
      // The right side only decides which left rows survive.
      const filter = [...right.columns.flatMap((column) => column.edges), ...right.indirect];
      return { columns: left.columns, indirect: [...left.indirect, ...composeAll(indirect('FILTER'), filter)] };
    }
    default:
      fail(ctx, `unsupported set operation ${text(node, 'setop_type') || '(none)'}${at(node)}`);
      return left;
  }
}

function unionRelations(ctx: Ctx, left: Relation, right: Relation, node: Node): Relation {
  if (left.columns.length !== right.columns.length) {
    fail(ctx, `UNION sides have ${left.columns.length} and ${right.columns.length} columns${at(node)}`);
  }
  const columns = left.columns.map((column, i) => ({
    name: column.name,
    edges: dedupeEdges([...column.edges, ...(right.columns[i]?.edges ?? [])]),
  }));
  return { columns, indirect: dedupeEdges([...left.indirect, ...right.indirect]) };
}

function unionByName(left: Relation, right: Relation): Relation {
  const columns = left.columns.map((column) => ({
    name: column.name,
    edges: dedupeEdges([...column.edges, ...(findColumn(right.columns, column.name)?.edges ?? [])]),
  }));
  const extra = right.columns.filter((column) => !findColumn(left.columns, column.name));
  return { columns: [...columns, ...extra], indirect: dedupeEdges([...left.indirect, ...right.indirect]) };
}

// ---------------------------------------------------------------- expressions

const PLAIN_CLASSES = new Set(['OPERATOR', 'COMPARISON', 'CONJUNCTION', 'BETWEEN', 'CAST', 'COLLATE']);

/** The edges `expr` contributes when the query uses it the way `mode` says. */
function expressionEdges(ctx: Ctx, scope: Scope, expr: Node, mode: Transformation): ColumnEdge[] {
  const klass = text(expr, 'class');
  switch (klass) {
    case 'COLUMN_REF':
      return composeAll(mode, resolveColumn(ctx, scope, expr)?.edges ?? []);
    case 'CONSTANT':
    case 'PARAMETER':
    case 'DEFAULT':
      return [];
    case 'FUNCTION':
      return functionEdges(ctx, scope, expr, mode);
    case 'WINDOW':
      return windowEdges(ctx, scope, expr, mode);
    case 'CASE':
      return caseEdges(ctx, scope, expr, mode);
    case 'SUBQUERY':
      return subqueryEdges(ctx, scope, expr, mode);
    case 'LAMBDA':
      return lambdaEdges(ctx, scope, expr, mode);
    default:
      if (PLAIN_CLASSES.has(klass)) return allEdges(ctx, scope, subExpressions(expr), transformed(mode));
      fail(ctx, `unsupported expression ${klass === 'STAR' ? '*' : klass || '(none)'}${at(expr)}`);
      return [];
  }
}

function allEdges(ctx: Ctx, scope: Scope, exprs: readonly (Node | undefined)[], mode: Transformation): ColumnEdge[] {
  return exprs.flatMap((expr) => (expr ? expressionEdges(ctx, scope, expr, mode) : []));
}

function orderExpressions(orders: readonly Node[]): Node[] {
  return orders.flatMap((order): Node[] => {
    const expr = child(order, 'expression');
    return expr ? [expr] : [];
  });
}

function functionEdges(ctx: Ctx, scope: Scope, expr: Node, mode: Transformation): ColumnEdge[] {
  const argumentMode = isAggregate(text(expr, 'function_name')) ? aggregated(mode) : transformed(mode);
  const orders = orderExpressions(nodes(child(expr, 'order_bys') ?? {}, 'orders'));
  return [
    ...allEdges(ctx, scope, nodes(expr, 'children'), argumentMode),
    ...allEdges(ctx, scope, [child(expr, 'filter')], steering(mode, 'FILTER')),
    ...allEdges(ctx, scope, orders, steering(mode, 'SORT')),
  ];
}

function windowEdges(ctx: Ctx, scope: Scope, expr: Node, mode: Transformation): ColumnEdge[] {
  const argumentMode = text(expr, 'type') === 'WINDOW_AGGREGATE' ? aggregated(mode) : transformed(mode);
  const values = [...nodes(expr, 'children'), child(expr, 'offset_expr'), child(expr, 'default_expr')];
  const window = [
    ...nodes(expr, 'partitions'),
    ...orderExpressions(nodes(expr, 'orders')),
    child(expr, 'start_expr'),
    child(expr, 'end_expr'),
  ];
  return [
    ...allEdges(ctx, scope, values, argumentMode),
    ...allEdges(ctx, scope, window, steering(mode, 'WINDOW')),
    ...allEdges(ctx, scope, [child(expr, 'filter_expr')], steering(mode, 'FILTER')),
    ...allEdges(ctx, scope, orderExpressions(nodes(expr, 'arg_orders')), steering(mode, 'SORT')),
  ];
}

function caseEdges(ctx: Ctx, scope: Scope, expr: Node, mode: Transformation): ColumnEdge[] {
  const checks = nodes(expr, 'case_checks');
  const values = [...checks.map((check) => child(check, 'then_expr')), child(expr, 'else_expr')];
  const conditions = checks.map((check) => child(check, 'when_expr'));
  return [
    ...allEdges(ctx, scope, values, transformed(mode)),
    ...allEdges(ctx, scope, conditions, steering(mode, 'CONDITIONAL')),
  ];
}

/** A scalar, EXISTS or IN subquery: its output flows in, and whatever shaped its rows steers the expression. */
function subqueryEdges(ctx: Ctx, scope: Scope, expr: Node, mode: Transformation): ColumnEdge[] {
  const query = child(child(expr, 'subquery') ?? {}, 'node');
  if (!query) return [];
  const relation = evalQuery(ctx, query, scope.ctes, scope);
  const kind = text(expr, 'subquery_type');
  const valueMode = kind === 'SCALAR' ? mode : transformed(mode);
  const values = kind.includes('EXISTS') ? [] : (relation.columns[0]?.edges ?? []);
  return [
    ...allEdges(ctx, scope, [child(expr, 'child')], transformed(mode)),
    ...composeAll(valueMode, values),
    ...composeAll(mode, relation.indirect),
  ];
}

function lambdaEdges(ctx: Ctx, scope: Scope, expr: Node, mode: Transformation): ColumnEdge[] {
  const lhs = child(expr, 'lhs');
  const refs = lhs && text(lhs, 'class') === 'COLUMN_REF' ? [lhs] : nodes(lhs ?? {}, 'children');
  const parameters = refs.flatMap((ref) => texts(ref, 'column_names').slice(0, 1).map(lower));
  const inner: Scope = { ...scope, lambdaParameters: new Set([...(scope.lambdaParameters ?? []), ...parameters]) };
  return allEdges(ctx, inner, [child(expr, 'expr')], mode);
}

// DuckDB 1.5's aggregate functions (duckdb_functions() where function_type = 'aggregate') and the
// macros that wrap one; a test keeps this list in step with the installed DuckDB.
const AGGREGATES = new Set(
  `any_value approx_count_distinct approx_quantile approx_top_k arbitrary arg_max arg_max_null arg_max_nulls_last
  arg_min arg_min_null arg_min_nulls_last argmax argmin array_agg avg bit_and bit_or bit_xor bitstring_agg bool_and
  bool_or corr count count_if count_star countif covar_pop covar_samp cume_dist dense_rank entropy favg fill first
  first_value fsum group_concat histogram histogram_exact kahan_sum kurtosis kurtosis_pop lag last last_value lead list
  listagg mad max max_by mean median min min_by mode nth_value ntile percent_rank product quantile quantile_cont
  quantile_disc rank rank_dense regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy
  regr_syy reservoir_quantile row_number sem skewness stddev stddev_pop stddev_samp string_agg sum sum_no_overflow
  sumkahan var_pop var_samp variance
  geomean geometric_mean json_group_array json_group_object json_group_structure wavg weighted_avg`.split(/\s+/),
);

export function isAggregate(functionName: string): boolean {
  return AGGREGATES.has(lower(functionName));
}

// ---------------------------------------------------------------- output names

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

const INTEGER_TYPES = new Set([
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
function deduplicateNames(names: readonly string[]): string[] {
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
