// Runs every *.test.ts under src/, test/ and examples/ with Node's test runner (TypeScript through tsx).
// `npm test -- path/to/a.test.ts` runs only the files given. The PostgreSQL integration tests (*.pg.test.ts) start
// servers from Debian's binaries: they are left out when those are missing or NAPKIN_SKIP_PG_TESTS is set, and
// `npm run test:pg` (`--pg`) runs only them. The crash suite (test/crash/, several minutes) is left out of both:
// `npm run test:crash` (`--crash`) runs it, its PostgreSQL files included when the server binaries are there, and
// ends with the number of trials per sink kind and the wall time.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';

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
const CRASH = `test${sep}crash${sep}`;
const mode = process.argv[2] === '--pg' ? 'pg' : process.argv[2] === '--crash' ? 'crash' : 'all';
const given = process.argv.slice(mode === 'all' ? 2 : 3);
let files =
  given.length > 0
    ? given
    : mode === 'crash'
      ? longestFirst(find(join('test', 'crash'), []))
      : ['src', 'test', 'examples'].flatMap((d) => find(d, [])).sort();
if (mode !== 'crash' && given.length === 0) {
  const crash = files.filter((f) => f.startsWith(CRASH)).length;
  files = files.filter((f) => !f.startsWith(CRASH));
  console.log(
    `# leaving out the ${crash} crash-suite files (test/crash/, several minutes); run them with npm run test:crash`,
  );
}
if (mode === 'pg') {
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
      `# skipping ${skipped} PostgreSQL integration test files (*.pg.test.ts): ${why}; run them with npm run test:${mode === 'crash' ? 'crash where they are installed' : 'pg'}`,
    );
  }
}

// Crash-suite files append their trial figures here (test/crash/harness.ts Tally.record).
const tallyDir = mkdtempSync(join(tmpdir(), 'napkin-crash-tally-'));
const tally = join(tallyDir, 'tally.jsonl');
const started = Date.now();
if (given.length === 0 && files.some((f) => KAFKA.test(f))) {
  const skipped = files.filter((f) => KAFKA.test(f)).length;
  files = files.filter((f) => !KAFKA.test(f));
  console.log(
    `# leaving out ${skipped} Kafka integration test files (*.kafka.test.ts, a real broker); run them with npm run test:kafka`,
  );
}
const result = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  env: { ...process.env, NAPKIN_CRASH_TALLY: tally },
});
summarise(existsSync(tally) ? readFileSync(tally, 'utf8') : '', Date.now() - started);
rmSync(tallyDir, { recursive: true, force: true });
process.exit(result.status ?? 1);

/**
 * The crash suite's files, its trial suites first, then the rest by name: two files run at a time, and one of the long
 * ones started last would run on alone at the end.
 */
function longestFirst(found) {
  const first = ['bounded.test.ts', 'postgres.pg.test.ts', 'live.test.ts', 'disk-full.test.ts'];
  const rank = (f) => {
    const i = first.findIndex((n) => f.endsWith(`${sep}${n}`));
    return i < 0 ? first.length : i;
  };
  return found.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1));
}

/** The crash suite's trials, per suite and per kind of sink, and the wall time of the whole run. */
function summarise(text, ms) {
  const suites = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
  if (suites.length === 0) return;
  const sum = (k, xs = suites) => xs.reduce((n, s) => n + s[k], 0);
  const per = (kind) =>
    sum(
      'trials',
      suites.filter((s) => s.sinks.includes(kind)),
    );
  const kinds = ['DuckDB', 'files', 'PostgreSQL'].map((k) => `${k} ${per(k)}`);
  const wall = `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  console.log(
    `# crash suite: ${sum('trials')} trials (${sum('failed')} failed; NAPKIN_CRASH_TRIALS=${process.env.NAPKIN_CRASH_TRIALS ?? 'unset'}), ` +
      `${sum('runs')} napkin runs, ${sum('kills')} SIGKILLs, ${sum('terms')} SIGTERMs; wall time of this test run ${wall}`,
  );
  console.log(`# crash suite trials per sink kind (a trial counts for each kind its flows write): ${kinds.join(', ')}`);
  for (const s of suites) console.log(`#   ${s.suite}: ${s.trials} trials, ${s.failed} failed, ${s.seconds} s`);
}
