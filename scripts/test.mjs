// Runs every *.test.ts under src/, test/ and examples/ with Node's test runner (TypeScript through tsx).
// `npm test -- path/to/a.test.ts` runs only the files given. The PostgreSQL integration tests (*.pg.test.ts) start
// servers from Debian's binaries: they are left out when those are missing or NAPKIN_SKIP_PG_TESTS is set, and
// `npm run test:pg` (`--pg`) runs only them.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function find(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** Where initdb is: NAPKIN_PG_BIN, else /usr/lib/postgresql/<n>/bin (as test/pg-server.ts looks). */
function pgBin() {
  if (process.env.NAPKIN_PG_BIN)
    return existsSync(join(process.env.NAPKIN_PG_BIN, 'initdb')) ? process.env.NAPKIN_PG_BIN : null;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  return versions.length > 0 ? join(root, versions[0], 'bin') : null;
}

const PG = /\.pg\.test\.ts$/;
const pgOnly = process.argv[2] === '--pg';
const given = process.argv.slice(pgOnly ? 3 : 2);
let files = given.length > 0 ? given : ['src', 'test', 'examples'].flatMap((d) => find(d, [])).sort();
if (pgOnly) {
  if (given.length === 0) files = files.filter((f) => PG.test(f));
  if (pgBin() === null) {
    console.error(
      'test:pg: no PostgreSQL server binaries (initdb); run apt-get install -y postgresql or set NAPKIN_PG_BIN',
    );
    process.exit(1);
  }
} else if (given.length === 0) {
  const why = process.env.NAPKIN_SKIP_PG_TESTS
    ? 'NAPKIN_SKIP_PG_TESTS is set'
    : pgBin() === null
      ? 'no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin or NAPKIN_PG_BIN'
      : null;
  if (why !== null) {
    const skipped = files.filter((f) => PG.test(f)).length;
    files = files.filter((f) => !PG.test(f));
    console.log(
      `# skipping ${skipped} PostgreSQL integration test files (*.pg.test.ts): ${why}; run them with npm run test:pg`,
    );
  }
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
