import { createHash } from 'node:crypto';
import type { BoundFlow } from './bind.ts';
import type { Stage } from './stage.ts';

/**
 * The version of napkin's state layout. It is part of every fingerprint, so state written by another layout is never
 * taken for this one's (spec reliability §2.7).
 */
export const STATE_FORMAT_VERSION = 1;

/** Node fields that name other stages: the stage's `inputs` (ids) stand for them. */
const LINKS = new Set(['input', 'left', 'right', 'inputs']);

/**
 * The fingerprint of one version of a flow (spec reliability §2.7): a SHA-256 over a canonical, key-sorted form of
 * its stages in order (ids, kinds, operators, inputs, schemas, modes), every operator's definition (expressions,
 * aggregates and windowing as data; user functions by the hash of their source text), the contracts and storage of
 * the datasets it reads and writes (secrets appear as references such as `env:NAME`, never values), and the state
 * format version. Two processes running different logic, or the same logic on different contracts, get different
 * fingerprints; the same definition always gets the same one, whatever the object identities or key order.
 */
export function flowFingerprint(bound: BoundFlow): string {
  return createHash('sha256').update(canonicalFlow(bound)).digest('hex');
}

/** The first 12 hex digits, as shown to people. */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.slice(0, 12);
}

/** The text the fingerprint hashes: stable JSON, for tests and for showing what differs between two versions. */
export function canonicalFlow(bound: BoundFlow): string {
  return canonical({
    format: STATE_FORMAT_VERSION,
    flow: bound.flow.name,
    stages: bound.stages.map(stageForm),
  });
}

function stageForm(s: Stage): unknown {
  return {
    id: s.id,
    kind: s.kind,
    op: s.op,
    inputs: s.inputs,
    mode: s.mode,
    schema: s.schema ?? null,
    node: s.node === undefined ? null : withoutLinks(s.node),
    output: s.output === undefined ? null : withoutLinks(s.output),
    dataset: s.dataset ?? null,
    writeMode: s.writeMode ?? null,
  };
}

function withoutLinks(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (!LINKS.has(k)) out[k] = v;
  return out;
}

/**
 * JSON with object keys sorted, `undefined` left out, functions as the hash of their source text, and numbers that
 * JSON cannot hold (±∞, NaN) as tagged strings. Cycles cannot occur: plans are trees of plain data.
 */
export function canonical(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? JSON.stringify(value) : JSON.stringify(`#${value}`);
  if (typeof value === 'bigint') return JSON.stringify(`#${value}n`);
  if (typeof value === 'function') return JSON.stringify(`#fn:${sha(value.toString())}`);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(`#date:${value.toISOString()}`);
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

function sha(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
