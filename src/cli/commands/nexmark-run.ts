import type { Command } from 'commander';
import { loadQuery } from '../../nexmark/catalog.ts';
import { type NexmarkInput, runNexmark } from '../../nexmark/run.ts';
import { EXIT, guarded, type SetOutcome } from '../outcome.ts';
import { type GeneratorFlags, generatorFlags, parseGeneratorFlags, UsageError } from './nexmark-flags.ts';

interface RunFlags extends GeneratorFlags {
  readonly query: string;
  readonly in?: string;
  readonly mode: string;
  readonly out: string;
}

/** `napkin nexmark run`: one query as an ordinary flow over generated events or an export, result as JSON Lines. */
export function addNexmarkRun(group: Command, set: SetOutcome): void {
  generatorFlags(
    group
      .command('run')
      .description('run a Nexmark query as a napkin flow and write its final result as JSON Lines')
      .requiredOption('-q, --query <qN>', 'q0, q1, q2, q3, q4, q5, q7, q8 or q11')
      .option('--in <events.jsonl>', 'read the events from an export instead of generating them')
      .option('--mode <mode>', 'batch or stream', 'stream')
      .requiredOption('-o, --out <result.jsonl>', 'where the result goes, one JSON object per line'),
    false,
  )
    .addHelpText(
      'after',
      '\nBoth modes give the same result (a multiset: line order is free).\n\nExamples:\n' +
        '  napkin nexmark run --query q5 --events 2000000 --out q5.jsonl\n' +
        '  napkin nexmark run --query q8 --in events.jsonl --mode batch --out q8.jsonl',
    )
    .action((flags: RunFlags) =>
      guarded(set, async () => {
        let input: NexmarkInput;
        let mode: 'batch' | 'stream';
        try {
          if (flags.mode !== 'batch' && flags.mode !== 'stream')
            throw new UsageError(`--mode takes batch or stream, got ${flags.mode}`);
          mode = flags.mode;
          const gen = parseGeneratorFlags(flags, flags.in === undefined);
          input =
            flags.in === undefined
              ? { generate: gen }
              : { file: flags.in, outOfOrder: gen.outOfOrder ?? 1, rate: gen.rate ?? undefined };
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          process.stderr.write(`napkin nexmark run: ${e.message}\n`);
          return { code: EXIT.usage };
        }
        const query = await loadQuery(flags.query);
        const t0 = performance.now();
        const r = await runNexmark({ query, mode, input, sink: { kind: 'jsonl', path: flags.out } });
        process.stderr.write(
          `${query.name} (${mode}): ${r.rows} row(s) → ${flags.out} in ${((performance.now() - t0) / 1000).toFixed(2)} s\n`,
        );
        return { code: EXIT.ok };
      }),
    );
}
