import type { Command } from 'commander';
import { parseDuration } from '../../time/duration.ts';
import { runWorker } from '../../workspace/worker.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

export function registerWorker(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('worker')
    .description(
      "run a flow's partitions as one of its workers: start it N times, on one machine or many, and the Kafka consumer group splits the partitions among them",
    )
    .requiredOption('--flow <name>', 'the flow to run (its sources must be Kafka topics)')
    .option(
      '--epoch-interval <duration>',
      "commit an epoch this often instead of what the flow's SLA gives (e.g. 500ms)",
    )
    .option(
      '--snapshot-every <duration>',
      "how often a partition's committed epoch also stores its operator state, so a take-over replays only the epochs after it ('never': replay the whole output)",
      '30s',
    )
    .option(
      '--session-timeout <duration>',
      'how long the group waits for a silent worker before moving its partitions',
      '10s',
    )
    .addHelpText(
      'after',
      '\nA stage that groups by other fields than the topics are keyed by splits the flow in two parts, joined by the\nrepartition topic napkin.<flow>.<stage>.repartition; every worker runs both.\n\nExamples:\n  napkin worker --flow revenue_per_minute\n  napkin worker --flow revenue_per_minute --epoch-interval 1s',
    )
    .action((opts: { flow: string; epochInterval?: string; sessionTimeout: string; snapshotEvery: string }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        await runWorker(ws, {
          flow: opts.flow,
          sessionTimeoutMs: parseDuration(opts.sessionTimeout),
          snapshotEveryMs:
            opts.snapshotEvery === 'never' ? Number.POSITIVE_INFINITY : parseDuration(opts.snapshotEvery),
          ...(opts.epochInterval === undefined ? {} : { epochIntervalMs: parseDuration(opts.epochInterval) }),
        });
        return { code: EXIT.ok };
      }),
    );
}
