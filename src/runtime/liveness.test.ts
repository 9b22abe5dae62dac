import assert from 'node:assert/strict';
import { test } from 'node:test';
import { col, count, sum } from '../expr/builders.ts';
import { createRegistry } from '../expr/functions.ts';
import { contract, t } from '../flow/contract.ts';
import { dataset } from '../flow/dataset.ts';
import { flow, type Output, write } from '../flow/flow.ts';
import { read } from '../flow/rel.ts';
import { bindFlow } from '../plan/bind.ts';
import { liveColumns } from './liveness.ts';

const events = dataset('t.events', {
  contract: contract({
    fields: { id: t.int64(), user: t.int64(), country: t.string(), amount: t.float64(), status: t.string() },
  }),
});
const out = (name: string, fields: Parameters<typeof contract>[0]['fields']) =>
  dataset(name, { owner: 'o', contract: contract({ fields }) });

function live(outputs: Output[]): Record<string, boolean[]> {
  const bound = bindFlow(flow({ name: 'f', owner: 'o', sla: '1d', outputs }), createRegistry());
  assert.deepEqual(bound.findings, []);
  return Object.fromEntries(liveColumns(bound.stages));
}

test('only the columns a later stage reads are live: filter, withColumns and aggregate', () => {
  const rel = read(events)
    .filter(col('status').eq('ok'))
    .withColumns({ eur: col('amount').mul(0.9) })
    .groupBy('country')
    .agg({ eur: sum(col('eur')), n: count() });
  const l = live([write(out('t.daily', { country: t.string(), eur: t.float64().optional(), n: t.int64() }), rel)]);
  // Source and filter: country, amount (for eur) and status (for the filter only, so dead after it).
  assert.deepEqual(l.read_1, [false, false, true, true, true]);
  assert.deepEqual(l.filter_1, [false, false, true, true, false]);
  // withColumns passes the input through and appends eur: country and eur are read by the aggregate.
  assert.deepEqual(l.withColumns_1, [false, false, true, false, false, true]);
  assert.deepEqual(l.aggregate_1, [true, true, true]);
});

test('a stage feeding a sink and an aggregate keeps what either reads', () => {
  const ok = read(events).filter(col('status').eq('ok'));
  const l = live([
    write(
      out('t.all', { id: t.int64(), user: t.int64(), country: t.string(), amount: t.float64(), status: t.string() }),
      ok,
    ),
    write(out('t.n', { country: t.string(), n: t.int64() }), ok.groupBy('country').agg({ n: count() })),
  ]);
  assert.deepEqual(l.read_1, [true, true, true, true, true]);
  assert.deepEqual(l.filter_1, [true, true, true, true, true]);
});
