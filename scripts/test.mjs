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

// The Kafka integration tests (*.kafka.test.ts) start a broker from the jars that scripts/kafka/fetch.sh fetches.
// A run that names no files leaves them out; `--kafka` (npm run test:kafka) runs only them, and `--integration`
// (npm run test:integration) runs them with the PostgreSQL ones outside the crash suite (as `--pg` with those files).
const KAFKA = /\.kafka\.test\.ts$/;
if (process.argv[2] === '--kafka' || process.argv[2] === '--integration') {
  const integration = process.argv[2] === '--integration';
  const named = process.argv.slice(3);
  const chosen =
    named.length > 0
      ? named
      : ['src', 'test', 'examples']
          .flatMap((d) => find(d, []))
          .filter(
            (f) =>
              KAFKA.test(f) || (integration && /\.pg\.test\.ts$/.test(f) && !f.startsWith(join('test', 'crash', ''))),
          )
          .sort();
  if (chosen.length === 0) {
    console.error(`${process.argv[2]}: no integration test files found`);
    process.exit(1);
  }
  process.argv.splice(2, process.argv.length, ...(integration ? ['--pg'] : []), ...chosen);
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
if (given.length === 0 && files.some((f) => KAFKA.test(f))) {
  const skipped = files.filter((f) => KAFKA.test(f)).length;
  files = files.filter((f) => !KAFKA.test(f));
  console.log(
    `# leaving out ${skipped} Kafka integration test files (*.kafka.test.ts, a real broker); run them with npm run test:kafka`,
  );
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
