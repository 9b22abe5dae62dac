// napkin's lineage output must be valid OpenLineage: every JobEvent against the vendored spec, every facet against
// its own facet schema.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { projectLineage } from '../src/plan/lineage.ts';
import { columnLineageFacet, jobEvents } from '../src/plan/openlineage.ts';
import { openWorkspace } from '../src/workspace/workspace.ts';

const ROOT = join(import.meta.dirname, '..');
const SPEC = join(ROOT, '..', 'shared', 'vendor', 'openlineage-spec');

function validator() {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema(JSON.parse(readFileSync(join(SPEC, 'OpenLineage.json'), 'utf8')));
  for (const f of readdirSync(join(SPEC, 'facets')))
    ajv.addSchema(JSON.parse(readFileSync(join(SPEC, 'facets', f), 'utf8')));
  return (ref: string, value: unknown): string[] => {
    const validate = ajv.getSchema(ref);
    assert.ok(validate, `schema ${ref} is vendored`);
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
  };
}

test('static job events of the shop example are valid OpenLineage, with valid facets', async () => {
  const ws = await openWorkspace(join(ROOT, 'examples', 'shop'));
  const lineage = projectLineage(ws.plan);
  const events = jobEvents(ws.plan, lineage, 'napkin:shop');
  assert.equal(events.length, 2);
  const check = validator();
  for (const e of events) {
    assert.deepEqual(check('https://openlineage.io/spec/2-0-2/OpenLineage.json', e), []);
    const job = e.job as { facets: Record<string, { _schemaURL: string }> };
    const outputs = e.outputs as { name: string; facets: Record<string, { _schemaURL: string }> }[];
    const facets = [...Object.values(job.facets), ...outputs.flatMap((o) => Object.values(o.facets))];
    assert.ok(facets.length >= 4);
    for (const f of facets) assert.deepEqual(check(f._schemaURL, f), [], f._schemaURL);
  }
  const finance = events.find((e) => (e.job as { name: string }).name === 'finance_daily');
  const outputs = (finance?.outputs ?? []) as { name: string }[];
  assert.deepEqual(
    outputs.map((o) => o.name),
    ['mart.active_customers', 'mart.daily_revenue', 'mart.revenue_by_segment'],
  );
});

test('the column-lineage facet names the source column and how it was derived', async () => {
  const ws = await openWorkspace(join(ROOT, 'examples', 'shop'));
  const l = projectLineage(ws.plan).get('mart.orders_enriched');
  assert.ok(l);
  const facet = columnLineageFacet(l, 'napkin:shop');
  assert.deepEqual(validator()(facet._schemaURL, facet), []);
  assert.deepEqual(facet.fields.amount_eur.inputFields, [
    {
      namespace: 'napkin:shop',
      name: 'shop.orders',
      field: 'amount',
      transformations: [{ type: 'DIRECT', subtype: 'TRANSFORMATION' }],
    },
    {
      namespace: 'napkin:shop',
      name: 'ref.fx_rates',
      field: 'rate_to_eur',
      transformations: [{ type: 'DIRECT', subtype: 'TRANSFORMATION' }],
    },
  ]);
  assert.deepEqual(facet.fields.country.inputFields[0].transformations, [{ type: 'DIRECT', subtype: 'IDENTITY' }]);
  assert.ok(
    facet.dataset.some(
      (f) => f.name === 'shop.orders' && f.field === 'status' && f.transformations[0].subtype === 'FILTER',
    ),
  );
});
