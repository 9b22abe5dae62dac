import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { listQuarantine, showQuarantine } from '../../workspace/quarantine.ts';
import {
  FIX_ID_KEY,
  type Fix,
  parseFixFile,
  type ReplayOutcome,
  type ReplayReport,
  ReplayUsageError,
  replayQuarantine,
} from '../../workspace/quarantine-replay.ts';
import { STATE_DIR } from '../../workspace/run.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

export function registerQuarantine(program: Command, globals: Globals, set: SetOutcome): void {
  const q = program.command('quarantine').description('inspect and replay records refused at the boundary');
  q.command('list')
    .description('quarantined record counts per dataset and error class')
    .option('--json', 'print as JSON')
    .action((opts: { json?: boolean }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        const rows = await listQuarantine(ws.warehousePath);
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else if (rows.length === 0) process.stdout.write('the quarantine is empty\n');
        else {
          for (const r of rows) {
            const replayed = r.replayed > 0 ? `  (${r.replayed} replayed)` : '';
            process.stdout.write(
              `${r.dataset.padEnd(28)} ${String(r.count).padStart(6)}  ${r.errorClass.padEnd(10)} last ${r.last}${replayed}\n`,
            );
          }
        }
        return { code: EXIT.ok };
      }),
    );
  q.command('show')
    .description("a dataset's quarantined records: where, which field, expected and found, the original record")
    .argument('<dataset>', 'dataset name, e.g. shop.orders')
    .option('--limit <n>', 'show at most n records', '50')
    .option('--json', 'print as JSON')
    .action((dataset: string, opts: { limit: string; json?: boolean }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        if (!ws.plan.datasets.has(dataset))
          throw new Error(`unknown dataset ${dataset}; the project has ${[...ws.plan.datasets.keys()].join(', ')}`);
        const limit = Number.parseInt(opts.limit, 10);
        if (!Number.isInteger(limit) || limit < 1)
          throw new Error(`--limit takes a positive whole number, got ${opts.limit}`);
        const rows = await showQuarantine(ws.warehousePath, dataset, limit);
        if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else if (rows.length === 0) process.stdout.write(`no quarantined records for ${dataset}\n`);
        else {
          for (const r of rows) {
            const where = r.line === null ? `${r.source} record ${r.record}` : `${r.source}:${r.line}`;
            const status = `${r.status === 'replayed' ? `replayed ${r.replayedAt ?? ''}` : 'open'}, attempts ${r.attempts}`;
            process.stdout.write(
              `${where}  ${r.field ?? '(record)'}  ${r.errorClass}: expected ${r.expected}, found ${r.found}\n    id ${r.id}  ${status}\n    ${r.rawEncoding === 'utf8' ? r.raw : `base64:${r.raw}`}\n`,
            );
          }
        }
        return { code: EXIT.ok };
      }),
    );
  q.command('replay')
    .description('re-inject quarantined records that now pass the contract into the dataset, keeping their ids')
    .argument('<dataset>', 'dataset name, e.g. shop.orders')
    .option('--id <id...>', 'only these quarantine ids (as `napkin quarantine show` prints them)')
    .option('--file <fixed.jsonl>', `corrected records: one JSON object per line, each with its ${FIX_ID_KEY}`)
    .option('--dry-run', 'validate and report; append and record nothing')
    .addHelpText('after', REPLAY_HELP)
    .action((dataset: string, opts: { id?: string[]; file?: string; dryRun?: boolean }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        let report: ReplayReport;
        try {
          let fixes: Fix[] | undefined;
          if (opts.file !== undefined) {
            const text = await readFile(opts.file, 'utf8').catch((e: NodeJS.ErrnoException) => {
              throw new ReplayUsageError(`--file ${opts.file}: cannot read it (${e.code ?? e.message})`);
            });
            fixes = parseFixFile(text, opts.file);
          }
          report = await replayQuarantine(ws, {
            dataset,
            stateDir: join(ws.root, STATE_DIR),
            ...(opts.id === undefined ? {} : { ids: opts.id }),
            ...(fixes === undefined ? {} : { fixes }),
            dryRun: opts.dryRun === true,
          });
        } catch (e) {
          if (!(e instanceof ReplayUsageError)) throw e;
          process.stderr.write(`napkin: ${e.message}\n`);
          return { code: EXIT.usage };
        }
        process.stdout.write(formatReplay(report));
        return { code: report.failing > 0 ? EXIT.failure : EXIT.ok };
      }),
    );
}

