import type { Command } from 'commander';
import { formatFinding, RULES } from '../../plan/findings.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

export function registerCheck(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('check')
    .description('validate every flow: expressions, contracts, graph, ownership and SLAs (exit 3 on errors)')
    .option('--json', 'print findings as JSON')
    .option('--strict', 'treat warnings as errors')
    .option('--rules', 'list every check with its code and severity, and exit')
    .addHelpText('after', '\nExamples:\n  napkin check\n  napkin check --json > findings.json')
    .action((opts: { json?: boolean; strict?: boolean; rules?: boolean }) =>
      guarded(set, async () => {
        if (opts.rules) {
          for (const r of Object.values(RULES))
            process.stdout.write(`${r.code}  ${r.severity.padEnd(7)}  ${r.title}\n`);
          return { code: EXIT.ok };
        }
        const ws = await openWorkspace(globals().project);
        const findings = ws.plan.findings;
        if (opts.json) process.stdout.write(`${JSON.stringify(findings, null, 2)}\n`);
        else {
          for (const f of findings) process.stdout.write(`${formatFinding(f)}\n`);
          const errors = findings.filter((f) => f.severity === 'error').length;
          const stages = ws.plan.flows.reduce((n, b) => n + b.stages.length, 0);
          process.stdout.write(
            `${errors} error(s), ${findings.length - errors} warning(s) in ${ws.plan.flows.length} flow(s), ${stages} stage(s), ${ws.plan.datasets.size} dataset(s)\n`,
          );
        }
        const failing = findings.some(
          (f) => f.severity === 'error' || (opts.strict === true && f.severity === 'warning'),
        );
        return { code: failing ? EXIT.checkFailed : EXIT.ok };
      }),
    );
}
