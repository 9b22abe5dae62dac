import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { openTextSource } from '../connectors/files/text-source.ts';
import { type Contract, contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { jsonl } from '../flow/storage.ts';
import type { QuarantineEntry } from '../runtime/quarantine.ts';
import { quarantineId } from '../runtime/quarantine.ts';
import { ingestFiles } from './ingest.ts';
import { openLogSource } from './log-source.ts';
import { type Fix, replayQuarantine } from './quarantine-replay.ts';
import { kindOf, topicDir } from './topic.ts';
import { Topic } from './topic-log.ts';
import type { Workspace } from './workspace.ts';

// Replays over one topic (issue 5), any sequence of them: contract widenings, replays of all or some ids, corrected
// records, the same ids again, and replays whose topic state cache was lost after the append (a crash before the
// cache write: the next open catches up from the log). Afterwards a read of the generation from its start has every
// record exactly once, as a row or as a quarantine entry, and the rows are exactly the records valid at ingestion
// plus those a replay let through; a read split into epochs at any chunk boundaries has the same rows, once each.

const SYMBOLS = ['a', 'b', 'c', 'd'];
const NAME = 'p.events';

function contractOf(symbols: readonly string[]): Contract {
  return contract({ key: ['id'], fields: { id: t.int64(), status: t.enum('S', symbols), qty: t.int64() } });
}

interface Rec {
  readonly id: number;
  readonly status: string;
  readonly badQty: boolean;
}

type Step =
  | { readonly kind: 'widen'; readonly symbol: string }
  | {
      readonly kind: 'replay';
      /** Which open-or-not record ids to name (empty: all). */
      readonly pick: readonly number[];
      /** Give corrected records for these ids (qty fixed, status kept). */
      readonly fix: readonly number[];
      /** Lose the topic state cache written by this replay. */
      readonly loseCache: boolean;
    };

const recs = fc.array(fc.record({ status: fc.constantFrom(...SYMBOLS), badQty: fc.boolean() }), {
  minLength: 1,
  maxLength: 12,
});
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('widen' as const), symbol: fc.constantFrom('c', 'd') }),
  fc.record({
    kind: fc.constant('replay' as const),
    pick: fc.array(fc.nat(11), { maxLength: 4 }),
    fix: fc.array(fc.nat(11), { maxLength: 3 }),
    loseCache: fc.boolean(),
  }),
);

interface Read {
  readonly rows: number[];
  readonly entries: QuarantineEntry[];
}

async function readRange(topic: Topic, c: Contract, from: number, to: number): Promise<Read> {
  const rows: number[] = [];
  const entries: QuarantineEntry[] = [];
  for await (const chunk of openLogSource(topic, c, { from, to }, undefined).chunks()) {
    for (let i = 0; i < chunk.batch.length; i++) rows.push(chunk.batch.columns[0][i] as number);
    entries.push(...chunk.rejected);
  }
  return { rows, entries };
}

/** Offsets just past each marker of the current generation: where epochs may end. */
async function boundaries(topic: Topic): Promise<number[]> {
  const out: number[] = [];
  for (const r of await topic.read(topic.state.generation, topic.state.end - topic.state.generation))
    if (kindOf(r) === 'marker' && r.offset > topic.state.generation) out.push(r.offset + 1);
  return out;
}

