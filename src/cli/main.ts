import { Command, CommanderError } from 'commander';
import { registerBench } from './commands/bench.ts';
import { registerCheck } from './commands/check.ts';
import { registerDraw } from './commands/draw.ts';
import { registerLineage } from './commands/lineage.ts';
import { registerNexmark } from './commands/nexmark.ts';
import { registerQuarantine } from './commands/quarantine.ts';
import { registerReplay } from './commands/replay.ts';
import { registerRun } from './commands/run.ts';
import { registerStatus } from './commands/status.ts';
import { registerTranscript } from './commands/transcript.ts';
import { registerVersions } from './commands/versions.ts';
import { registerWorker } from './commands/worker.ts';
import { EXIT, type Outcome } from './outcome.ts';

/**
 * napkin's command line: each command parses its flags, calls one library function and returns an outcome. Only
 * this file exits the process. Exit codes: 0 success, 1 runtime failure, 2 usage error, 3 failed check.
 */
const program = new Command('napkin')
  .description('Draw the flow, run it as batch or stream from one definition, and know where every number came from.')
  .option('-p, --project <dir>', 'project folder (holds napkin.config.ts or flows/)', '.')
  .showHelpAfterError()
  .exitOverride();

// `napkin lineage … | head` closes stdout early: that is the reader's choice, not a failure.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(EXIT.ok);
  throw e;
});

let outcome: Outcome = { code: EXIT.ok };
const setOutcome = (o: Outcome) => {
  outcome = o;
};
const globals = () => program.opts<{ project: string }>();

registerRun(program, globals, setOutcome);
registerWorker(program, globals, setOutcome);
registerReplay(program, globals, setOutcome);
registerVersions(program, globals, setOutcome);
registerCheck(program, globals, setOutcome);
registerDraw(program, globals, setOutcome);
registerLineage(program, globals, setOutcome);
registerQuarantine(program, globals, setOutcome);
registerTranscript(program, globals, setOutcome);
registerBench(program, globals, setOutcome);
registerStatus(program, globals, setOutcome);
registerNexmark(program, globals, setOutcome);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    process.stderr.write(`napkin: ${(e as Error).message}\n`);
    process.exitCode = EXIT.failure;
  }
}
if (process.exitCode === undefined) process.exitCode = outcome.code;
