import type { UserCombine } from '../expr/ast.ts';
import { compilePredicate, compileProjection } from '../expr/compile.ts';
import type { Registry } from '../expr/functions.ts';
import { type Field, fieldIndex, type Schema } from '../expr/types.ts';
import { eventTimeOf, type RelNode } from '../flow/rel.ts';
import type { Stage } from '../plan/stage.ts';
import type { Operator, Output, StageMetrics } from './operator.ts';
import { aggregateOperator } from './ops/aggregate.ts';
import { dedupeOperator } from './ops/dedupe.ts';
import { endOfWindowAggregateOperator, endOfWindowApplies } from './ops/end-of-window-aggregate.ts';
import { filterOperator } from './ops/filter.ts';
import { joinOperator } from './ops/join.ts';
import { mapOperator } from './ops/map.ts';
import { type ColumnSource, projectOperator } from './ops/project.ts';
import { buildTemporalJoin } from './ops/temporal-join.ts';
import { buildTimeJoin } from './ops/time-join-build.ts';
import { unionOperator } from './ops/union.ts';
import { windowedAggregateOperator } from './ops/windowed-aggregate.ts';
import { checkValue } from './value-check.ts';

/**
 * Turns one bound transform stage into its physical operator: expressions are compiled here, once per stage,
 * and column names are resolved to positions so the operator works on positions only.
 */
export function buildOperator(
  stage: Stage,
  inputs: readonly Schema[],
  registry: Registry,
  out: Output,
  m: StageMetrics,
  live?: readonly boolean[],
  /** Where a windowed aggregate sends the records it drops, when a `lateRecords` stage reads them. */
  late?: Output,
): Operator {
  const node = stage.node as RelNode;
  const schema = stage.schema as Schema;
  switch (node.op) {
    case 'filter':
      return filterOperator(
        compilePredicate(node.predicate, inputs[0], registry),
        inputs[0].fields.length,
        out,
        m,
        live,
      );
    case 'select': {
      const proj = compileProjection(
        node.columns.map((c) => c.expr),
        inputs[0],
        registry,
      );
      return projectOperator(
        proj,
        node.columns.map((_, k) => ({ computed: k })),
        out,
        m,
      );
    }
    case 'withColumns': {
      const proj = compileProjection(
        node.columns.map((c) => c.expr),
        inputs[0],
        registry,
      );
      const layout: ColumnSource[] = schema.fields.map((f) => {
        const k = node.columns.findIndex((c) => c.name === f.name);
        return k >= 0 ? { computed: k } : { input: fieldIndex(inputs[0], f.name) };
      });
      return projectOperator(proj, layout, out, m);
    }
    case 'aggregate': {
      const withArg = node.aggs.filter((a) => a.agg.arg !== undefined);
      const args = compileProjection(
        withArg.map((a) => a.agg.arg as NonNullable<typeof a.agg.arg>),
        inputs[0],
        registry,
      );
      const specs = node.aggs.map((a, i) => ({
        fn: a.agg.fn,
        ...(a.agg.udf === undefined ? {} : { udf: checkedExtract(a.agg.udf, `stage ${stage.id}, ${a.name}`) }),
        arg: a.agg.arg === undefined ? -1 : withArg.indexOf(a),
        type: schema.fields[node.keys.length + i].type,
      }));
      const keyColumns = node.keys.map((k) => fieldIndex(inputs[0], k));
      if (node.windowing !== undefined) {
        const aggSpecs = specs.map((sp, i) => ({ ...sp, type: schema.fields[node.keys.length + 2 + i].type }));
        const w = node.windowing.window;
        const eventTime = fieldIndex(inputs[0], eventTimeOf(node) as string);
        // Dropped records need the general stage, which reports each (record, window) it drops.
        if (
          late === undefined &&
          endOfWindowApplies(node.windowing, aggSpecs) &&
          w.kind !== 'session' &&
          w.kind !== 'global'
        ) {
          const period = w.kind === 'sliding' ? w.period : w.size;
          return endOfWindowAggregateOperator(
            { keyColumns, eventTime, args, aggs: aggSpecs, window: { size: w.size, period, offset: w.offset } },
            out,
            m,
          );
        }
        return windowedAggregateOperator(
          {
            keyColumns,
            eventTime: fieldIndex(inputs[0], eventTimeOf(node) as string),
            args,
            aggs: aggSpecs,
            windowing: node.windowing,
          },
          out,
          m,
          late,
        );
      }
      return aggregateOperator(keyColumns, args, specs, out, m);
    }
    case 'join': {
      const [left, right] = inputs;
      const shared = new Set(node.on.filter((k) => k.left === k.right).map((k) => k.right));
      return joinOperator(
        {
          how: node.how,
          leftKeys: node.on.map((k) => fieldIndex(left, k.left)),
          rightKeys: node.on.map((k) => fieldIndex(right, k.right)),
          rightOutput: right.fields.map((f, i) => (shared.has(f.name) ? -1 : i)).filter((i) => i >= 0),
          leftWidth: left.fields.length,
          rightWidth: right.fields.length,
        },
        out,
        m,
      );
    }
    case 'temporalJoin':
      return buildTemporalJoin(node, inputs[0], inputs[1], out, m);
    case 'windowJoin':
    case 'intervalJoin':
      return buildTimeJoin(node, inputs[0], inputs[1], out, m);
    case 'union':
      return unionOperator(
        inputs.map((s) => schema.fields.map((f) => fieldIndex(s, f.name))),
        out,
        m,
      );
    case 'dedupe':
      return dedupeOperator(
        node.keys.map((k) => fieldIndex(inputs[0], k)),
        out,
        m,
      );
    case 'map': {
      const writes: Field[] = Object.entries(node.writes).map(([name, s]) => ({
        name,
        type: s.type,
        nullable: s.nullable,
      }));
      return mapOperator(
        node.fn,
        stage.id,
        node.reads.map((name) => ({ name, index: fieldIndex(inputs[0], name) })),
        writes,
        schema.fields.map((f) => {
          const w = writes.findIndex((x) => x.name === f.name);
          return w >= 0 ? { written: w } : { input: fieldIndex(inputs[0], f.name) };
        }),
        out,
        m,
      );
    }
    case 'lateRecords':
      return passThrough(out, m);
    case 'read':
      throw new Error(`stage ${stage.id}: sources are driven by the executor, not built as operators`);
    default:
      return node satisfies never;
  }
}

/** A stage that hands on what it receives: the dropped records a windowed aggregate sends to its side output. */
function passThrough(out: Output, m: StageMetrics): Operator {
  return {
    push(_port, batch) {
      m.in += batch.length;
      out.push(batch);
    },
    watermark(_port, wm) {
      out.watermark(wm);
    },
  };
}

/** A user combine function whose results are checked against its declared type, so a wrong one names itself. */
function checkedExtract(fn: UserCombine, where: string): UserCombine {
  const declared = { type: fn.result, nullable: true };
  return {
    name: fn.name,
    result: fn.result,
    ...(fn.source === undefined ? {} : { source: fn.source }),
    create: fn.create,
    add: fn.add,
    merge: fn.merge,
    extract(acc) {
      const v = fn.extract(acc);
      const problem = checkValue(v, declared);
      if (problem !== null) throw new Error(`${where}: combine function ${fn.name} returned ${problem}`);
      return v;
    },
  };
}
