import type { Command } from 'commander';
import { dropVersion, listVersions } from '../../workspace/replay.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

/** `napkin versions FLOW`: the output versions `napkin replay` made, and `--drop N` for an old one. */
export function registerVersions(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('versions')
    .description("a flow's output versions: the active one, old ones kept by replays, a build in progress")
    .argument('<flow>', 'the flow')
    .option('--drop <version>', 'drop a kept old version of every output of the flow')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExamples:\n  napkin versions shop_revenue\n  napkin versions shop_revenue --drop 1')
    .action((flow: string, opts: { drop?: string; json?: boolean }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        const out = (s: string) => process.stdout.write(s);
        if (opts.drop !== undefined) {
          const n = Number(opts.drop);
          if (!Number.isSafeInteger(n) || n < 1) {
            process.stderr.write(`napkin: --drop takes a version number (1, 2, …), got '${opts.drop}'\n`);
            return { code: EXIT.usage };
          }
          const dropped = await dropVersion(ws, flow, n);
          if (opts.json) out(`${JSON.stringify({ flow, dropped }, null, 2)}\n`);
          else if (dropped.length === 0) out(`flow ${flow} keeps nothing of version ${n}\n`);
          else out(`${dropped.map((d) => `  dropped ${d}`).join('\n')}\n✔ version ${n} of ${flow} dropped\n`);
          return { code: EXIT.ok };
        }
        const versions = await listVersions(ws, flow);
        if (opts.json) out(`${JSON.stringify({ flow, versions }, null, 2)}\n`);
        else for (const v of versions) out(`v${v.version}  ${v.state.padEnd(8)}  ${v.outputs.join(', ')}\n`);
        return { code: EXIT.ok };
      }),
    );
}
