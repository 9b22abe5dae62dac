import { type AggNode, aggToString, type ExprNode, exprToString } from '../expr/ast.ts';
import { checkAgg, checkExpr } from '../expr/check.ts';
import type { Registry } from '../expr/functions.ts';
import {
  assignable,
  type Field,
  type FieldType,
  fieldTypeToString,
  isNumeric,
  type Schema,
  sameType,
} from '../expr/types.ts';
import type { Flow, Output } from '../flow/flow.ts';
import { eventTimeOf, inputsOf, joinEventTimes, type RelNode, type StageOptions } from '../flow/rel.ts';
import { storageToString } from '../flow/storage.ts';
import { formatDuration, modeForSla, parseDuration } from '../time/duration.ts';
import type { WindowFn } from '../time/windows.ts';
import { bindTemporalJoin } from './bind-temporal-join.ts';
import { type Finding, finding, type Location } from './findings.ts';
import type { Stage, StageKind } from './stage.ts';

/** A flow's stages in topological order (inputs before the stages that read them), and what binding found. */
export interface BoundFlow {
  readonly flow: Flow;
  readonly stages: readonly Stage[];
  readonly findings: readonly Finding[];
}

/**
 * Binds a flow: names every stage, resolves each stage's output schema from its inputs, and checks every expression
 * against the schema it reads. Problems become findings; a stage that does not bind has no schema, and the stages
 * that read it are not checked further (one mistake, one finding).
 */
export function bindFlow(flow: Flow, registry: Registry): BoundFlow {
  const b = new Binder(flow, registry);
  for (const out of flow.outputs) b.output(out);
  return { flow, stages: b.stages, findings: b.findings };
}

class Binder {
  readonly stages: Stage[] = [];
  readonly findings: Finding[] = [];
  private readonly ids = new Map<RelNode, string>();
  private readonly used = new Set<string>();
  private readonly counters = new Map<string, number>();

  constructor(
    private readonly flow: Flow,
    private readonly registry: Registry,
  ) {}

  output(out: Output): void {
    const id = this.claim(
      out.id ?? `${out.kind === 'sql' ? 'model' : 'write'}_${out.dataset.name.replaceAll('.', '_')}`,
    );
    const inputs = out.kind === 'write' ? [this.rel(out.input)] : [];
    const inSchema = out.kind === 'write' ? this.schemaOf(inputs[0]) : undefined;
    const at = { flow: this.flow.name, stage: id, dataset: out.dataset.name };
    if (out.kind === 'write' && inSchema !== undefined) this.checkContract(inSchema, out, at);
    this.push(id, out.kind === 'sql' ? 'sql' : 'sink', out.kind, inputs, out.options, {
      ...(out.dataset.contract === undefined ? {} : { schema: out.dataset.contract.schema }),
      detail:
        out.kind === 'sql'
          ? `sql model → ${out.dataset.name}`
          : `write ${out.mode} → ${out.dataset.name}${out.dataset.storage ? ` (${storageToString(out.dataset.storage)})` : ''}`,
      output: out,
      dataset: out.dataset,
      ...(out.kind === 'write' ? { writeMode: out.mode } : {}),
    });
  }

  /** Binds a relational node (once, however many stages read it) and returns its stage id. */
  private rel(node: RelNode): string {
    const known = this.ids.get(node);
    if (known !== undefined) return known;
    const inputs = inputsOf(node).map((n) => this.rel(n));
    const id = this.claim(node.id ?? this.autoId(node.op));
    this.ids.set(node, id);
    const at = { flow: this.flow.name, stage: id };
    const schemas = inputs.map((i) => this.schemaOf(i));
    const schema = schemas.every((s) => s !== undefined) ? this.infer(node, schemas as Schema[], at) : undefined;
    this.push(id, node.op === 'read' ? 'source' : 'transform', node.op, inputs, node.options, {
      ...(schema === undefined ? {} : { schema }),
      detail: describe(node),
      node,
      ...(node.op === 'read' ? { dataset: node.dataset } : {}),
    });
    return id;
  }

