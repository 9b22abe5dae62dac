import { existsSync } from 'node:fs';
import { Warehouse } from '../connectors/duckdb/warehouse.ts';

export interface QuarantineSummary {
  readonly dataset: string;
  readonly errorClass: string;
  /** Records still open (quarantined, not replayed). */
  readonly count: number;
  /** Records replayed (`napkin quarantine replay`). */
  readonly replayed: number;
  readonly last: string;
}

export interface QuarantineRecord {
  /** Stable id (runtime/quarantine.ts `quarantineId`): what `napkin quarantine replay --id` takes. */
  readonly id: string;
  /** `open`, or `replayed` once a replay re-injected it. */
  readonly status: string;
  /** Validation attempts: the ingestion that quarantined it, then each replay that tried it. */
  readonly attempts: number;
  readonly replayedAt: string | null;
  readonly flow: string;
  readonly stage: string;
  readonly source: string;
  readonly line: number | null;
  readonly record: number;
  readonly field: string | null;
  readonly errorClass: string;
  readonly expected: string;
  readonly found: string;
  readonly raw: string;
  readonly rawEncoding: string;
  readonly runId: string;
  readonly quarantinedAt: string;
}

/**
 * Each quarantined record once: the latest row per dataset and id. Every run of a bounded flow reads its input again
 * and records its bad records again, and two flows reading one dataset record the same record each.
 */
const LATEST = `(SELECT * FROM napkin_meta.quarantine
  QUALIFY row_number() OVER (PARTITION BY dataset, id ORDER BY quarantined_at DESC, run_id DESC, flow, stage) = 1)`;

/** Counts of quarantined records (each once) per dataset and error class: open and replayed. */
export async function listQuarantine(warehousePath: string): Promise<QuarantineSummary[]> {
  if (!existsSync(warehousePath)) return [];
  const w = await Warehouse.open(warehousePath);
  try {
    const rows = await w.rows(
      `SELECT dataset, error_class, count(*) FILTER (WHERE status = 'open') AS n,
         count(*) FILTER (WHERE status = 'replayed') AS replayed, CAST(max(quarantined_at) AS VARCHAR) AS last
       FROM ${LATEST} GROUP BY ALL ORDER BY dataset, error_class`,
    );
    return rows.map((r) => ({
      dataset: String(r.dataset),
      errorClass: String(r.error_class),
      count: Number(r.n),
      replayed: Number(r.replayed),
      last: String(r.last),
    }));
  } finally {
    w.close();
  }
}

/** The quarantined records of one dataset, each once (its latest row), newest first, in file order. */
export async function showQuarantine(
  warehousePath: string,
  dataset: string,
  limit: number,
): Promise<QuarantineRecord[]> {
  if (!existsSync(warehousePath)) return [];
  const w = await Warehouse.open(warehousePath);
  try {
    const rows = await w.rows(
      `SELECT *, CAST(quarantined_at AS VARCHAR) AS at, CAST(replayed_at AS VARCHAR) AS replayed FROM ${LATEST}
       WHERE dataset = $1 ORDER BY quarantined_at DESC, source, record LIMIT ${limit}`,
      [dataset],
    );
    return rows.map((r) => ({
      id: String(r.id),
      status: String(r.status),
      attempts: Number(r.attempts),
      replayedAt: r.replayed === null ? null : String(r.replayed),
      flow: String(r.flow),
      stage: String(r.stage),
      source: String(r.source),
      line: r.line === null ? null : Number(r.line),
      record: Number(r.record),
      field: r.field === null ? null : String(r.field),
      errorClass: String(r.error_class),
      expected: String(r.expected),
      found: String(r.found),
      raw: String(r.raw),
      rawEncoding: String(r.raw_encoding),
      runId: String(r.run_id),
      quarantinedAt: String(r.at),
    }));
  } finally {
    w.close();
  }
}
