import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportEvents } from '../../src/nexmark/export.ts';
import type { GeneratorOptions } from '../../src/nexmark/generator.ts';
import { type NexmarkInput, runNexmark } from '../../src/nexmark/run.ts';
import { diffResults } from './harness.ts';
import { queries } from './queries.ts';
import { loadReference, type ReferenceDb } from './reference.ts';

/**
 * Every query over generated exports, in batch and in stream mode, against the reference SQL over the same file: in
 * order and shuffled in blocks of 100 at the default rate, and a smaller one at 200 events/s, whose 100 s of event
 * time give q5, q7, q8 and q11 many windows and sessions. One mode reads the export and the other takes the same
 * events from the in-process generator, alternating per export, so both sources meet both modes and the reference.
 */
/** `npm test` checks 50,000 events; CI's larger check sets NEXMARK_EVENTS (the slow-rate export scales with it). */
const N = Number(process.env.NEXMARK_EVENTS ?? 50_000);
const EXPORTS: readonly { readonly name: string; readonly generate: GeneratorOptions; readonly fileMode: Mode }[] = [
  { name: 'in order', generate: { events: N, rate: 10_000 }, fileMode: 'stream' },
  { name: 'out of order 100', generate: { events: N, rate: 10_000, outOfOrder: 100 }, fileMode: 'batch' },
  { name: '200 events/s', generate: { events: Math.round(N * 0.4), rate: 200 }, fileMode: 'stream' },
];

type Mode = 'batch' | 'stream';

const dir = mkdtempSync(join(tmpdir(), 'napkin-nexmark-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const [n, x] of EXPORTS.entries()) {
  describe(`nexmark over a generated export (${x.name}) equals the reference SQL`, () => {
    const file = join(dir, `events-${n}.jsonl`);
    const rate = x.generate.rate ?? 10_000;
    let db: ReferenceDb;
    before(async () => {
      await exportEvents(x.generate, file);
      db = await loadReference(file);
    });
    after(() => db.close());

    const inputs: readonly { readonly mode: Mode; readonly input: NexmarkInput }[] = (['batch', 'stream'] as const).map(
      (mode) => ({
        mode,
        input: mode === x.fileMode ? { file, rate, outOfOrder: x.generate.outOfOrder ?? 1 } : { generate: x.generate },
      }),
    );
    for (const q of Object.values(queries)) {
      for (const run of inputs) {
        const what = 'generate' in run.input ? 'generator' : 'file';
        test(`${q.name} ${run.mode} from the ${what}`, async () => {
          const ref = await db.result(q.name);
          const got = await runNexmark({ query: q, mode: run.mode, input: run.input, sink: { kind: 'collect' } });
          assert.equal(diffResults(got.collected ?? [], ref.rows, ref.columns, ref.doubles), undefined);
          assert.equal(
            got.flow.stages.reduce((sum, s) => sum + s.metrics.lateDropped, 0),
            0,
            'a stage dropped rows as late',
          );
        });
      }
    }
  });
}