  private push(
    id: string,
    kind: StageKind,
    op: Stage['op'],
    inputs: readonly string[],
    options: StageOptions | undefined,
    rest: Partial<Stage>,
  ): void {
    const sla = options?.sla ?? this.flow.sla;
    const slaMs = parseDuration(sla);
    this.stages.push({
      id,
      flow: this.flow.name,
      kind,
      op,
      inputs,
      sla,
      slaMs,
      mode: options?.mode ?? modeForSla(slaMs),
      modeForced: options?.mode !== undefined,
      owner: options?.owner ?? this.flow.owner,
      detail: '',
      ...rest,
    });
  }

  private schemaOf(id: string): Schema | undefined {
    return this.stages.find((s) => s.id === id)?.schema;
  }

  private autoId(op: string): string {
    for (;;) {
      const n = (this.counters.get(op) ?? 0) + 1;
      this.counters.set(op, n);
      const id = `${op}_${n}`;
      if (!this.used.has(id)) return id;
    }
  }

  private claim(id: string): string {
    if (this.used.has(id)) {
      this.findings.push(
        finding(
          'duplicateStage',
          { flow: this.flow.name, stage: id },
          `two stages are named '${id}'`,
          'give each .stage() and output a distinct id',
        ),
      );
      return this.autoId(id);
    }
    this.used.add(id);
    return id;
  }

  private fail(rule: Parameters<typeof finding>[0], at: Location, message: string, hint: string): undefined {
    this.findings.push(finding(rule, at, message, hint));
    return undefined;
  }

  private infer(node: RelNode, inputs: readonly Schema[], at: Location): Schema | undefined {
    switch (node.op) {
      case 'read':
        return (
          node.dataset.contract?.schema ??
          this.fail(
            'missingContract',
            { ...at, dataset: node.dataset.name },
            `dataset '${node.dataset.name}' is read but has no contract`,
            'declare contract({ fields: {...} }) on the dataset so every record is checked at the boundary',
          )
        );
      case 'select':
        return this.project(node.columns, inputs[0], at, []);
      case 'withColumns': {
        const added = this.project(node.columns, inputs[0], at, []);
        if (added === undefined) return undefined;
        const byName = new Map(added.fields.map((f) => [f.name, f]));
        const isNew = (f: Field) => !inputs[0].fields.some((x) => x.name === f.name);
        return { fields: [...inputs[0].fields.map((f) => byName.get(f.name) ?? f), ...added.fields.filter(isNew)] };
      }
      case 'filter': {
        const r = checkExpr(node.predicate, inputs[0], this.registry);
        if (r.errors.length > 0 || r.type === undefined)
          return this.exprErrors(at, exprToString(node.predicate), r.errors);
        if (r.type.type.kind !== 'bool' && r.type.type.kind !== 'null') {
          return this.fail(
            'expression',
            at,
            `filter ${exprToString(node.predicate)} is ${fieldTypeToString(r.type)}, not bool`,
            'a filter needs a comparison or boolean expression, e.g. col("x").gt(0)',
          );
        }
        return refineNotNull(inputs[0], node.predicate);
      }
      case 'aggregate':
        return this.aggregate(node, inputs[0], at);
      case 'join':
        return this.join(node, inputs[0], inputs[1], at);
      case 'windowJoin':
      case 'intervalJoin':
        return this.timeJoin(node, inputs[0], inputs[1], at);
      case 'temporalJoin': {
        const sides = { left: this.ids.get(node.left) ?? '?', right: this.ids.get(node.right) ?? '?' };
        const r = bindTemporalJoin(node, inputs[0], inputs[1], sides);
        return 'fields' in r ? r : this.fail(r.rule, at, r.message, r.hint);
      }
      case 'union':
        return this.union(inputs, at);
      case 'lateRecords':
        return this.lateRecords(node.input, at);
      case 'dedupe':
        return this.keys(node.keys, inputs[0], at, 'dedupe') ? inputs[0] : undefined;
      case 'map': {
        const missing = node.reads.filter((c) => !inputs[0].fields.some((f) => f.name === c));
        if (missing.length > 0) {
          return this.fail(
            'mapColumns',
            at,
            `map reads unknown column(s) ${missing.join(', ')}; input has ${names(inputs[0])}`,
            'fix `reads` to name columns of the input',
          );
        }
        const writes: Field[] = Object.entries(node.writes).map(([name, s]) => ({
          name,
          type: s.type,
          nullable: s.nullable,
        }));
        const fields = inputs[0].fields.map((f) => writes.find((w) => w.name === f.name) ?? f);
        return { fields: [...fields, ...writes.filter((w) => !inputs[0].fields.some((f) => f.name === w.name))] };
      }
      default:
        return node satisfies never;
    }
  }

