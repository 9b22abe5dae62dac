// The crash suite checks itself: every check can fail. A project from a fault-free run is copied and damaged in one
// way at a time (a duplicated or lost row in each kind of sink, an uncommitted file tail, a quarantine entry doubled or
// from an uncommitted epoch, a missing commit entry or commit key, a leftover temporary file) or the expectation is
// broken (E short of a row, Q short of an entry, other counters), and exactly the check that must catch it fails.
// Last, a whole trial with a duplicate injected after its run must be reported as failed.
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { napkin, show, sqlString } from '../helpers.ts';
import { type CheckName, capture, compare, type Expectation, type Snapshot } from './checks.ts';
import { type RunRecord, runOnce } from './harness.ts';
import { BATCH_FLOW, boundedData, boundedSubset, newProject, removeProject, writeBoundedFiles } from './project.ts';
import { boundedScenario } from './scenarios.ts';
import { disposeReference, referenceRun, runTrials } from './trials.ts';

/** Runs SQL statements on a warehouse, writing. */
async function writeDuck(file: string, ...sql: string[]): Promise<void> {
  const instance = await DuckDBInstance.create(file);
  const c = await instance.connect();
  try {
    for (const s of sql) await c.run(s);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
}

describe('crash suite checks: each one catches what it is for', () => {
  const input = boundedData();
  const expect: Expectation = { bad: boundedSubset(input, 2).bad, sourceRecords: 2 * 4000 };
  let base: string;
  let final: RunRecord;
  let ref: Snapshot;
  const copies: string[] = [];
  before(async () => {
    base = newProject();
    writeBoundedFiles(base, input, 2);
    final = await runOnce(base, ['run', 'batch_events', '--json'], undefined);
    assert.equal(final.code, 0, final.stderr);
    ref = await capture(base, BATCH_FLOW, final);
  });
  after(() => {
    removeProject(base);
    for (const c of copies) removeProject(c);
  });

  /** A copy of the completed project, damaged by `damage`; returns which checks fail and their details. */
  async function failing(
    damage: (dir: string) => Promise<void> | void,
    broken: Partial<{ ref: Snapshot; expect: Expectation }> = {},
  ) {
    const dir = newProject();
    copies.push(dir);
    cpSync(base, dir, { recursive: true, filter: (p) => !p.startsWith(join(base, 'node_modules')) });
    await damage(dir);
    const got = await capture(dir, BATCH_FLOW, final);
    const results = compare(broken.ref ?? ref, got, BATCH_FLOW, broken.expect ?? expect);
    return Object.fromEntries(results.filter((r) => !r.ok).map((r) => [r.name, r.detail])) as Partial<
      Record<CheckName, string>
    >;
  }
  const warehouse = (dir: string) => join(dir, 'out', 'warehouse.duckdb');

  it('an undamaged copy passes every check', async () => {
    assert.deepEqual(await failing(() => undefined), {});
  });

  it('a duplicated row in a DuckDB table fails “sinks = E”, listed as duplicated', async () => {
    const f = await failing((d) =>
      writeDuck(warehouse(d), 'INSERT INTO crash.events_clean SELECT * FROM crash.events_clean WHERE id = 7'),
    );
    assert.deepEqual(Object.keys(f), ['sinks = E']);
    assert.match(f['sinks = E'] ?? '', /write_crash_events_clean: .*duplicated 1 \[\{"at":.*"id":7,/);
  });

  it('a lost row in a DuckDB merge table fails “sinks = E”, listed as lost', async () => {
    const f = await failing((d) => writeDuck(warehouse(d), `DELETE FROM crash.per_key WHERE key = 'k3'`));
    assert.deepEqual(Object.keys(f), ['sinks = E']);
    assert.match(f['sinks = E'] ?? '', /write_crash_per_key: 7 rows, expected 8; lost 1 \[\{.*"key":"k3"/);
  });

  it('a duplicated line within the committed bytes of a CSV file fails “sinks = E”', async () => {
    const f = await failing((d) => {
      const file = join(d, 'out', 'big-events.csv');
      const lines = readFileSync(file, 'utf8').split('\n');
      const text = [...lines.slice(0, 3), lines[2], ...lines.slice(3)].join('\n');
      writeFileSync(file, text);
      const m = join(d, 'out', '.big-events.csv.napkin-commits.json');
      const manifest = JSON.parse(readFileSync(m, 'utf8')) as { epochs: { rows: number; bytes: number }[] };
      const last = manifest.epochs[manifest.epochs.length - 1];
      last.rows++;
      last.bytes = Buffer.byteLength(text);
      writeFileSync(m, JSON.stringify(manifest));
    });
    assert.deepEqual(Object.keys(f), ['sinks = E']);
    assert.match(f['sinks = E'] ?? '', /write_crash_big_events: .*duplicated 1/);
  });

  it('a lost row in a Parquet file fails “sinks = E”', async () => {
    const f = await failing(async (d) => {
      const file = join(d, 'out', 'per-minute.parquet');
      const tmp = `${file}.x`;
      await writeDuck(
        ':memory:',
        `COPY (SELECT * FROM read_parquet(${sqlString(file)}) WHERE NOT (key = 'k1' AND n = (SELECT min(n) FROM read_parquet(${sqlString(file)}) WHERE key = 'k1'))) TO ${sqlString(tmp)} (FORMAT parquet)`,
      );
      cpSync(tmp, file);
      rmSync(tmp);
    });
    assert.ok(f['sinks = E']?.includes('write_crash_per_minute'), JSON.stringify(f));
    assert.match(f['sinks = E'] ?? '', /lost 1/);
  });

  it('a line past the manifest’s committed bytes fails only “no leaks”: readers through the manifest never see it', async () => {
    const f = await failing((d) => {
      const file = join(d, 'out', 'big-events.csv');
      writeFileSync(file, `${readFileSync(file, 'utf8')}99999,k1,1,999,2024-05-01T12:00:00.000Z\n`);
    });
    assert.deepEqual(Object.keys(f), ['no leaks']);
    assert.match(f['no leaks'] ?? '', /big-events\.csv has \d+ bytes, its manifest commits \d+/);
  });

  it('a quarantine entry recorded twice fails “quarantine = Q once”', async () => {
    const f = await failing((d) =>
      writeDuck(
        warehouse(d),
        'INSERT INTO napkin_meta.quarantine SELECT * FROM napkin_meta.quarantine ORDER BY line LIMIT 1',
      ),
    );
    assert.deepEqual(Object.keys(f), ['quarantine = Q once']);
    assert.match(f['quarantine = Q once'] ?? '', /duplicated 1/);
  });

  it('a quarantine entry of an uncommitted epoch fails “quarantine = Q once”', async () => {
    const f = await failing((d) =>
      writeDuck(
        warehouse(d),
        `INSERT INTO napkin_meta.quarantine SELECT * REPLACE ('batch_events#2' AS run_id) FROM napkin_meta.quarantine LIMIT 1`,
      ),
    );
    assert.deepEqual(Object.keys(f), ['quarantine = Q once']);
    assert.match(f['quarantine = Q once'] ?? '', /entries of uncommitted epochs: batch_events#2/);
  });

  it('a broken expectation fails its check: E short of a row, Q short of an entry, other counters', async () => {
    const short = { ...ref, sinks: { ...ref.sinks, write_crash_per_key: ref.sinks.write_crash_per_key.slice(1) } };
    assert.deepEqual(Object.keys(await failing(() => undefined, { ref: short })), ['sinks = E']);
    const lessQ = { ...expect, bad: expect.bad.slice(1) };
    const q = await failing(() => undefined, { expect: lessQ });
    assert.deepEqual(Object.keys(q), ['quarantine = Q once', 'counters conserve']);
    assert.match(q['quarantine = Q once'] ?? '', /unexpected 1/);
    const counters = { ...ref.counters, per_key: { ...ref.counters.per_key, out: ref.counters.per_key.out + 1 } };
    const c = await failing(() => undefined, { ref: { ...ref, counters } });
    assert.deepEqual(Object.keys(c), ['counters conserve']);
    assert.match(c['counters conserve'] ?? '', /per_key: .*the reference run has/);
  });

  it('a missing commit entry, a missing commit key or a damaged checkpoint fails “epoch records”', async () => {
    const flows = (d: string, ...p: string[]) => join(d, '.napkin', 'flows', 'batch_events', ...p);
    const noCommit = await failing((d) => rmSync(flows(d, 'commits', '000000000001.json')));
    // Its quarantine entries now belong to an uncommitted epoch, too.
    assert.deepEqual(Object.keys(noCommit), ['quarantine = Q once', 'epoch records']);
    assert.match(noCommit['epoch records'] ?? '', /latest commit entry undefined ≠ latest offset entry 1/);
    const noKey = await failing((d) =>
      writeDuck(warehouse(d), `DELETE FROM napkin_meta.sink_commits WHERE sink = 'write_crash_per_key'`),
    );
    assert.deepEqual(Object.keys(noKey), ['epoch records']);
    assert.match(noKey['epoch records'] ?? '', /write_crash_per_key lacks the commit key of epoch\(s\) 1/);
    const damaged = await failing((d) => {
      const cp = flows(d, 'checkpoints', '000000000001.json');
      writeFileSync(cp, readFileSync(cp, 'utf8').replace('"writtenAt": "', '"writtenAt": "1'));
    });
    assert.ok(damaged['epoch records']?.includes('checkpoints/1 fails its checksum'), JSON.stringify(damaged));
  });

  it('a leftover temporary file or lock fails “no leaks”', async () => {
    const f = await failing((d) => {
      writeFileSync(join(d, '.napkin', 'flows', 'batch_events', 'offsets', '000000000002.json.tmp'), '{');
      writeFileSync(join(d, '.napkin', 'flows', 'batch_events', 'owner.json'), '{}');
    });
    assert.deepEqual(Object.keys(f), ['no leaks']);
    assert.match(f['no leaks'] ?? '', /temporary file .*000000000002\.json\.tmp; flow lock .*owner\.json/);
  });

  it('a trial whose run is followed by an injected duplicate is reported failed, with the seed to replay it', async () => {
    const scenario = {
      ...boundedScenario(),
      tamper: (d: string) =>
        writeDuck(
          warehouse(d),
          'INSERT INTO crash.events_clean SELECT * FROM crash.events_clean WHERE id = (SELECT min(id) FROM crash.events_clean)',
        ),
    };
    const reference = await referenceRun(scenario);
    try {
      const { tally, failures } = await runTrials(scenario, reference, [{ name: 'random@7', seed: 7 }], 1);
      assert.equal(tally.failed, 1, tally.line('self-test'));
      assert.match(failures[0], /✗ trial random@7: step \d:\n\s+✗ sinks = E: write_crash_events_clean: .*duplicated 1/);
      assert.match(failures[0], /replay: NAPKIN_CRASH_REPLAY='random@7'/);
      const kept = /project kept: (\S+)/.exec(failures[0]);
      assert.ok(kept !== null);
      copies.push(kept[1]);
      assert.match(readFileSync(join(kept[1], 'crash-history.log'), 'utf8'), /napkin run batch_events --json with/);
    } finally {
      disposeReference(reference);
    }
    const again = napkin(base, 'run', 'batch_events');
    assert.equal(again.status, 0, show(again));
  });
});
