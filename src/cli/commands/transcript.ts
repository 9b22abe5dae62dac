import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  comparePanes,
  parseTranscript,
  runTranscript,
  type Transcript,
  TranscriptError,
} from '../../runtime/window/transcript.ts';
import { EXIT, type Globals, guarded, type Outcome, type SetOutcome } from '../outcome.ts';

/** §10: a transcript file that cannot be read or breaks a rule exits 2, the code napkin uses for usage errors. */
const EXIT_INVALID_TRANSCRIPT = EXIT.usage;
/** §10: emitted panes that differ from `expect` exit 1. */
const EXIT_PANES_DIFFER = EXIT.failure;

export function registerTranscript(program: Command, _globals: Globals, set: SetOutcome): void {
  program
    .command('transcript')
    .description('replay event-time transcripts (one windowed stage each) and compare their panes with `expect`')
    .argument('<files...>', 'transcript JSON files (format: dataflow-semantics spec §10)')
    .addHelpText(
      'after',
      '\nPrints every emitted pane as one JSON line on stdout; results and diffs go to stderr.\n' +
        'Exit codes: 0 all files as expected, 1 panes differ, 2 a file is invalid.\n\n' +
        'Examples:\n  napkin transcript test/transcripts/*.json',
    )
    .action((files: string[]) =>
      guarded(set, async () => {
        let code: Outcome['code'] = EXIT.ok;
        for (const file of files) code = worse(code, await checkFile(file));
        return { code };
      }),
    );
}

async function checkFile(file: string): Promise<Outcome['code']> {
  let transcript: Transcript;
  try {
    transcript = parseTranscript(await readFile(file, 'utf8'));
  } catch (e) {
    if (!(e instanceof TranscriptError) && (e as NodeJS.ErrnoException).code === undefined) throw e;
    process.stderr.write(`napkin: ${file}: invalid transcript: ${(e as Error).message}\n`);
    return EXIT_INVALID_TRANSCRIPT;
  }
  const panes = runTranscript(transcript);
  for (const p of panes) process.stdout.write(`${JSON.stringify(p)}\n`);
  const diff = comparePanes(transcript.expect, panes, transcript.ordered);
  if (diff.equal) {
    process.stderr.write(`ok   ${transcript.name} (${panes.length} pane(s))\n`);
    return EXIT.ok;
  }
  process.stderr.write(`FAIL ${transcript.name} (${file})\n${indent(diff.text)}\n`);
  return EXIT_PANES_DIFFER;
}

/** Invalid files outrank differing panes, which outrank success. */
function worse(a: Outcome['code'], b: Outcome['code']): Outcome['code'] {
  const rank = (c: Outcome['code']) => (c === EXIT_INVALID_TRANSCRIPT ? 2 : c === EXIT_PANES_DIFFER ? 1 : 0);
  return rank(b) > rank(a) ? b : a;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
