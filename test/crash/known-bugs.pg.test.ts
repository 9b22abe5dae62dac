// Minimal reproductions of napkin bugs with PostgreSQL sinks that the crash suite found. Each is fixed; its test keeps
// it from coming back (a new finding goes here marked `todo` until it is fixed).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { removeDir, tempProject, writeFiles } from '../helpers.ts';
import { usePgServer } from '../pg-server.ts';
import { runOnce } from './harness.ts';

const config = (
  outputs: string,
) => `import { contract, csv, dataset, defineProject, flow, postgres, read, t, write } from 'napkin';
const c = contract({ key: ['id'], fields: { id: t.int64(), name: t.string() } });
const input = dataset('in', { owner: 'tests', storage: csv('data/in.csv'), contract: c });
const pg = (n: string) =>
  dataset(\`pg.\${n}\`, { owner: 'tests', storage: postgres({ table: \`bugs.\${n}\`, connection: 'env:NAPKIN_PG_URL' }), contract: c });
export default defineProject({
  name: 'bugs',
  warehouse: 'out/warehouse.duckdb',
  flows: [flow({ name: 'f', owner: 'tests', sla: '1d', outputs: [${outputs}] })],
});
`;

describe('known napkin bugs with PostgreSQL sinks (crash suite findings)', () => {
  usePgServer();
  let dir: string;
  before(() => {
    dir = tempProject('napkin-pg-bugs-');
  });
  after(() => removeDir(dir));

  it('a flow with two PostgreSQL sinks runs: its sinks do not fence each other', async () => {
    writeFiles(dir, {
      'napkin.config.ts': config(`write(pg('a'), read(input)), write(pg('b'), read(input))`),
      'data/in.csv': 'id,name\n1,a\n2,b\n',
    });
    const r = await runOnce(dir, ['run', 'f'], { kind: 'kill', afterMs: 20_000 });
    assert.equal(r.code, 0, `exit ${r.code} (${r.signal ?? 'no signal'}):\n${r.stderr}`);
  });

  it('a run that fails with a PostgreSQL sink open exits', async () => {
    writeFiles(dir, {
      'napkin.config.ts': config(`write(pg('c'), read(input))`),
      'data/in.csv': 'id,name\n1,a\nx,b\n',
    });
    // Killed after 20 s if it does not exit by itself.
    const r = await runOnce(dir, ['run', 'f'], { kind: 'kill', afterMs: 20_000 });
    assert.match(r.stderr, /data\/in\.csv:3 field \/id: type error/);
    assert.equal(r.signal, null, 'the CLI printed its error and did not exit; it was killed after 20 s');
    assert.equal(r.code, 1);
  });
});
