// Column-level lineage of a warehouse SQL model, computed from DuckDB's own parse tree
// (json_serialize_sql) in OpenLineage's column-lineage vocabulary. Pure: no I/O.

import { at, child, isNode, lower, type Node, nodes, subExpressions, text, texts } from './ast.ts';
import { deduplicateNames, expressionName, INTEGER_TYPES } from './names.ts';

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
