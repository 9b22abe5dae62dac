import type { Command } from 'commander';
import { listQuarantine, showQuarantine } from '../../workspace/quarantine.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

export function registerQuarantine(program: Command, globals: Globals, set: SetOutcome): void {
  const q = program.command('quarantine').description('inspect records refused at the boundary');
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
            process.stdout.write(
              `${r.dataset.padEnd(28)} ${String(r.count).padStart(6)}  ${r.errorClass.padEnd(10)} last ${r.last}\n`,
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
            process.stdout.write(
              `${where}  ${r.field ?? '(record)'}  ${r.errorClass}: expected ${r.expected}, found ${r.found}\n    ${r.rawEncoding === 'utf8' ? r.raw : `base64:${r.raw}`}\n`,
            );
          }
        }
        return { code: EXIT.ok };
      }),
    );
}