  private project(
    columns: readonly { name: string; expr: ExprNode }[],
    input: Schema,
    at: Location,
    fields: Field[],
  ): Schema | undefined {
    let ok = true;
    for (const c of columns) {
      if (fields.some((f) => f.name === c.name)) {
        this.fail(
          'duplicateColumn',
          at,
          `column '${c.name}' is produced twice`,
          'give each output column a distinct name',
        );
        ok = false;
        continue;
      }
      const r = checkExpr(c.expr, input, this.registry);
      if (r.errors.length > 0 || r.type === undefined) {
        this.exprErrors(at, `${c.name} = ${exprToString(c.expr)}`, r.errors);
        ok = false;
        continue;
      }
      const src =
        c.expr.kind === 'col' ? input.fields.find((f) => f.name === (c.expr as { name: string }).name) : undefined;
      fields.push({ name: c.name, ...r.type, ...(src?.description ? { description: src.description } : {}) });
    }
    return ok ? { fields } : undefined;
  }

  /** The schema of a windowed aggregate's dropped records: its input's columns, the window and why. */
  private lateRecords(agg: RelNode, at: Location): Schema | undefined {
    if (agg.op !== 'aggregate') return undefined;
    const input = this.schemaOf(this.ids.get(agg.input) ?? '');
    if (input === undefined) return undefined;
    const clash = LATE_COLUMNS.filter((c) => input.fields.some((f) => f.name === c.name));
    if (clash.length > 0) {
      return this.fail(
        'duplicateColumn',
        at,
        `lateRecords adds ${clash.map((c) => `'${c.name}'`).join(', ')}, which the aggregate's input already has`,
        'rename the input column before the window, e.g. .withColumns({ src_window_start: col("window_start") })',
      );
    }
    // Only the global window has no bounds.
    const global = agg.windowing?.window.kind === 'global';
    return {
      fields: [
        ...input.fields,
        ...LATE_COLUMNS.map((f) => (f.name === 'drop_reason' ? f : { ...f, nullable: global })),
      ],
    };
  }

  private aggregate(node: Extract<RelNode, { op: 'aggregate' }>, input: Schema, at: Location): Schema | undefined {
    const { keys, aggs } = node;
    if (!this.keys(keys, input, at, 'groupBy')) return undefined;
    const windowed = node.windowing !== undefined;
    if (windowed && !this.eventTime(node, input, at)) return undefined;
    const fields: Field[] = keys.map((k) => input.fields.find((f) => f.name === k) as Field);
    let ok = true;
    for (const a of aggs) {
      if (fields.some((f) => f.name === a.name)) {
        this.fail(
          'duplicateColumn',
          at,
          `column '${a.name}' is produced twice`,
          'give each aggregate a name distinct from the keys',
        );
        ok = false;
        continue;
      }
      const r = checkAgg(a.agg, input, this.registry);
      if (r.errors.length > 0 || r.type === undefined) {
        this.exprErrors(at, `${a.name} = ${aggToString(a.agg)}`, r.errors);
        ok = false;
        continue;
      }
      // A windowed pane may be empty (an ON_TIME pane after early ones, A5), so only counts are never null there.
      const nullable = windowed ? r.type.nullable || !isCount(a.agg) : r.type.nullable;
      fields.push({
        name: a.name,
        ...r.type,
        nullable: nullable && !(!windowed && neverNull(a.agg, keys, input, this.registry)),
      });
    }
    if (!ok) return undefined;
    if (node.windowing === undefined) return { fields };
    const global = node.windowing.window.kind === 'global';
    const ts = (name: string): Field => ({ name, type: { kind: 'timestamp' }, nullable: global });
    const k = keys.length;
    const head = [...fields.slice(0, k), ts('window_start'), ts('window_end'), ...fields.slice(k)];
    if (node.windowing.accumulation !== 'retracting') return { fields: [...head, ...PANE_FIELDS] };
    // Retracting: every row says whether it asserts or retracts; the retraction of a session merged away has no pane.
    const merging = node.windowing.window.kind === 'session';
    const pane = PANE_FIELDS.map((f) => ({ ...f, nullable: merging }));
    return { fields: [...head, ...pane, { name: 'retraction', type: { kind: 'bool' }, nullable: false }] };
  }

