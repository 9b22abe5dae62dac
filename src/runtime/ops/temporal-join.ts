import { fieldIndex, type Schema, type Value } from '../../expr/types.ts';
import { joinEventTimes, type RelNode } from '../../flow/rel.ts';
import { encodeKeyPart } from '../../state/group-index.ts';
import { VersionedTable, type VersionedTableSize, type VersionRow } from '../../state/versioned-table.ts';
import { type RowColumns, WaitingRows } from '../../state/waiting-rows.ts';
import type { Batch, Column } from '../batch.ts';
import type { Operator, Output, StageMetrics } from '../operator.ts';
import { restoreFields } from '../state-codec.ts';
import { MinWatermark, sendStatus } from '../watermark.ts';

/** Port 0 is the stream (left), port 1 the table's changelog (right). Columns are positions in each input. */
export interface TemporalJoinSpec {
  readonly how: 'inner' | 'left';
  readonly leftKeys: readonly number[];
  readonly rightKeys: readonly number[];
  readonly leftTime: number;
  readonly rightTime: number;
  /** The right boolean column that marks a version as a tombstone, or −1. */
  readonly deletedWhen: number;
  /** Right columns appended to the left ones in the output, in order. */
  readonly rightOutput: readonly number[];
  readonly leftWidth: number;
}

/** What the join holds: the table's versions and the left rows waiting for the table's watermark. */
export interface TemporalJoinStateSize extends VersionedTableSize {
  readonly waiting: number;
}

/**
 * Event-time temporal join: each left row at time t meets the right version of its key valid at t (the greatest
 * version time ≤ t), so the answer depends only on event times, never on arrival order. A left row is answered once
 * the right watermark is past t (M4: the table is then complete up to t); until then it waits. Versions behind the
 * right watermark, and left rows behind the left watermark, are late: they could change or miss answers already
 * given, so they are dropped and counted (`lateDropped`). A bounded right input without a watermark strategy keeps
 * its watermark at −∞ until it ends, so every left row waits for its end: the batch answer, at the cost of memory.
 * The output watermark is min(left, right, earliest waiting row) and rows keep the left row's event time.
 *
 * All state is in `table`, `waiting` and `wm`, plain structures a checkpoint can save.
 */
export class TemporalJoinOperator implements Operator {
  readonly table = new VersionedTable();
  readonly waiting = new WaitingRows();
  readonly wm = new MinWatermark(2);

  constructor(
    private readonly spec: TemporalJoinSpec,
    private readonly out: Output,
    private readonly m: StageMetrics,
  ) {}

  push(port: number, batch: Batch): void {
    this.m.in += batch.length;
    if (port === 0) this.pushLeft(batch);
    else this.pushRight(batch);
  }

  watermark(port: number, w: number): void {
    this.advance(this.wm.set(port, w));
  }

  /**
   * An idle table counts as unchanged up to the combined watermark (M7.3): waiting rows are answered with the versions
   * it has, and a version arriving later below that watermark is late, as any record of a rejoining input (M7.4).
   */
  idle(port: number, idle: boolean): void {
    this.advance(this.wm.setIdle(port, idle));
  }

  private advance(wasIdle: boolean): void {
    // Rows are answered before the horizon moves past them; waiting rows hold it, so their versions stay.
    this.release();
    this.table.advance(Math.min(this.wm.effective(0), this.waiting.minTime), this.wm.effective(1));
    // Waiting rows are at or above the right side's watermark, which the combined one may pass: they hold the output.
    sendStatus(this.out, wasIdle, this.wm.allIdle, this.wm.publish(Math.min(this.wm.current, this.waiting.minTime)));
  }

  snapshot(): unknown {
    return { table: this.table, waiting: this.waiting, wm: this.wm };
  }

  restore(state: unknown): void {
    const s = state as { table: VersionedTable; waiting: WaitingRows; wm: MinWatermark };
    restoreFields(this.table, s.table, 'temporal join');
    restoreFields(this.waiting, s.waiting, 'temporal join');
    restoreFields(this.wm, s.wm, 'temporal join');
  }

  stateSize(): TemporalJoinStateSize {
    return { ...this.table.stateSize(), waiting: this.waiting.size };
  }

  private pushLeft(batch: Batch): void {
    const times = batch.columns[this.spec.leftTime];
    const leftWm = this.wm.effective(0);
    const rightWm = this.wm.effective(1);
    const ready: number[] = [];
    const held = new Int32Array(batch.length);
    let nHeld = 0;
    for (let i = 0; i < batch.length; i++) {
      const t = times[i] as number;
      if (t < leftWm) this.m.lateDropped++;
      else if (t < rightWm) ready.push(i);
      else held[nHeld++] = i;
    }
    if (ready.length > 0) this.emit(new Array<RowColumns>(ready.length).fill(batch.columns), ready);
    this.waiting.add(batch.columns, times, held, nHeld);
  }

