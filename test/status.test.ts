// `napkin status` over the shop example: nothing before the first run; after it, per flow its health against the
// SLA (OK, then AT RISK past 80% of it, BREACHED past it), the fingerprint and the last run's counts per stage.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { projectStatus } from '../src/workspace/status.ts';
import { openWorkspace } from '../src/workspace/workspace.ts';
import { copyProject, napkin, REPO, removeDir } from './helpers.ts';

const dir = copyProject(join(REPO, 'examples', 'shop'));
after(() => removeDir(dir));

test('status: never run, then OK with counts, then AT RISK and BREACHED as the last commit ages', async () => {
  const before = JSON.parse(napkin(dir, 'status', '--json').stdout) as {
    flows: { health: string }[];
    warehouse: string;
  };
  assert.equal(before.warehouse, 'absent');
  assert.deepEqual(
    before.flows.map((f) => f.health),
    ['NEVER RUN', 'NEVER RUN'],
  );
  const run = napkin(dir, 'run', '--json');
  assert.equal(run.status, 0, run.stderr);
  const ran = JSON.parse(run.stdout) as { flow: string; fingerprint: string }[];

  const ws = await openWorkspace(dir);
  const now = await projectStatus(ws);
  const orders = now.flows.find((f) => f.flow === 'shop_orders');
  assert.equal(orders?.health, 'OK');
  assert.equal(orders?.fingerprint, ran.find((r) => r.flow === 'shop_orders')?.fingerprint);
  assert.equal(orders?.running, undefined);
  const source = orders?.stages.find((s) => s.stage === 'read_1')?.counts;
  assert.deepEqual(source, { in: 3001, out: 3000, quarantined: 1, lateDropped: 0 });

  const committed = Date.parse(orders?.lastCommit?.at ?? '');
  const hour = 3_600_000; // shop_orders has a 1 h SLA
  const at = async (ms: number) =>
    (await projectStatus(ws, committed + ms)).flows.find((f) => f.flow === 'shop_orders')?.health;
  assert.equal(await at(0.79 * hour), 'OK');
  assert.equal(await at(0.81 * hour), 'AT RISK');
  assert.equal(await at(1.01 * hour), 'BREACHED');

  const text = napkin(dir, 'status');
  assert.equal(text.status, 0);
  assert.match(text.stdout, /shop_orders {2}OK {2}last commit \d+s ago, SLA 1h/);
});
