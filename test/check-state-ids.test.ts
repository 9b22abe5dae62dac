// `napkin check` warns about a stateful stage without an explicit id (reliability §2.8: state is keyed by stage id,
// and made-up ids shift when the flow is edited), names the stage and says how to name it; --strict refuses it; an
// id given with .stage() silences it and becomes the stage's id (and part of the fingerprint).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { napkin, removeDir, show, tempProject, writeFiles } from './helpers.ts';

const dir = tempProject('napkin-check-state-');
after(() => removeDir(dir));

const config = (dedupe: string) => `
import { contract, count, csv, dataset, defineProject, flow, jsonl, read, t, write } from 'napkin';

const row = contract({ fields: { id: t.string(), v: t.int64() } });
const events = dataset('in.events', { owner: 'o', storage: csv('data/events.csv'), contract: row });
const counts = dataset('out.counts', {
  owner: 'o',
  storage: jsonl('out/counts.jsonl'),
  contract: contract({ fields: { id: t.string(), n: t.int64() } }),
});

export default defineProject({
  name: 'ids',
  flows: [
    flow({
      name: 'f',
      owner: 'o',
      sla: '1d',
      outputs: [write(counts, read(events).dedupe('id', 'v')${dedupe}.groupBy('id').agg({ n: count() }).stage('per_id'))],
    }),
  ],
});
`;

test('napkin check: a stateful stage without an id is a warning with the fix; naming it clears it', () => {
  writeFiles(dir, { 'napkin.config.ts': config(''), 'data/events.csv': 'id,v\na,1\n' });
  const r = napkin(dir, 'check');
  assert.equal(r.status, 0, show(r));
  assert.match(
    r.stdout,
    /^warning NAP025 f\/dedupe_1: dedupe \(dedupe by id, v\) keeps state but has no explicit id: its state is keyed by the made-up id 'dedupe_1', which shifts when a stage is added or removed before it\n {4}fix: name it where it is defined: \.dedupe\(…\)\.stage\('unique_by_id_v'\); the id must stay the same across edits of the flow$/m,
  );
  assert.match(r.stdout, /^0 error\(s\), 1 warning\(s\) in 1 flow\(s\)/m);
  assert.doesNotMatch(r.stdout, /per_id/, 'the named aggregate is not reported');
  const strict = napkin(dir, 'check', '--strict');
  assert.equal(strict.status, 3, show(strict));
  assert.match(napkin(dir, 'check', '--rules').stdout, /^NAP025 {2}warning {2}a stateful stage/m);
  const before = JSON.parse(napkin(dir, 'run', '--json').stdout) as {
    fingerprint: string;
    stages: { stage: string }[];
  }[];

  writeFiles(dir, { 'napkin.config.ts': config(".stage('unique_events')") });
  const named = napkin(dir, 'check', '--strict');
  assert.equal(named.status, 0, show(named));
  assert.match(named.stdout, /^0 error\(s\), 0 warning\(s\)/m);
  const j = JSON.parse(napkin(dir, 'check', '--json').stdout) as unknown[];
  assert.deepEqual(j, []);
  // The id is the stage's from now on, and another version of the flow as far as state is concerned.
  const drawn = napkin(dir, 'draw', 'f', '--format', 'text');
  assert.equal(drawn.status, 0, show(drawn));
  assert.match(drawn.stdout, /unique_events/);
  assert.deepEqual(
    before[0].stages.map((s) => s.stage),
    ['read_1', 'dedupe_1', 'per_id', 'write_out_counts'],
  );
  const status = JSON.parse(napkin(dir, 'status', '--json').stdout) as { flows: { fingerprint: string }[] };
  assert.notEqual(status.flows[0].fingerprint, before[0].fingerprint);
});
