import type { Command } from 'commander';
import { shortFingerprint } from '../../plan/fingerprint.ts';
import { type FlowStatus, projectStatus } from '../../workspace/status.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

/** `napkin status`: per flow its health against the SLA, who runs it and which version, and the last run's counts. */
export function registerStatus(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('status')
    .description('per flow and stage: health against the SLA, running version, last commit and record counts')
    .option('--json', 'print the status as JSON')
    .addHelpText(
      'after',
      '\nExit code 0 whatever the health: scripts read --json.\n\nExamples:\n  napkin status\n  napkin status --json',
    )
    .action((opts: { json?: boolean }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        const status = await projectStatus(ws);
        if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        else {
          if (status.warehouse === 'busy')
            process.stdout.write('(the warehouse is in use by a run: counts are from before it)\n');
          for (const f of status.flows) process.stdout.write(formatFlow(f));
        }
        return { code: EXIT.ok };
      }),
    );
}

function formatFlow(f: FlowStatus): string {
  const running =
    f.running === undefined
      ? 'not running'
      : `running: pid ${f.running.pid}, ownership epoch ${f.running.ownershipEpoch}, fingerprint ${shortFingerprint(f.running.fingerprint)}${f.running.foreign ? ' FOREIGN' : ''}`;
  const head = `${f.flow}  ${f.health}  ${f.reason}\n  fingerprint ${shortFingerprint(f.fingerprint)}  ${running}\n`;
  const rows = [['stage', 'mode', 'sla', 'in', 'out', 'quarantined', 'late-dropped']];
  for (const s of f.stages) {
    const c = s.counts;
    rows.push([
      s.stage,
      s.mode,
      s.sla,
      ...(c === undefined ? ['-', '-', '-', '-'] : [c.in, c.out, c.quarantined, c.lateDropped].map(String)),
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const table = rows.map(
    (r) => `  ${r.map((v, i) => (i < 3 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')}`,
  );
  return `${head}${table.join('\n')}\n\n`;
}
