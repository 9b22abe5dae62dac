import type { Command } from 'commander';
import { shortFingerprint } from '../../plan/fingerprint.ts';
import type { FlowResult } from '../../runtime/execute.ts';
import { parseDuration } from '../../time/duration.ts';
import { runProject } from '../../workspace/run.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';
import { progressBar } from '../progress.ts';

export function registerRun(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('run')
    .description('run flows in dependency order; each flow publishes its outputs atomically')
    .argument('[flows...]', 'flow names (default: all)')
    .option('--summary', 'end with a list of what was written where')
    .option('--json', 'print per-stage results as JSON')
    .option(
      '--snapshot-every <duration>',
      "how often a live flow's committed epoch also stores its operator state, so a restart replays only the epochs after it ('never': replay the whole output)",
      '30s',
    )
    .addHelpText('after', '\nExamples:\n  napkin run\n  napkin run shop_revenue --summary')
    .action((flows: string[], opts: { summary?: boolean; json?: boolean; snapshotEvery: string }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        const bar = progressBar();
        const out = (s: string) => process.stdout.write(s);
        const results = await runProject(ws, {
          flows,
          snapshotEveryMs:
            opts.snapshotEvery === 'never' ? Number.POSITIVE_INFINITY : parseDuration(opts.snapshotEvery),
          onProgress: (stage, done, total) => bar.update(`${stage.flow}/${stage.id}`, done, total),
          onFlow: ({ flow, result }) => {
            bar.clear();
            if (opts.json) return;
            if (result === undefined) out(`▶ ${flow}\n`);
            else out(formatFlow(result));
          },
        });
        if (opts.json) out(`${JSON.stringify(results.map(toJson), null, 2)}\n`);
        else if (opts.summary) out(formatSummary(results));
        return { code: EXIT.ok };
      }),
    );
}

function formatFlow(r: FlowResult): string {
  const rows = r.stages.map((s) => {
    const m = s.metrics;
    const counts = `in ${m.in}  out ${m.out}${m.quarantined ? `  quarantined ${m.quarantined}` : ''}${m.filtered ? `  filtered ${m.filtered}` : ''}${m.lateDropped ? `  late-dropped ${m.lateDropped}` : ''}`;
    return `  ${s.stage.id.padEnd(28)} ${s.stage.kind.padEnd(9)} ${s.stage.mode.padEnd(11)} ${counts.padEnd(52)} ${m.ms.toFixed(0).padStart(6)} ms`;
  });
  return `${rows.join('\n')}\n✔ ${r.flow} committed in ${r.ms.toFixed(0)} ms (fingerprint ${shortFingerprint(r.fingerprint)})\n`;
}

function formatSummary(results: readonly FlowResult[]): string {
  const lines = results.flatMap((r) =>
    r.stages
      .filter((s) => s.location !== undefined)
      .map((s) => `  ${s.stage.dataset?.name ?? s.stage.id} → ${s.location}`),
  );
  const q = results.flatMap((r) => r.stages.filter((s) => s.metrics.quarantined > 0));
  const qLines = q.map(
    (s) =>
      `  ${s.metrics.quarantined} record(s) from ${s.stage.dataset?.name} → quarantine (napkin quarantine show ${s.stage.dataset?.name})`,
  );
  return `\nWritten:\n${lines.join('\n')}\n${qLines.length > 0 ? `Quarantined:\n${qLines.join('\n')}\n` : ''}`;
}

function toJson(r: FlowResult) {
  return {
    flow: r.flow,
    fingerprint: r.fingerprint,
    ms: Math.round(r.ms),
    stages: r.stages.map((s) => ({
      stage: s.stage.id,
      kind: s.stage.kind,
      mode: s.stage.mode,
      ...s.metrics,
      location: s.location,
    })),
  };
}
