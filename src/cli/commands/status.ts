import type { Command } from 'commander';
import { shortFingerprint } from '../../plan/fingerprint.ts';
import { type FlowStatus, formatAge, projectStatus, type StageStatus } from '../../workspace/status.ts';
import { type WorkerFlowStatus, workerStatus } from '../../workspace/worker-status.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

/**
 * `napkin status`: per flow its health against the SLA, who runs it and which version, its last checkpoint and output
 * version, how far its committed input trails each source topic; per stage lag, watermark delay and counts.
 */
export function registerStatus(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('status')
    .description(
      'per flow and stage: health against the SLA (lag, watermark delay, last commit), running version, checkpoint and record counts',
    )
    .option('--json', 'print the status as JSON')
    .option(
      '--workers <flow>',
      'the partitions of a flow run by napkin worker, from its epoch records and topics in Kafka',
    )
    .addHelpText(
      'after',
      '\nReads without taking any lock: safe while flows run.\nExit code 0 whatever the health: scripts read --json.\n\nExamples:\n  napkin status\n  napkin status --json\n  napkin status --workers revenue_per_minute',
    )
    .action((opts: { json?: boolean; workers?: string }) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        if (opts.workers !== undefined) {
          const w = await workerStatus(ws, opts.workers);
          process.stdout.write(opts.json ? `${JSON.stringify(w, null, 2)}\n` : formatWorkers(w));
          return { code: EXIT.ok };
        }
        const status = await projectStatus(ws);
        if (opts.json) process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
        else {
          if (status.warehouse === 'busy')
            process.stdout.write('(the warehouse is in use by a run: last-run figures are from before it)\n');
          for (const f of status.flows) process.stdout.write(formatFlow(f));
        }
        return { code: EXIT.ok };
      }),
    );
}

export function formatFlow(f: FlowStatus): string {
  const running =
    f.running === undefined
      ? 'not running'
      : `running: pid ${f.running.pid}, ownership epoch ${f.running.ownershipEpoch}, fingerprint ${shortFingerprint(f.running.fingerprint)}${f.running.foreign ? ' FOREIGN' : ''}`;
  const lines = [`${f.flow}  ${f.health}  ${f.reason}`, `  fingerprint ${shortFingerprint(f.fingerprint)}  ${running}`];
  const facts: [string, string][] = [];
  const cp = f.checkpoint;
  const inFlight =
    f.inFlight === undefined
      ? ''
      : `; epoch ${f.inFlight.epoch} ${f.running === undefined ? 'planned but not committed (the next run settles it)' : 'in flight'}`;
  if (cp !== undefined)
    facts.push([
      'checkpoint',
      `epoch ${cp.epoch}, ${formatAge(cp.ageMs)} ago, written by ${shortFingerprint(cp.fingerprint)}${cp.current ? '' : ' (another version than the one on disk)'}${inFlight}`,
    ]);
  else if (f.inFlight !== undefined) facts.push(['checkpoint', `none yet${inFlight}`]);
  if (f.epochsError !== undefined) facts.push(['epochs', f.epochsError]);
  const out = f.output;
  if (out !== undefined) facts.push(['output', outputLine(out)]);
  const width = Math.max(0, ...facts.map(([k]) => k.length));
  for (const [k, v] of facts) lines.push(`  ${k.padEnd(width)}  ${v}`);
  if (f.sources.length > 0) {
    const rows = [['source', 'log end', 'committed', 'waiting', 'oldest waiting']];
    for (const s of f.sources) {
      if (s.state === 'on kafka')
        rows.push([s.dataset, `kafka ${s.topic}, committed to offset ${s.committed ?? '-'} of ${s.end ?? '-'}`]);
      else if (s.state !== 'ok') rows.push([s.dataset, s.state === 'unreadable' ? `unreadable: ${s.error}` : s.state]);
      else
        rows.push([
          s.dataset,
          String(s.end),
          s.committed === undefined ? '-' : String(s.committed),
          String(s.records),
          s.oldest === undefined ? '-' : `${formatAge(s.oldest.ageMs)} ago`,
        ]);
    }
    lines.push(...table(rows, 1));
  }
  const rows = [
    ['stage', 'mode', 'sla', 'health', 'lag', 'wm delay', 'in', 'out', 'quarantined', 'late-dropped'],
    ...f.stages.map(stageRow),
  ];
  lines.push(...table(rows, 4));
  return `${lines.join('\n')}\n\n`;
}

function outputLine(o: NonNullable<FlowStatus['output']>): string {
  if (o.error !== undefined) return `unreadable: ${o.error}`;
  const b = o.building;
  if (b === undefined) return `v${o.active}`;
  const from = Object.entries(b.from);
  const start = from.length === 0 ? 'the start of the log' : from.map(([ds, n]) => `${ds}@${n}`).join(', ');
  const progress = o.switching
    ? 'switching'
    : b.epoch !== undefined
      ? `epoch ${b.epoch}`
      : b.firstEpoch !== undefined
        ? `first epoch ${b.firstEpoch} not committed yet`
        : 'not started';
  return `v${o.active}; building v${b.version} from ${start} (version ${shortFingerprint(b.fingerprint)}), ${progress}`;
}

function stageRow(s: StageStatus): string[] {
  const c = s.counts;
  const lag =
    s.lag === undefined
      ? '-'
      : s.lag.records === 0 || s.lag.ageMs === undefined
        ? String(s.lag.records)
        : `${s.lag.records} (${formatAge(s.lag.ageMs)})`;
  const wm = s.watermark === undefined ? '-' : 'complete' in s.watermark ? 'complete' : formatAge(s.watermark.delayMs);
  return [
    s.stage,
    s.mode,
    s.sla,
    s.health,
    lag,
    wm,
    ...(c === undefined ? ['-', '-', '-', '-'] : [c.in, c.out, c.quarantined, c.lateDropped].map(String)),
  ];
}

/** Rows as aligned columns, two spaces apart: the first `left` columns padded on the right, the rest right-aligned. */
function table(rows: readonly string[][], left: number): string[] {
  const n = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: n }, (_, i) =>
    Math.max(0, ...rows.filter((r) => r.length === n).map((r) => (r[i] ?? '').length)),
  );
  return rows.map((r) =>
    `  ${r.map((v, i) => (r.length < n ? v : i < left ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ')}`.trimEnd(),
  );
}

function formatWorkers(w: WorkerFlowStatus): string {
  const head = `${w.flow} (workers: consumer group ${w.group}, SLA ${formatAge(w.slaMs)})`;
  const parts = w.parts.map((part, i) => {
    const lines = part.partitions.map((p) => {
      const lag = p.inputs.map((x) => `${x.topic} ${x.committed}/${x.end} (lag ${x.lag})`).join(', ');
      const age = p.committedAt === undefined ? 'never' : `${formatAge(Date.now() - Date.parse(p.committedAt))} ago`;
      const flight = p.inFlight === undefined ? '' : `, epoch ${p.inFlight} in flight`;
      const version = p.fingerprint === undefined ? '' : `, version ${shortFingerprint(p.fingerprint)}`;
      return `  partition ${String(p.partition).padEnd(3)} ${p.health.padEnd(9)} epoch ${p.committed} committed ${age}${flight}${version}; ${lag}`;
    });
    // The part after a repartition: its own group and partitions, read from the repartition topic.
    const title = i === 0 ? [] : [`${part.name} (after the repartition: consumer group ${part.group})`];
    return [...title, ...lines].join('\n');
  });
  return `${head}\n${parts.join('\n')}\n`;
}