  /** NAP023: a windowed aggregate needs a timestamp column to assign windows by. */
  private eventTime(node: Extract<RelNode, { op: 'aggregate' }>, input: Schema, at: Location): boolean {
    const name = eventTimeOf(node);
    if (name === undefined) {
      this.fail(
        'eventTime',
        at,
        'window() has no event-time column: the input contract declares no eventTime',
        "declare eventTime: 'col' on the contract, or window(fn, { eventTime: 'col' })",
      );
      return false;
    }
    const f = input.fields.find((x) => x.name === name);
    if (f === undefined || f.type.kind !== 'timestamp' || f.nullable) {
      this.fail(
        'eventTime',
        at,
        `event-time column '${name}' ${f === undefined ? `is not a column of the input (${names(input)})` : `is ${fieldTypeToString(f)}, not a required timestamp`}`,
        'name a non-null timestamp column, or cast it with withColumns first',
      );
      return false;
    }
    return true;
  }

  private keys(keys: readonly string[], input: Schema, at: Location, op: string): boolean {
    const missing = keys.filter((k) => !input.fields.some((f) => f.name === k));
    if (missing.length === 0) return true;
    this.fail(
      'unknownKey',
      at,
      `${op} names unknown column(s) ${missing.join(', ')}; input has ${names(input)}`,
      `name columns of the input, or compute the key first with withColumns`,
    );
    return false;
  }

  private join(
    node: Extract<RelNode, { op: 'join' | 'windowJoin' | 'intervalJoin' }>,
    left: Schema,
    right: Schema,
    at: Location,
  ): Schema | undefined {
    for (const k of node.on) {
      const l = left.fields.find((f) => f.name === k.left);
      const r = right.fields.find((f) => f.name === k.right);
      if (l === undefined || r === undefined) {
        return this.fail(
          'joinKeys',
          at,
          `join key ${l === undefined ? `'${k.left}' is not a left column (${names(left)})` : `'${k.right}' is not a right column (${names(right)})`}`,
          'name key columns that exist on both sides, e.g. on: "customer_id" or [{ left: "cust", right: "id" }]',
        );
      }
      if (!sameType(l.type, r.type) && !(isNumeric(l.type) && isNumeric(r.type)) && !(isTextKind(l) && isTextKind(r))) {
        return this.fail(
          'joinKeys',
          at,
          `join key ${k.left} is ${fieldTypeToString(l)} on the left and ${fieldTypeToString(r)} on the right`,
          'cast one side with withColumns so both keys have the same type',
        );
      }
    }
    const sharedKeys = new Set(node.on.filter((k) => k.left === k.right).map((k) => k.right));
    const rightFields = right.fields.filter((f) => !sharedKeys.has(f.name));
    const clash = rightFields.filter((f) => left.fields.some((l) => l.name === f.name)).map((f) => f.name);
    if (clash.length > 0) {
      return this.fail(
        'joinKeys',
        at,
        `column(s) ${clash.join(', ')} are on both the left (stage ${this.ids.get(node.left)}) and the right (stage ${this.ids.get(node.right)}) of the ${JOIN_NAMES[node.op]}`,
        'rename or drop them on one side with select() before the join',
      );
    }
    const outer = node.op !== 'intervalJoin' && node.how === 'left';
    const extra = rightFields.map((f) => (outer ? { ...f, nullable: true } : f));
    return { fields: [...left.fields, ...extra] };
  }

