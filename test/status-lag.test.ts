// `napkin status` over the epoch records and topics of a real project run through the CLI: two flows read one
// dataset's topic; what one flow ingested and the other has not yet read is its lag, counted in records and aged from
// the oldest one's ingestion, judged against the stage's SLA (injected clock: OK, AT RISK past 80%, BREACHED past
// it). Counts come from the checkpoints; output versions, an epoch in flight and a damaged checkpoint show; reading
// the status writes nothing.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { formatFlow } from '../src/cli/commands/status.ts';
import { EpochStore } from '../src/workspace/epochs.ts';
import { type FlowStatus, type ProjectStatus, projectStatus, type StageStatus } from '../src/workspace/status.ts';
import { openWorkspace } from '../src/workspace/workspace.ts';
import { napkin, removeDir, show, tempProject, writeFiles } from './helpers.ts';

const dir = tempProject('napkin-status-lag-');
after(() => removeDir(dir));

writeFiles(dir, {
  'napkin.config.ts': `
import { col, contract, csv, dataset, defineProject, flow, jsonl, read, t, write } from 'napkin';

const row = contract({ fields: { id: t.string(), v: t.int64() } });
const events = dataset('in.events', { owner: 'o', storage: csv('data/events/*.csv'), contract: row });
const outA = dataset('out.a', { owner: 'o', storage: jsonl('out/a.jsonl'), contract: row });
const outB = dataset('out.b', { owner: 'o', storage: jsonl('out/b.jsonl'), contract: row });
const source = () => read(events, { onInvalid: 'quarantine', errorBudget: 10 });

export default defineProject({
  name: 'lag',
  warehouse: 'out/warehouse.duckdb',
  flows: [
    flow({ name: 'a', owner: 'o', sla: '1h', outputs: [write(outA, source())] }),
    flow({ name: 'b', owner: 'o', sla: '1h', outputs: [write(outB, source().filter(col('v').gt(1)))] }),
  ],
});
`,
  'data/events/1.csv': 'id,v\ne1,1\ne2,2\ne3,3\ne4,four\ne5,5\n',
});

const HOUR = 3_600_000;

async function status(now?: number): Promise<ProjectStatus> {
  return projectStatus(await openWorkspace(dir), now);
}
const flowOf = (s: ProjectStatus, name: string): FlowStatus => {
  const f = s.flows.find((x) => x.flow === name);
  assert.ok(f, `no flow ${name}`);
  return f;
};
const stageOf = (f: FlowStatus, id: string): StageStatus => {
  const s = f.stages.find((x) => x.stage === id);
  assert.ok(s, `no stage ${id} in ${f.stages.map((x) => x.stage).join(', ')}`);
  return s;
};
const source = (f: FlowStatus) => {
  assert.equal(f.sources.length, 1);
  const s = f.sources[0];
  assert.equal(s.dataset, 'in.events');
  assert.equal(s.state, 'ok', JSON.stringify(s));
  return s as Extract<FlowStatus['sources'][number], { state: 'ok' }>;
};
const run = (...flows: string[]) => {
  const r = napkin(dir, 'run', ...flows);
  assert.equal(r.status, 0, show(r));
};

/** Every file under .napkin with its size and modification time. */
function tree(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string): void => {
    for (const n of readdirSync(p)) {
      const f = join(p, n);
      const s = statSync(f);
      if (s.isDirectory()) walk(f);
      else out[f] = `${s.size}@${s.mtimeMs}`;
    }
  };
  walk(join(dir, '.napkin'));
  return out;
}