const REPLAY_HELP = `
By default every open quarantined record of the dataset's current input is validated again, from its original
text, under the contract as it is now: fix the contract (widen an enum, make a field optional), then replay. With
--file, the records given replace the original text of the ids they name (JSON values, as in a JSON Lines file);
a corrected record must keep the record's key.

Records that now pass are appended to the dataset's topic in one atomic chunk whose marker names the quarantine
ids they resolve: every flow reading the dataset has them at its next run or epoch, exactly once (a replayed id is
never appended again, and a crash in between is settled by running the command again, or by the next run). Records
that still fail stay quarantined with their new error and one more attempt.

Bounded files: replayed records belong to the current generation of the dataset's input and are kept as each run
recomputes it. When a source file changes, the files are ingested again as a new generation and the fixes are
carried: a replayed record that the new input still holds unchanged at the same place, and that is quarantined
again, is replayed into it by itself (with its corrected record, if one was given). A record corrected in the file
itself is read as an ordinary row; one that moved or changed in the file gets a new id and must be replayed again.

A replay is refused while a run holds the dataset (a live flow reading it): stop the run first; its next epoch has
the replayed records.

Output: one line per record (replayed, still failing, already replayed), then a summary.
Exit codes: 0 every record selected replayed (or already replayed), 1 some still fail or an error, 2 a usage error
(an unknown id, a malformed --file).

Examples:
  napkin quarantine replay shop.orders --dry-run
  napkin quarantine replay shop.orders --id 9dac3267fbd3
  napkin quarantine replay shop.orders --file fixed.jsonl
    (fixed.jsonl: {"${FIX_ID_KEY}":"9dac3267fbd3","order_id":"O900001","amount":"12.00",...})
`;

function formatReplay(r: ReplayReport): string {
  const label = (o: ReplayOutcome): string => {
    if (o.kind === 'replayed') return r.dryRun ? 'would replay' : 'replayed';
    if (o.kind === 'failing') return r.dryRun ? 'would fail' : 'still failing';
    return 'already replayed';
  };
  const lines = r.outcomes.map((o) => {
    const base = `${label(o).padEnd(16)} ${o.id}  ${o.where}${o.fixed ? '  (corrected record)' : ''}`;
    if (o.error === undefined) return base;
    const e = o.error;
    return `${base}  ${e.field ?? '(record)'} ${e.errorClass}: expected ${e.expected}, found ${e.found} (attempt ${o.attempts})`;
  });
  const reasons = new Map<string, number>();
  for (const o of r.outcomes) {
    if (o.error === undefined) continue;
    const k = `${o.error.errorClass} ${o.error.field ?? '(record)'}`;
    reasons.set(k, (reasons.get(k) ?? 0) + 1);
  }
  const why = reasons.size === 0 ? '' : ` (${[...reasons].map(([k, n]) => `${k}: ${n}`).join(', ')})`;
  const summary = r.dryRun
    ? `${r.dataset}, dry run, nothing written: ${r.replayed} would be replayed, ${r.failing} would still fail${why}, ${r.already} already replayed`
    : `${r.dataset}: ${r.replayed} replayed, ${r.failing} still failing${why}, ${r.already} already replayed`;
  const hints: string[] = [];
  if (r.outcomes.length === 0) hints.push(`nothing is quarantined in the current input of ${r.dataset}`);
  if (r.failing > 0)
    hints.push(
      `to fix the rest: change the contract, or give corrected records with --file (one JSON object per line with its ${FIX_ID_KEY}), and replay again`,
    );
  if (r.replayed > 0 && !r.dryRun) hints.push(`flows reading ${r.dataset} include them from their next run`);
  return `${[...lines, summary, ...hints].join('\n')}\n`;
}