  /** A window or interval join: the join's schema, an event time on each side, then the window bounds (NAP024). */
  private timeJoin(
    node: Extract<RelNode, { op: 'windowJoin' | 'intervalJoin' }>,
    left: Schema,
    right: Schema,
    at: Location,
  ): Schema | undefined {
    const times = joinEventTimes(node);
    // Both sides are checked, so one `napkin check` names every missing event time.
    const leftOk = this.sideEventTime(node, 'left', times.left, left, at);
    const rightOk = this.sideEventTime(node, 'right', times.right, right, at);
    if (!leftOk || !rightOk || !this.joinBounds(node, at)) return undefined;
    const joined = this.join(node, left, right, at);
    if (joined === undefined || node.op === 'intervalJoin') return joined;
    const clash = joined.fields.filter((f) => f.name === 'window_start' || f.name === 'window_end').map((f) => f.name);
    if (clash.length > 0) {
      return this.fail(
        'duplicateColumn',
        at,
        `the window join adds ${clash.join(', ')}, which an input already has`,
        'rename the column on that side with select() or withColumns() before the join',
      );
    }
    const ts = (name: string): Field => ({ name, type: { kind: 'timestamp' }, nullable: false });
    return { fields: [...joined.fields, ts('window_start'), ts('window_end')] };
  }

  /** NAP023 for one side of a window or interval join. */
  private sideEventTime(
    node: Extract<RelNode, { op: 'windowJoin' | 'intervalJoin' }>,
    side: 'left' | 'right',
    name: string | undefined,
    input: Schema,
    at: Location,
  ): boolean {
    const what = JOIN_NAMES[node.op];
    const option =
      node.op === 'intervalJoin'
        ? `intervalJoin(right, { ${side}EventTime: 'col' })`
        : side === 'left'
          ? "window(fn, { eventTime: 'col' })"
          : "join(right, { rightEventTime: 'col' })";
    if (name === undefined) {
      this.fail(
        'eventTime',
        at,
        `the ${what} has no event-time column on its ${side} side (${this.ids.get(node[side])}): the contract declares no eventTime`,
        `declare eventTime: 'col' on that side's contract, or name the column with ${option}`,
      );
      return false;
    }
    const f = input.fields.find((x) => x.name === name);
    if (f !== undefined && f.type.kind === 'timestamp' && !f.nullable) return true;
    this.fail(
      'eventTime',
      at,
      `event-time column '${name}' of the ${what}'s ${side} side ${f === undefined ? `is not one of its columns (${names(input)})` : `is ${fieldTypeToString(f)}, not a required timestamp`}`,
      `name a non-null timestamp column with ${option}, or cast it with withColumns first`,
    );
    return false;
  }

  /**
   * NAP024: the DSL refuses these, but a node is plain data: session windows differ per side and key, the global
   * window is the hash join, and `from > to` pairs nothing.
   */
  private joinBounds(node: Extract<RelNode, { op: 'windowJoin' | 'intervalJoin' }>, at: Location): boolean {
    if (node.op === 'intervalJoin') {
      if (node.from <= node.to) return true;
      this.fail(
        'timeJoin',
        at,
        `interval join bounds from ${node.from} ms > to ${node.to} ms match no pair`,
        "give from <= to, e.g. { from: '-10s', to: '0s' }",
      );
      return false;
    }
    // Typed fixed | sliding, but a hand-built node may carry any window function.
    const fn = node.window as WindowFn;
    if (fn.kind === 'fixed' || fn.kind === 'sliding') return true;
    this.fail(
      'timeJoin',
      at,
      `a window join needs fixed or sliding windows, not ${formatWindowFn(fn)}: ${fn.kind === 'session' ? "sessions are formed from each side's own rows, so the sides share no window" : 'the global window is the plain join'}`,
      fn.kind === 'session'
        ? 'use fixed() or sliding(), or intervalJoin for rows close in time'
        : 'use rel.join(right, { on }) instead',
    );
    return false;
  }