test('status: lag behind a shared topic, health against the SLA, checkpoint counts, versions, damage', async () => {
  // Flow a ingests the dataset's file into its topic and reads it; b, which reads the same topic, has not run.
  run('a');
  let s = await status();
  const a = flowOf(s, 'a');
  assert.equal(a.health, 'OK', a.reason);
  assert.equal(a.checkpoint?.epoch, 1);
  assert.equal(a.checkpoint?.current, true);
  assert.equal(a.checkpoint?.fingerprint, a.fingerprint);
  assert.equal(source(a).records, 0);
  assert.equal(source(a).committed, source(a).end);
  let b = flowOf(s, 'b');
  assert.equal(b.health, 'NEVER RUN');
  assert.equal(b.checkpoint, undefined);
  // Five records wait for b: four rows and the one refused at ingestion (it is still to be quarantined by b).
  assert.equal(source(b).records, 5);
  assert.equal(source(b).committed, undefined);
  const ingested = Date.parse(source(b).oldest?.at ?? '');
  assert.ok(Date.now() - ingested < 60_000 && Date.now() >= ingested, source(b).oldest?.at);
  assert.equal(stageOf(b, 'read_1').health, 'NEVER RUN');
  assert.match(stageOf(b, 'read_1').reason, /^5 records waiting, the oldest for \d+s$/);
  assert.deepEqual(stageOf(b, 'write_out_b').lag?.records, 5, 'a stage lags by the topics upstream of it');

  run('b');
  s = await status();
  b = flowOf(s, 'b');
  assert.equal(b.health, 'OK', b.reason);
  assert.equal(b.checkpoint?.epoch, 1);
  assert.equal(source(b).records, 0);
  assert.deepEqual(stageOf(b, 'read_1').counts, { in: 5, out: 4, quarantined: 1, lateDropped: 0 });
  assert.equal(stageOf(b, 'read_1').countsFrom, 'checkpoint');
  assert.deepEqual(stageOf(b, 'filter_1').counts, { in: 4, out: 3, quarantined: 0, lateDropped: 0 });
  assert.deepEqual(stageOf(b, 'read_1').watermark, { complete: true });

  // A second file: a reads it in; for b it is three records behind, aged from when a ingested them.
  writeFiles(dir, { 'data/events/2.csv': 'id,v\nf1,10\nf2,20\nf3,30\n' });
  run('a');
  s = await status();
  b = flowOf(s, 'b');
  assert.equal(source(flowOf(s, 'a')).records, 0);
  assert.equal(source(b).records, 3);
  assert.equal(source(b).end - (source(b).committed ?? 0), 5, 'three rows, their chunk marker and the file marker');
  const t = Date.parse(source(b).oldest?.at ?? '');
  assert.ok(t > ingested, 'the oldest waiting record is one of the new file');
  const at = async (ms: number) => {
    const st = await status(t + ms);
    const f = flowOf(st, 'b');
    return { flow: f, read: stageOf(f, 'read_1'), a: flowOf(st, 'a') };
  };
  let x = await at(0.5 * HOUR);
  assert.equal(x.read.health, 'OK');
  assert.deepEqual(x.read.lag, { records: 3, ageMs: 0.5 * HOUR });
  x = await at(0.85 * HOUR);
  assert.equal(x.read.health, 'AT RISK');
  assert.equal(x.read.reason, '3 records waiting, the oldest for 51m, past 80% of the SLA 1h');
  x = await at(1.1 * HOUR);
  assert.equal(x.read.health, 'BREACHED');
  assert.equal(x.read.reason, '3 records waiting, the oldest for 66m, SLA 1h');
  assert.equal(stageOf(x.flow, 'write_out_b').health, 'BREACHED');
  assert.equal(x.flow.health, 'BREACHED');
  // a has nothing waiting: its stages stay OK, and only its own last commit ages past the flow's SLA.
  assert.ok(x.a.stages.every((st) => st.health === 'OK'));
  assert.equal(x.a.health, 'BREACHED');
  assert.match(x.a.reason, /^last commit 66m ago, SLA 1h$/);

  const text = napkin(dir, 'status');
  assert.equal(text.status, 0, show(text));
  assert.match(text.stdout, /^b {2}OK {2}last commit \d+s ago, SLA 1h$/m);
  assert.match(text.stdout, /^ {2}in\.events +\d+ +\d+ +3 +\d+s ago$/m);

  // b reads it: its output is rebuilt from the generation, and the counts are those of the whole output.
  run('b');
  s = await status();
  b = flowOf(s, 'b');
  assert.equal(b.checkpoint?.epoch, 2);
  assert.equal(source(b).records, 0);
  assert.deepEqual(stageOf(b, 'read_1').counts, { in: 8, out: 7, quarantined: 1, lateDropped: 0 });
  assert.deepEqual(stageOf(b, 'write_out_b').counts, { in: 6, out: 6, quarantined: 0, lateDropped: 0 });

  // Reading the status takes no lock and writes nothing.
  const before = tree();
  for (const args of [['status'], ['status', '--json']]) assert.equal(napkin(dir, ...args).status, 0);
  await status();
  assert.deepEqual(tree(), before);
  assert.equal(existsSync(join(dir, '.napkin', 'log', 'in.events', 'LOCK')), false);

  // A replay building version 2 of b's outputs, then switching it in.
  const flowDir = join(dir, '.napkin', 'flows', 'b');
  const building = {
    version: 2,
    fingerprint: b.fingerprint,
    from: { 'in.events': 3 },
    firstEpoch: 2,
    startedAt: new Date().toISOString(),
  };
  writeFileSync(
    join(flowDir, 'versions.json'),
    JSON.stringify({ format: 'napkin-output-versions', formatVersion: 1, active: 1, building }),
  );
  b = flowOf(await status(), 'b');
  assert.deepEqual(b.output, { active: 1, building: { ...building, epoch: 2 } });
  const short = b.fingerprint.slice(0, 12);
  assert.match(
    formatFlow(b),
    new RegExp(`^ {2}output +v1; building v2 from in\\.events@3 \\(version ${short}\\), epoch 2$`, 'm'),
  );
  writeFileSync(
    join(flowDir, 'versions.json'),
    JSON.stringify({ format: 'napkin-output-versions', formatVersion: 1, active: 1, building, switching: true }),
  );
  assert.match(
    formatFlow(flowOf(await status(), 'b')),
    /^ {2}output +v1; building v2 from in\.events@3 \(version [0-9a-f]{12}\), switching$/m,
  );

  // An epoch planned and not committed, with no process running it: cut off by a crash.
  const store = new EpochStore(flowDir, 'b');
  await store.writeOffsets({
    epoch: 3,
    fingerprint: b.fingerprint,
    ranges: { 'in.events': { from: 14, to: 14 } },
    clock: 0,
    fresh: false,
    final: true,
  });
  b = flowOf(await status(), 'b');
  assert.deepEqual(b.inFlight, { epoch: 3, fingerprint: b.fingerprint });
  assert.match(
    formatFlow(b),
    /^ {2}checkpoint +epoch 2, \d+s ago, written by [0-9a-f]{12}; epoch 3 planned but not committed \(the next run settles it\)$/m,
  );

  // A damaged checkpoint: the flow would refuse to start, and the status says so.
  const cp = store.file('checkpoints', 2);
  writeFileSync(cp, readFileSync(cp, 'utf8').replace(/"in": 8/, '"in": 9'));
  b = flowOf(await status(), 'b');
  assert.equal(b.health, 'BREACHED');
  assert.match(b.reason, /checkpoints\/000000000002\.json fails its checksum/);
  const damaged = napkin(dir, 'status');
  assert.equal(damaged.status, 0, show(damaged));
  assert.match(damaged.stdout, /^b {2}BREACHED {2}.*fails its checksum/m);
});
