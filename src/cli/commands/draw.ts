import { writeFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { drawGraphOf } from '../../draw/from-plan.ts';
import { DRAW_FORMATS, type DrawFormat, filterFlow, renderDraw } from '../../draw/index.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

export function registerDraw(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('draw')
    .description('render the napkin: sources, stages, destinations, SLA and mode per stage, contracts and owners')
    .argument('[flow]', 'one flow (default: the whole project)')
    .addOption(new Option('-f, --format <format>', 'output format').choices([...DRAW_FORMATS]).default('text'))
    .option('-o, --out <file>', 'write to a file instead of stdout')
    .addHelpText(
      'after',
      '\nExamples:\n  napkin draw\n  napkin draw shop_revenue --format svg --out napkin.svg\n  napkin draw --format mermaid',
    )
    .action((flow: string | undefined, opts: { format: DrawFormat; out?: string }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        const whole = drawGraphOf(ws.plan);
        const text = renderDraw(flow === undefined ? whole : filterFlow(whole, flow), opts.format);
        if (opts.out === undefined) process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
        else {
          writeFileSync(opts.out, text);
          process.stderr.write(`wrote ${opts.out}\n`);
        }
        return { code: EXIT.ok };
      }),
    );
}