  private union(inputs: readonly Schema[], at: Location): Schema | undefined {
    const first = inputs[0];
    const fields: Field[] = [...first.fields];
    for (const [i, s] of inputs.entries()) {
      if (i === 0) continue;
      const a = first.fields
        .map((f) => f.name)
        .sort()
        .join(',');
      const b = s.fields
        .map((f) => f.name)
        .sort()
        .join(',');
      if (a !== b) {
        return this.fail(
          'unionSchema',
          at,
          `union input ${i + 1} has columns (${names(s)}) but input 1 has (${names(first)})`,
          'select the same columns on every input before the union',
        );
      }
      for (const [j, f] of fields.entries()) {
        const o = s.fields.find((x) => x.name === f.name) as Field;
        if (!sameType(f.type, o.type)) {
          return this.fail(
            'unionSchema',
            at,
            `union column '${f.name}' is ${fieldTypeToString(f)} in input 1 but ${fieldTypeToString(o)} in input ${i + 1}`,
            'cast the column to one type on every input',
          );
        }
        if (o.nullable && !f.nullable) fields[j] = { ...f, nullable: true };
      }
    }
    return { fields };
  }

  private checkContract(schema: Schema, out: Extract<Output, { kind: 'write' }>, at: Location): void {
    const c = out.dataset.contract;
    if (c === undefined) return; // NAP011 reports it at project level
    const problems: string[] = [];
    for (const f of c.schema.fields) {
      const s = schema.fields.find((x) => x.name === f.name);
      if (s === undefined) {
        if (!f.nullable) problems.push(`required column '${f.name}' is not produced`);
        continue;
      }
      if (!assignableField(s, f))
        problems.push(`'${f.name}' is ${fieldTypeToString(s)} but the contract says ${fieldTypeToString(f)}`);
    }
    const extra = schema.fields.filter((s) => !c.schema.fields.some((f) => f.name === s.name)).map((s) => s.name);
    if (extra.length > 0 && c.content === 'closed')
      problems.push(`column(s) ${extra.join(', ')} are not in the contract`);
    if (problems.length > 0) {
      this.fail(
        'contractViolation',
        at,
        `output to ${out.dataset.name} breaks its contract v${c.version}: ${problems.join('; ')}`,
        'select and cast the columns the contract declares (coalesce nullable values into required columns), or change the contract',
      );
    }
  }

  private exprErrors(at: Location, what: string, errors: readonly { message: string }[]): undefined {
    for (const e of errors) {
      this.findings.push(
        finding(
          'expression',
          at,
          `${what}: ${e.message}`,
          'fix the expression; `napkin check` shows the input columns',
        ),
      );
    }
    return undefined;
  }
}

/**
 * After `filter(col('x').isNotNull())` (alone or in a chain of ANDs) column x is no longer nullable, so it may feed a
 * required contract field without a coalesce.
 */
function refineNotNull(schema: Schema, predicate: ExprNode): Schema {
  const notNull = new Set<string>();
  const visit = (e: ExprNode): void => {
    if (e.kind !== 'call') return;
    if (e.fn === 'and') e.args.forEach(visit);
    else if (e.fn === 'isNotNull' && e.args[0]?.kind === 'col') notNull.add(e.args[0].name);
  };
  visit(predicate);
  if (notNull.size === 0) return schema;
  return { fields: schema.fields.map((f) => (notNull.has(f.name) ? { ...f, nullable: false } : f)) };
}

/**
 * With grouping keys every group has at least one row, so sum, min, max and avg of a non-nullable argument are never
 * null; without keys an empty input still gives one row, of nulls.
 */
function neverNull(agg: AggNode, keys: readonly string[], input: Schema, registry: Registry): boolean {
  if (keys.length === 0 || agg.arg === undefined) return false;
  const arg = checkExpr(agg.arg, input, registry);
  return arg.type !== undefined && !arg.type.nullable;
}

/** The columns after the aggregates of a windowed aggregate: the pane's metadata (§7) and timestamp (H4). */
const PANE_FIELDS: readonly Field[] = [
  {
    name: 'pane_timing',
    type: { kind: 'enum', name: 'pane_timing', symbols: ['EARLY', 'ON_TIME', 'LATE'] },
    nullable: false,
  },
  { name: 'pane_index', type: { kind: 'int64' }, nullable: false },
  { name: 'pane_is_last', type: { kind: 'bool' }, nullable: false },
  { name: 'event_time', type: { kind: 'timestamp' }, nullable: false },
];

