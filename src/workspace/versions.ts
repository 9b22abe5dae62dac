/**
 * Output versions of a flow (issue 5, reprocessing by replay): version 1 is what `napkin run` writes; `napkin replay`
 * builds version k+1 from the log beside the live one (tables `name__v<k+1>`, files `stem__v<k+1>.ext`), then
 * switches each output to it. After the switch the active version lives under the dataset's own name again and the
 * previous one is kept as `name__v<k>` until dropped.
 *
 *   .napkin/flows/<flow>/versions.json   { active, from?, building?: { version, fingerprint, from, firstEpoch }, switching? }
 */
import { join } from 'node:path';
import type { Storage } from '../flow/storage.ts';
import { readJson, writeDurableJson } from './durable-json.ts';

export interface Build {
  readonly version: number;
  readonly fingerprint: string;
  /** Where the new version's input starts, per source dataset (offsets in its topic); absent: the generation start. */
  readonly from: Readonly<Record<string, number>>;
  /** The epoch that starts the new version's output, once planned. */
  readonly firstEpoch?: number;
  readonly startedAt: string;
}

export interface Versions {
  readonly format: 'napkin-output-versions';
  readonly formatVersion: 1;
  readonly active: number;
  /** Where the active version's input starts, per source dataset (set by the replay that built it). */
  readonly from?: Readonly<Record<string, number>>;
  readonly building?: Build;
  /** The build is complete and its outputs are being switched in (redone after a crash until done). */
  readonly switching?: boolean;
}

export function versionsPath(flowDir: string): string {
  return join(flowDir, 'versions.json');
}

export async function readVersions(flowDir: string): Promise<Versions> {
  const path = versionsPath(flowDir);
  const v = (await readJson(path)) as Versions | undefined;
  if (v === undefined) return { format: 'napkin-output-versions', formatVersion: 1, active: 1 };
  if (v.format !== 'napkin-output-versions' || v.formatVersion !== 1 || !Number.isSafeInteger(v.active))
    throw new Error(`${path} is not a napkin output-versions file; it is damaged`);
  return v;
}

export async function writeVersions(flowDir: string, v: Versions): Promise<void> {
  await writeDurableJson(versionsPath(flowDir), v);
}

/** The storage of version `version` of an output while it is built beside the active one. */
export function versionedStorage(st: Storage, version: number): Storage {
  switch (st.kind) {
    case 'duckdb':
    case 'postgres':
      return { ...st, table: `${st.table}__v${version}` };
    case 'csv':
    case 'jsonl':
    case 'parquet':
      return { ...st, path: versionedPath(st.path, version) };
    case 'kafka':
      // A topic cannot be renamed: every version appends to the dataset's topic (README, "Kafka").
      return st;
    case 'postgresCdc':
      throw new Error(`postgres ${st.table} is a change-data-capture source; it has no output versions`);
    default:
      return st satisfies never;
  }
}

/** `out/x.parquet` → `out/x__v2.parquet`. */
export function versionedPath(path: string, version: number): string {
  const slash = path.lastIndexOf('/');
  const dot = path.lastIndexOf('.');
  return dot > slash + 1 ? `${path.slice(0, dot)}__v${version}${path.slice(dot)}` : `${path}__v${version}`;
}
