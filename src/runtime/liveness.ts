import { columnsOf } from '../expr/ast.ts';
import type { Schema } from '../expr/types.ts';
import { eventTimeOf } from '../flow/rel.ts';
import type { Stage } from '../plan/stage.ts';

/**
 * Which output columns of each stage some downstream stage reads, by position. A source still checks every field
 * of its contract (a bad value in an unread column is still quarantined), but need not hand the column on, and a
 * filter need not copy it: in `read → filter → groupBy(a).agg(sum(b))` only `a`, `b` and the filter's own columns
 * travel. Stages whose use of columns is not modelled here (joins, unions, dedupe, map, sinks, SQL) read all of
 * their inputs' columns, so an unread column is only ever skipped where that is certain.
 */
export function liveColumns(stages: readonly Stage[]): Map<string, boolean[]> {
  const byId = new Map(stages.map((s) => [s.id, s]));
  const live = new Map(stages.map((s) => [s.id, new Array<boolean>(s.schema?.fields.length ?? 0).fill(false)]));
  // A windowed aggregate whose dropped records are read hands on whole input rows, so it reads every input column.
  const dropsRead = new Set(stages.filter((s) => s.node?.op === 'lateRecords').flatMap((s) => s.inputs));
  // Consumers come after their inputs in a flow's stage list, but a fixpoint does not depend on that order.
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = stages.length - 1; k >= 0; k--) {
      const t = stages[k];
      t.inputs.forEach((id, port) => {
        const input = byId.get(id);
        const mark = live.get(id);
        if (input?.schema === undefined || mark === undefined) return;
        const read = dropsRead.has(t.id)
          ? input.schema.fields.map((_, c) => c)
          : readColumns(t, port, input.schema, live.get(t.id) ?? []);
        for (const c of read) {
          if (!mark[c]) {
            mark[c] = true;
            changed = true;
          }
        }
      });
    }
  }
  return live;
}

/** Positions of the columns of `input` that stage `t` reads through port `port`, given which of its outputs are live. */
function readColumns(t: Stage, port: number, input: Schema, tLive: readonly boolean[]): number[] {
  const all = input.fields.map((_, c) => c);
  const node = t.node;
  if (t.kind !== 'transform' || node === undefined || t.schema === undefined || port !== 0) return all;
  const at = new Map(input.fields.map((f, c) => [f.name, c]));
  const positions = (names: readonly string[]): number[] | null => {
    const out: number[] = [];
    for (const n of names) {
      const c = at.get(n);
      if (c === undefined) return null;
      out.push(c);
    }
    return out;
  };
  let names: string[];
  switch (node.op) {
    case 'filter':
      names = [...input.fields.filter((_, c) => tLive[c]).map((f) => f.name), ...columnsOf(node.predicate)];
      break;
    case 'select':
      names = node.columns.flatMap((col, k) => (tLive[k] ? columnsOf(col.expr) : []));
      break;
    case 'withColumns': {
      names = [];
      t.schema.fields.forEach((f, k) => {
        if (!tLive[k]) return;
        const computed = node.columns.find((col) => col.name === f.name);
        if (computed === undefined) names.push(f.name);
        else columnsOf(computed.expr, names);
      });
      break;
    }
    case 'aggregate':
      names = [...node.keys, ...node.aggs.flatMap((a) => (a.agg.arg === undefined ? [] : columnsOf(a.agg.arg)))];
      if (node.windowing !== undefined) names.push(eventTimeOf(node) ?? '');
      break;
    default:
      return all;
  }
  // A name the schema does not have cannot happen in a bound flow; reading everything is the safe answer anyway.
  return positions(names) ?? all;
}