function isCount(agg: AggNode): boolean {
  return agg.fn === 'count' || agg.fn === 'countDistinct';
}

/** How findings name the joins. */
const JOIN_NAMES = { join: 'join', windowJoin: 'window join', intervalJoin: 'interval join' } as const;

/** A signed offset as duration text: '-10s', '0ms', '5m'. */
function formatOffset(ms: number): string {
  return ms < 0 ? `-${formatDuration(-ms)}` : formatDuration(ms);
}

function formatWindowFn(fn: WindowFn): string {
  switch (fn.kind) {
    case 'global':
      return 'global';
    case 'fixed':
      return `fixed ${fn.size}ms`;
    case 'sliding':
      return `sliding ${fn.size}ms every ${fn.period}ms`;
    case 'session':
      return `sessions gap ${fn.gap}ms`;
    default:
      return fn satisfies never;
  }
}

function isTextKind(f: FieldType): boolean {
  return f.type.kind === 'string' || f.type.kind === 'enum';
}

function assignableField(from: FieldType, to: FieldType): boolean {
  if (from.nullable && !to.nullable) return false;
  return assignable(from.type, to.type);
}

function names(s: Schema): string {
  return s.fields.map((f) => f.name).join(', ');
}

/** What `lateRecords` adds to the dropped records: their window (null bounds: the global window) and why. */
const LATE_COLUMNS: readonly Field[] = [
  { name: 'window_start', type: { kind: 'timestamp' }, nullable: true },
  { name: 'window_end', type: { kind: 'timestamp' }, nullable: true },
  { name: 'drop_reason', type: { kind: 'enum', name: 'drop_reason', symbols: ['late', 'closed'] }, nullable: false },
];

function joinKeysText(on: readonly { readonly left: string; readonly right: string }[]): string {
  return on.map((k) => (k.left === k.right ? k.left : `${k.left} = ${k.right}`)).join(', ');
}

/** One line of DSL-like text per operator, for `napkin draw` and run summaries. */
function describe(node: RelNode): string {
  switch (node.op) {
    case 'read':
      return `read ${node.dataset.name}${node.dataset.storage ? ` (${storageToString(node.dataset.storage)})` : ''}${node.onInvalid === 'quarantine' ? ', bad records → quarantine' : ''}`;
    case 'select':
      return `select ${node.columns.map((c) => (c.expr.kind === 'col' && c.expr.name === c.name ? c.name : `${c.name} = ${exprToString(c.expr)}`)).join(', ')}`;
    case 'withColumns':
      return `withColumns ${node.columns.map((c) => `${c.name} = ${exprToString(c.expr)}`).join(', ')}`;
    case 'filter':
      return `filter ${exprToString(node.predicate)}`;
    case 'aggregate':
      return `${node.windowing === undefined ? '' : `window ${formatWindowFn(node.windowing.window)} `}groupBy ${node.keys.join(', ') || '()'} agg ${node.aggs.map((a) => `${a.name} = ${aggToString(a.agg)}`).join(', ')}`;
    case 'join':
      return `${node.how} join on ${joinKeysText(node.on)}`;
    case 'windowJoin':
      return `${node.how} window join ${formatWindowFn(node.window)} on ${joinKeysText(node.on)}`;
    case 'intervalJoin':
      return `interval join on ${joinKeysText(node.on)}, right time in left time + [${formatOffset(node.from)}, ${formatOffset(node.to)}]`;
    case 'temporalJoin':
      return `${node.how} temporal join as of event time on ${node.on.map((k) => (k.left === k.right ? k.left : `${k.left} = ${k.right}`)).join(', ')}${node.deletedWhen === undefined ? '' : `, tombstones where ${node.deletedWhen}`}`;
    case 'union':
      return `union of ${node.inputs.length}`;
    case 'lateRecords':
      return 'records dropped as late (or for a closed window), one row per window';
    case 'dedupe':
      return `dedupe by ${node.keys.join(', ')}`;
    case 'map':
      return `map reads ${node.reads.join(', ')} writes ${Object.keys(node.writes).join(', ')}`;
    default:
      return node satisfies never;
  }
}
