import { createRegistry } from '../expr/functions.ts';
import type { Value } from '../expr/types.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { formatFinding } from '../plan/findings.ts';
import { type FlowIO, type FlowResult, runFlow } from '../runtime/execute.ts';
import type { GeneratorOptions } from './generator.ts';
import type { NexmarkQuery } from './query.ts';
import { DATASETS, type EventKind } from './schema.ts';
import { newTally, openResultSink, type ResultSink } from './sinks.ts';
import { fileSource, SharedGenerator } from './sources.ts';

/** Where the events come from: the in-process generator, or an export written by `napkin nexmark generate`. */
export type NexmarkInput =
  | { readonly generate: GeneratorOptions }
  | { readonly file: string; readonly outOfOrder?: number; readonly rate?: number };

export interface NexmarkRunOptions {
  readonly query: NexmarkQuery;
  /** `stream`: sources publish watermarks and interleave, windows fire as time passes; `batch`: all input first. */
  readonly mode: 'batch' | 'stream';
  readonly input: NexmarkInput;
  readonly sink: ResultSink;
}

export interface NexmarkRunResult {
  readonly rows: number;
  readonly checksum: number;
  /** The result rows, for `sink: { kind: 'collect' }`. */
  readonly collected?: readonly Record<string, Value>[];
  readonly flow: FlowResult;
}

/** The default event rate (§3.1), which also sets how long auctions last. */
export const DEFAULT_RATE = 10_000;

/**
 * Runs one query as an ordinary napkin flow: `read` of each event kind, the query's relation, one sink. Nothing
 * about the query is special-cased: it binds, plans and runs like any user flow.
 */
export async function runNexmark(o: NexmarkRunOptions): Promise<NexmarkRunResult> {
  const q = o.query;
  const rate = 'generate' in o.input ? (o.input.generate.rate ?? DEFAULT_RATE) : (o.input.rate ?? DEFAULT_RATE);
  const rel = q.build(
    { person: read(DATASETS.person), auction: read(DATASETS.auction), bid: read(DATASETS.bid) },
    { rate },
  );
  const out = dataset(`nexmark.${q.name}`, { owner: 'nexmark', description: q.description });
  const f = flow({
    name: `nexmark_${q.name}`,
    owner: 'nexmark',
    sla: o.mode === 'stream' ? '1s' : '1d',
    outputs: [write(out, rel.stage('result'))],
  });
  const registry = createRegistry();
  const bound = bindFlow(f, registry);
  if (bound.findings.length > 0) throw new Error(`${q.name}: ${bound.findings.map(formatFinding).join('\n')}`);
  const columns = bound.stages.find((s) => s.id === 'result')?.schema?.fields.map((f) => f.name) ?? [];
  if (columns.join() !== q.columns.join())
    throw new Error(`${q.name} produces columns ${columns.join(', ')}; the spec says ${q.columns.join(', ')}`);
  const tally = newTally();
  const stream = o.mode === 'stream';
  const shared = 'generate' in o.input ? new SharedGenerator(o.input.generate, stream) : undefined;
  const io: FlowIO = {
    async openSource(stage) {
      const kind = kindOf(stage.dataset?.name);
      const input = o.input;
      return 'generate' in input || shared !== undefined
        ? (shared as SharedGenerator).source(kind)
        : fileSource(input.file, kind, stream, input.outOfOrder ?? 1);
    },
    async openSink() {
      return openResultSink(o.sink, columns, tally);
    },
    async runSql(stage) {
      throw new Error(`stage ${stage.id}: a Nexmark query has no SQL models`);
    },
    sqlInputs: () => [],
    quarantine(stage) {
      throw new Error(`stage ${stage.id}: generated and exported events always match their contract`);
    },
  };
  const result = await runFlow(bound, registry, io);
  return {
    rows: tally.rows,
    checksum: tally.checksum,
    ...(o.sink.kind === 'collect' ? { collected: tally.collected } : {}),
    flow: result,
  };
}

function kindOf(name: string | undefined): EventKind {
  for (const [kind, ds] of Object.entries(DATASETS)) if (ds.name === name) return kind as EventKind;
  throw new Error(
    `dataset ${name ?? '?'} is not a Nexmark event stream; read nexmark.person, nexmark.auction or nexmark.bid`,
  );
}