  private pushRight(batch: Batch): void {
    const { rightTime, rightKeys, rightOutput, deletedWhen } = this.spec;
    const times = batch.columns[rightTime];
    const flags = deletedWhen < 0 ? null : batch.columns[deletedWhen];
    for (let j = 0; j < batch.length; j++) {
      const t = times[j] as number;
      if (t < this.table.settled) {
        this.m.lateDropped++;
        continue;
      }
      const key = keyAt(batch.columns, rightKeys, j);
      if (key === null) continue; // a null key can never match
      this.table.put(key, t, flags !== null && flags[j] === true ? null : versionRow(batch, rightOutput, j));
    }
  }

  private release(): void {
    const sets: RowColumns[] = [];
    const rows: number[] = [];
    if (this.waiting.release(this.wm.effective(1), sets, rows) > 0) this.emit(sets, rows);
  }

  /** Joins left rows (row `rows[k]` of `sets[k]`) with the table as of their times, and pushes them as one batch. */
  private emit(sets: readonly RowColumns[], rows: readonly number[]): void {
    const { leftKeys, leftTime, leftWidth, rightOutput, how } = this.spec;
    const n = rows.length;
    const matches: VersionRow[] = new Array(n);
    const kept = new Int32Array(n);
    let nKept = 0;
    for (let k = 0; k < n; k++) {
      const cols = sets[k];
      const r = rows[k];
      const key = keyAt(cols, leftKeys, r);
      const match = key === null ? null : this.table.lookup(key, cols[leftTime][r] as number);
      if (match === null && how === 'inner') continue;
      matches[k] = match;
      kept[nKept++] = k;
    }
    if (nKept === 0) return;
    const columns: Column[] = [];
    for (let c = 0; c < leftWidth; c++) {
      const col: Column = new Array(nKept);
      for (let q = 0; q < nKept; q++) col[q] = sets[kept[q]][c][rows[kept[q]]];
      columns.push(col);
    }
    for (let j = 0; j < rightOutput.length; j++) {
      const col: Column = new Array(nKept);
      for (let q = 0; q < nKept; q++) {
        const v = matches[kept[q]];
        col[q] = v === null ? null : v[j];
      }
      columns.push(col);
    }
    this.out.push({ length: nKept, columns });
  }
}

/** The operator for a spec given by positions (tests build it directly). */
export function temporalJoinOperator(spec: TemporalJoinSpec, out: Output, m: StageMetrics): TemporalJoinOperator {
  return new TemporalJoinOperator(spec, out, m);
}

/** The operator of a bound `temporalJoin` stage, column names resolved to positions. */
export function buildTemporalJoin(
  node: Extract<RelNode, { op: 'temporalJoin' }>,
  left: Schema,
  right: Schema,
  out: Output,
  m: StageMetrics,
): TemporalJoinOperator {
  const shared = new Set(node.on.filter((k) => k.left === k.right).map((k) => k.right));
  const times = joinEventTimes(node);
  return temporalJoinOperator(
    {
      how: node.how,
      leftKeys: node.on.map((k) => fieldIndex(left, k.left)),
      rightKeys: node.on.map((k) => fieldIndex(right, k.right)),
      leftTime: fieldIndex(left, times.left as string),
      rightTime: fieldIndex(right, times.right as string),
      deletedWhen: node.deletedWhen === undefined ? -1 : fieldIndex(right, node.deletedWhen),
      rightOutput: right.fields.flatMap((f, i) => (shared.has(f.name) || f.name === node.deletedWhen ? [] : [i])),
      leftWidth: left.fields.length,
    },
    out,
    m,
  );
}

/** The right output values of row j, kept as the version's row. */
function versionRow(batch: Batch, columns: readonly number[], j: number): Value[] {
  const row: Value[] = new Array(columns.length);
  for (let c = 0; c < columns.length; c++) row[c] = batch.columns[columns[c]][j];
  return row;
}

/**
 * The key of row `i` over the key columns, encoded alike on both sides (as `rowKey` does), or null when a key part is
 * null: nulls match nothing.
 */
function keyAt(columns: RowColumns, keys: readonly number[], i: number): Value {
  if (keys.length === 1) {
    const v = columns[keys[0]][i];
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : v;
  }
  let k = '';
  for (const c of keys) {
    const v = columns[c][i];
    if (v === null) return null;
    k += encodeKeyPart(v);
  }
  return k;
}
