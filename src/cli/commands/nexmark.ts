import type { Command } from 'commander';
import { exportEvents, exportFormatOf } from '../../nexmark/export.ts';
import { GeneratorOptionError, type GeneratorOptions } from '../../nexmark/generator.ts';
import { EXIT, type Globals, guarded, type Outcome, type SetOutcome } from '../outcome.ts';
import { type GeneratorFlags, generatorFlags, parseGeneratorFlags, UsageError } from './nexmark-flags.ts';
import { addNexmarkRun } from './nexmark-run.ts';

/** `napkin nexmark …`: the Nexmark benchmark's generator and queries (spec nexmark.md). */
export function registerNexmark(program: Command, _globals: Globals, set: SetOutcome): void {
  const group = program
    .command('nexmark')
    .description('the Nexmark auction benchmark: generate its events, run its queries');
  addNexmarkGenerate(group, set);
  addNexmarkRun(group, set);
}

interface GenerateFlags extends GeneratorFlags {
  readonly out: string;
}

/** `napkin nexmark generate`: the events of the deterministic generator as JSON Lines or Parquet (§4). */
export function addNexmarkGenerate(group: Command, set: SetOutcome): void {
  generatorFlags(
    group
      .command('generate')
      .description('write N generated events to a JSON Lines or Parquet file, in output order')
      .requiredOption('-o, --out <file>', 'FILE.jsonl or FILE.parquet'),
    true,
  )
    .addHelpText(
      'after',
      '\nThe same options always give byte-identical files.\n\nExamples:\n' +
        '  napkin nexmark generate --events 1000000 --out events.jsonl\n' +
        '  napkin nexmark generate --events 2000000 --out-of-order 1000 --out events.parquet',
    )
    .action((flags: GenerateFlags) => guarded(set, () => generate(flags)));
}

async function generate(flags: GenerateFlags): Promise<Outcome> {
  let options: GeneratorOptions;
  try {
    options = parseGeneratorFlags(flags, true);
    if (exportFormatOf(flags.out) === undefined) {
      throw new UsageError(`--out ${flags.out} has an unknown extension; give FILE.jsonl or FILE.parquet`);
    }
  } catch (e) {
    return usage(e);
  }
  const t0 = performance.now();
  try {
    const r = await exportEvents(options, flags.out);
    const s = ((performance.now() - t0) / 1000).toFixed(2);
    process.stderr.write(`nexmark: ${r.events} event(s) → ${r.path} (${r.format}) in ${s} s\n`);
    return { code: EXIT.ok };
  } catch (e) {
    if (e instanceof GeneratorOptionError) return usage(e);
    throw e;
  }
}

function usage(e: unknown): Outcome {
  if (!(e instanceof UsageError) && !(e instanceof GeneratorOptionError)) throw e;
  const where = e instanceof UsageError ? 'napkin nexmark generate' : 'napkin';
  process.stderr.write(`${where}: ${e.message}\n`);
  return { code: EXIT.usage };
}
