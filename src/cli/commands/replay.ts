import type { Command } from 'commander';
import { type ReplayFrom, replayFlow } from '../../workspace/replay.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';
import { progressBar } from '../progress.ts';

/** `napkin replay FLOW`: reprocess from the log into a new version of every output, then switch it in. */
export function registerReplay(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('replay')
    .description('reprocess a flow from its log into a new version of each output, then switch readers to it')
    .argument('<flow>', 'the flow to reprocess with its definition as it is now')
    .option(
      '--from <offset|time>',
      'where in each source topic to start: an offset, or an ISO time (the first chunk stamped at or after it); default: all the log holds',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
The outputs being replaced stay readable, unchanged, until every one is built; then each is switched in one
transaction (tables) or one rename (files), and the previous version is kept as name__vN. A replay cut short is
taken up by running the same command again; \`napkin run\` refuses the flow until it has finished.

Examples:
  napkin replay shop_revenue
  napkin replay shop_revenue --from 2026-11-30T00:00:00Z
  napkin replay shop_revenue --from 120000`,
    )
    .action((flow: string, opts: { from?: string; json?: boolean }) =>
      guarded(set, async () => {
        const from = parseFrom(opts.from);
        if (from === undefined) {
          process.stderr.write(
            `napkin: --from takes an offset (a whole number) or an ISO time such as 2026-11-30T00:00:00Z, got '${opts.from}'\n`,
          );
          return { code: EXIT.usage };
        }
        const ws = await openWorkspace(globals().project);
        const bar = progressBar();
        const out = (s: string) => process.stdout.write(s);
        const r = await replayFlow(ws, {
          flow,
          from,
          onProgress: (stage, done, total) => bar.update(`${stage.flow}/${stage.id}`, done, total),
          log: (line) => {
            bar.clear();
            if (!opts.json) out(`${line}\n`);
          },
        });
        bar.clear();
        if (opts.json) out(`${JSON.stringify(r, (k, v) => (k === 'stage' ? v.id : v), 2)}\n`);
        else out(`${r.switched.map((s) => `  ${s}`).join('\n')}\n✔ ${r.flow} is version ${r.version}\n`);
        return { code: EXIT.ok };
      }),
    );
}

function parseFrom(text: string | undefined): ReplayFrom | undefined {
  if (text === undefined) return { kind: 'start' };
  if (/^\d+$/.test(text)) return { kind: 'offset', offset: Number(text) };
  const ms = Date.parse(text);
  return /^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(ms) ? { kind: 'time', ms, text } : undefined;
}