test('any sequence of replays leaves every record once: as a row or in the quarantine', async () => {
  await fc.assert(
    fc.asyncProperty(
      recs,
      fc.array(step, { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 4 }),
      async (rs, steps, cuts) => {
        const root = mkdtempSync(join(tmpdir(), 'napkin-qreplay-prop-'));
        try {
          const records: Rec[] = rs.map((r, i) => ({ id: i, ...r }));
          const lines = records.map((r) => JSON.stringify({ id: r.id, status: r.status, qty: r.badQty ? 'x' : r.id }));
          writeFileSync(join(root, 'e.jsonl'), `${lines.join('\n')}\n`);
          const stateDir = join(root, '.napkin');
          let symbols = ['a', 'b'];
          const topicPath = topicDir(stateDir, NAME);
          {
            const topic = await Topic.open(topicPath, NAME);
            const c = contractOf(symbols);
            await ingestFiles(topic, c, [{ path: join(root, 'e.jsonl'), name: 'e.jsonl' }], (f) =>
              Promise.resolve(openTextSource({ format: 'jsonl', files: [f.path], display: () => f.name, contract: c })),
            );
            await topic.close();
          }
          const idOf = (r: Rec) => quarantineId(NAME, { source: 'e.jsonl', record: r.id + 1, raw: lines[r.id] });
          const valid = (r: Rec, fixed: boolean) => symbols.includes(r.status) && (!r.badQty || fixed);
          // The model: which records are rows.
          const isRow = new Set(records.filter((r) => valid(r, false)).map((r) => r.id));
          for (const s of steps) {
            if (s.kind === 'widen') {
              if (!symbols.includes(s.symbol)) symbols = [...symbols, s.symbol];
              continue;
            }
            // Quarantined at ingestion, under the first contract: only they can be replayed.
            const bad = records.filter((r) => !(['a', 'b'].includes(r.status) && !r.badQty));
            const picked = s.pick.map((i) => bad[i % Math.max(1, bad.length)]).filter((r) => r !== undefined);
            const fixes: Fix[] = s.fix
              .map((i) => bad[i % Math.max(1, bad.length)])
              .filter((r): r is Rec => r !== undefined)
              .filter((r, k, all) => all.findIndex((x) => x.id === r.id) === k)
              .map((r) => ({ id: idOf(r), record: { id: r.id, status: r.status, qty: r.id }, at: `fix ${r.id}` }));
            // A record picked twice is one target: its outcome is judged once, before the model counts it a row.
            const targets = [
              ...new Map(
                (fixes.length > 0
                  ? fixes.map((f) => records[f.record.id as number])
                  : picked.length > 0
                    ? picked
                    : bad
                ).map((r) => [r.id, r]),
              ).values(),
            ];
            const ids = fixes.length > 0 ? [] : [...new Set(picked.map(idOf))];
            const ds = dataset(NAME, { storage: jsonl('e.jsonl'), contract: contractOf(symbols) });
            const ws = {
              root,
              project: { name: 'p' },
              plan: { datasets: new Map([[NAME, { dataset: ds }]]) },
              warehousePath: ':memory:',
            } as unknown as Workspace;
            const cache = join(topicPath, 'topic.json');
            const before = readFileSync(cache);
            const report = await replayQuarantine(ws, {
              dataset: NAME,
              stateDir,
              ...(ids.length > 0 ? { ids } : {}),
              ...(fixes.length > 0 ? { fixes } : {}),
            });
            if (s.loseCache) writeFileSync(cache, before);
            for (const r of targets) {
              const fixed = fixes.some((f) => f.record.id === r.id);
              const outcome = report.outcomes.find((o) => o.id === idOf(r));
              assert.ok(outcome !== undefined, `an outcome for record ${r.id}`);
              if (isRow.has(r.id)) assert.equal(outcome.kind, 'already', `record ${r.id} was replayed before`);
              else if (valid(r, fixed)) {
                assert.equal(outcome.kind, 'replayed', `record ${r.id} passes now`);
                isRow.add(r.id);
              } else assert.equal(outcome.kind, 'failing', `record ${r.id} still fails`);
            }
          }
          const topic = await Topic.open(topicPath, NAME);
          try {
            const c = contractOf(symbols);
            const { generation, end } = topic.state;
            const whole = await readRange(topic, c, generation, end);
            assert.deepEqual(
              [...whole.rows].sort((a, b) => a - b),
              [...isRow].sort((a, b) => a - b),
              'rows',
            );
            assert.deepEqual(
              whole.entries.map((e) => e.record - 1).sort((a, b) => a - b),
              records.filter((r) => !isRow.has(r.id)).map((r) => r.id),
              'the quarantine holds the rest, once each',
            );
            // Epochs ending at random chunk boundaries: the same rows, once each.
            const marks = await boundaries(topic);
            const ends = [...new Set(cuts.map((k) => marks[k % marks.length]))].sort((a, b) => a - b);
            const split: number[] = [];
            let from = generation;
            for (const to of [...ends.filter((x) => x < end), end]) {
              split.push(...(await readRange(topic, c, from, to)).rows);
              from = to;
            }
            assert.deepEqual(
              split.sort((a, b) => a - b),
              [...isRow].sort((a, b) => a - b),
              `split at ${ends.join(', ')}`,
            );
          } finally {
            await topic.close();
          }
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 40 },
  );
});
