import { type Field, type FieldType, fieldTypeToString, isNumeric, type Schema, sameType } from '../expr/types.ts';
import { joinEventTimes, type RelNode } from '../flow/rel.ts';
import type { RuleName } from './findings.ts';

/** Why a temporal join does not bind: one finding's rule, message and hint. */
export interface BindProblem {
  readonly rule: RuleName;
  readonly message: string;
  readonly hint: string;
}

/** The stage ids of the two sides, to name them in messages. */
export interface JoinSides {
  readonly left: string;
  readonly right: string;
}

type TemporalJoin = Extract<RelNode, { op: 'temporalJoin' }>;

/**
 * The output schema of a temporal join: the left columns, then the right ones except key columns named like their
 * left key and the `deletedWhen` column. Right columns become nullable for a left join. Both sides need a required
 * timestamp event-time column, keys must have comparable types, and `deletedWhen` must be a boolean right column.
 */
export function bindTemporalJoin(
  node: TemporalJoin,
  left: Schema,
  right: Schema,
  sides: JoinSides,
): Schema | BindProblem {
  const problem = checkKeys(node, left, right) ?? checkTimes(node, left, right, sides) ?? checkDeletedWhen(node, right);
  if (problem !== undefined) return problem;
  const shared = new Set(node.on.filter((k) => k.left === k.right).map((k) => k.right));
  const rightFields = right.fields.filter((f) => !shared.has(f.name) && f.name !== node.deletedWhen);
  const clash = rightFields.filter((f) => left.fields.some((l) => l.name === f.name)).map((f) => f.name);
  if (clash.length > 0) {
    return {
      rule: 'joinKeys',
      message: `temporalJoin: column(s) ${clash.join(', ')} are on both the left (stage ${sides.left}) and the right (stage ${sides.right})`,
      hint: 'rename them on one side with select() before the join (name a renamed event-time column with leftEventTime or rightEventTime)',
    };
  }
  const extra = rightFields.map((f) => (node.how === 'left' ? { ...f, nullable: true } : f));
  return { fields: [...left.fields, ...extra] };
}

function checkKeys(node: TemporalJoin, left: Schema, right: Schema): BindProblem | undefined {
  for (const k of node.on) {
    const l = left.fields.find((f) => f.name === k.left);
    const r = right.fields.find((f) => f.name === k.right);
    if (l === undefined || r === undefined) {
      return {
        rule: 'joinKeys',
        message: `temporalJoin key ${l === undefined ? `'${k.left}' is not a left column (${names(left)})` : `'${k.right}' is not a column of the table (${names(right)})`}`,
        hint: 'name key columns that exist on both sides, e.g. on: "currency" or [{ left: "ccy", right: "currency" }]',
      };
    }
    if (!sameType(l.type, r.type) && !(isNumeric(l.type) && isNumeric(r.type)) && !(isText(l) && isText(r))) {
      return {
        rule: 'joinKeys',
        message: `temporalJoin key ${k.left} is ${fieldTypeToString(l)} on the left and ${k.right} is ${fieldTypeToString(r)} on the right`,
        hint: 'cast one side with withColumns so both keys have the same type',
      };
    }
  }
  return undefined;
}

function checkTimes(node: TemporalJoin, left: Schema, right: Schema, sides: JoinSides): BindProblem | undefined {
  const times = joinEventTimes(node);
  return (
    checkTime(times.left, left, `the left side (stage ${sides.left})`, 'leftEventTime') ??
    checkTime(times.right, right, `the table (right side, stage ${sides.right})`, 'rightEventTime')
  );
}

function checkTime(name: string | undefined, schema: Schema, side: string, option: string): BindProblem | undefined {
  if (name === undefined) {
    return {
      rule: 'eventTime',
      message: `temporalJoin: ${side} has no event-time column: its contract declares no eventTime`,
      hint: `declare eventTime: 'col' on its contract, or temporalJoin(table, { on, ${option}: 'col' })`,
    };
  }
  const f = schema.fields.find((x) => x.name === name);
  if (f === undefined || f.type.kind !== 'timestamp' || f.nullable) {
    return {
      rule: 'eventTime',
      message: `temporalJoin: event-time column '${name}' of ${side} ${f === undefined ? `is not one of its columns (${names(schema)})` : `is ${fieldTypeToString(f)}, not a required timestamp`}`,
      hint: `name a non-null timestamp column with ${option}, or cast it with withColumns first`,
    };
  }
  return undefined;
}

function checkDeletedWhen(node: TemporalJoin, right: Schema): BindProblem | undefined {
  if (node.deletedWhen === undefined) return undefined;
  const f = right.fields.find((x) => x.name === node.deletedWhen);
  if (f !== undefined && f.type.kind === 'bool') return undefined;
  return {
    rule: 'joinKeys',
    message: `temporalJoin: deletedWhen '${node.deletedWhen}' ${f === undefined ? `is not a column of the table (${names(right)})` : `is ${fieldTypeToString(f)}, not a boolean column`}`,
    hint: 'name a bool column of the table that is true on tombstones, e.g. withColumns({ deleted: col("op").eq("D") })',
  };
}

function isText(f: FieldType): boolean {
  return f.type.kind === 'string' || f.type.kind === 'enum';
}

function names(s: Schema): string {
  return s.fields.map((f: Field) => f.name).join(', ');
}
