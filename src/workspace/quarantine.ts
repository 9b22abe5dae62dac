import { existsSync } from 'node:fs';
import { Warehouse } from '../connectors/duckdb/warehouse.ts';

export interface QuarantineSummary {
  readonly dataset: string;
  readonly errorClass: string;
  readonly count: number;
  readonly last: string;
}

export interface QuarantineRecord {
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

/** Counts of quarantined records per dataset and error class. */
export async function listQuarantine(warehousePath: string): Promise<QuarantineSummary[]> {
  if (!existsSync(warehousePath)) return [];
  const w = await Warehouse.open(warehousePath);
  try {
    const rows = await w.rows(
      `SELECT dataset, error_class, count(*) AS n, CAST(max(quarantined_at) AS VARCHAR) AS last
       FROM napkin_meta.quarantine GROUP BY ALL ORDER BY dataset, error_class`,
    );
    return rows.map((r) => ({
      dataset: String(r.dataset),
      errorClass: String(r.error_class),
      count: Number(r.n),
      last: String(r.last),
    }));
  } finally {
    w.close();
  }
}

/** The quarantined records of one dataset, newest run first, in file order. */
export async function showQuarantine(
  warehousePath: string,
  dataset: string,
  limit: number,
): Promise<QuarantineRecord[]> {
  if (!existsSync(warehousePath)) return [];
  const w = await Warehouse.open(warehousePath);
  try {
    const rows = await w.rows(
      `SELECT *, CAST(quarantined_at AS VARCHAR) AS at FROM napkin_meta.quarantine WHERE dataset = $1
       ORDER BY quarantined_at DESC, source, record LIMIT ${limit}`,
      [dataset],
    );
    return rows.map((r) => ({
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
