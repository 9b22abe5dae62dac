// The clicks example end to end, through the real CLI in a temp copy. Which views count is derived independently in
// DuckDB SQL from the delivery files: after each file the watermark is the newest view so far minus 5 s (M6), and a
// view is dropped when the watermark before its file had passed its minute's end plus the 5-minute lateness (L3).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deliveries } from '../examples/clicks/generate.ts';
import {
  BIN,
  type CliResult,
  copyProject,
  diffRows,
  napkin,
  queryDuck,
  REPO,
  type Row,
  removeDir,
  show,
  sqlString,
} from './helpers.ts';

interface Pane {
  readonly page: string;
  readonly window_start: string;
  readonly views: number;
  readonly pane_timing: 'EARLY' | 'ON_TIME' | 'LATE';
  readonly pane_index: number;
}

interface StageJson {
  readonly stage: string;
  readonly lateDropped: number;
}

describe('clicks example (event time)', () => {
  let dir = '';
  let run: CliResult;

  before(() => {
    dir = copyProject(join(REPO, 'examples', 'clicks'));
    run = napkin(dir, 'run', 'clicks', '--json');
  });
  after(() => removeDir(dir));

  const views = (filename: string) => `
    WITH views AS (
      SELECT page, CAST("at" AS TIMESTAMP) AS t, filename
      FROM read_json(${sqlString(join(dir, 'data', 'clicks', '*.jsonl'))}, filename = true,
                     columns = {'event_id': 'VARCHAR', 'page': 'VARCHAR', 'user_id': 'VARCHAR', 'at': 'TIMESTAMPTZ'})
    ),
    files AS (
      SELECT filename, max(max(t)) OVER (ORDER BY filename ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                       - INTERVAL 5 SECOND AS wm_before
      FROM views GROUP BY filename
    ),
    judged AS (
      SELECT page, time_bucket(INTERVAL 1 MINUTE, t) AS window_start,
             coalesce(wm_before >= time_bucket(INTERVAL 1 MINUTE, t) + INTERVAL 6 MINUTE, false) AS dropped
      FROM views JOIN files USING (filename)
    )
    ${filename}`;

  it('runs and reports the views that came too late', () => {
    assert.equal(run.status, 0, show(run));
    const flows = JSON.parse(run.stdout) as { stages: StageJson[] }[];
    const dropped = flows[0].stages.find((s) => s.stage === 'views_per_minute')?.lateDropped;
    return queryDuck(':memory:', views('SELECT count(*) AS n FROM judged WHERE dropped')).then((rows) => {
      assert.ok(Number(rows[0].n) > 0, 'the generated data has views over the lateness');
      assert.equal(dropped, Number(rows[0].n));
    });
  });

  it('the pane log shows EARLY, ON_TIME and LATE panes, in order per window, accumulating', () => {
    const panes = readFileSync(join(dir, 'out', 'panes.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Pane);
    const timings = new Set(panes.map((p) => p.pane_timing));
    assert.deepEqual([...timings].sort(), ['EARLY', 'LATE', 'ON_TIME']);
    const byWindow = new Map<string, Pane[]>();
    for (const p of panes) {
      const w = `${p.page} ${p.window_start}`;
      byWindow.set(w, [...(byWindow.get(w) ?? []), p]);
    }
    const rank = { EARLY: 0, ON_TIME: 1, LATE: 2 };
    for (const [w, ps] of byWindow) {
      ps.forEach((p, i) => {
        assert.equal(p.pane_index, i, `${w}: pane indexes count up`);
        if (i === 0) return;
        assert.ok(rank[p.pane_timing] >= rank[ps[i - 1].pane_timing], `${w}: EARLY, then ON_TIME, then LATE`);
        assert.ok(p.views >= ps[i - 1].views, `${w}: accumulating panes never shrink`);
      });
      assert.ok(ps.filter((p) => p.pane_timing === 'ON_TIME').length <= 1, `${w}: at most one ON_TIME pane`);
    }
  });

  it('the table holds the last pane of each page and minute: the SQL count of the views not dropped', async () => {
    const actual = await queryDuck(
      join(dir, 'out', 'warehouse.duckdb'),
      `SELECT page, strftime(window_start AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') AS window_start, views
       FROM web.page_views`,
    );
    const expected = await queryDuck(
      ':memory:',
      views(`SELECT page, strftime(window_start AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S') AS window_start,
                    count(*) AS views
             FROM judged WHERE NOT dropped GROUP BY ALL`),
    );
    assert.ok(expected.length > 0);
    assert.equal(diffRows(actual as Row[], expected), null);
  });
});

describe('clicks example (a followed file)', () => {
  let dir = '';
  before(() => {
    dir = copyProject(join(REPO, 'examples', 'clicks'));
  });
  after(() => removeDir(dir));

  it('tails appended lines and, on SIGTERM, ends gracefully and commits what it emitted', async () => {
    const child = spawn(process.execPath, [BIN, '--project', dir, 'run', 'live_clicks', '--json'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const sent = deliveries();
    for (const lines of sent) {
      await new Promise((r) => setTimeout(r, 100));
      appendFileSync(join(dir, 'data', 'live.jsonl'), `${lines.join('\n')}\n`);
    }
    // Once the lines are in the topic, napkin is ingesting (its signal handlers are in place however slow its start
    // was), and the signal comes well inside the 3 s idle stop: the signal, not idleness, ends this run.
    const segment = join(dir, '.napkin', 'log', 'web.live_clicks', 'partition-0', '00000000000000000000.seg');
    for (let i = 0; i < 600 && !(existsSync(segment) && statSync(segment).size > 0); i++)
      await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, `exit ${code}\n${stdout}\n${stderr}`);
    const flows = JSON.parse(stdout) as { stages: { stage: string; in: number }[] }[];
    const read = flows[0].stages.find((s) => s.stage === 'read_1');
    assert.equal(read?.in, sent.flat().length, 'every appended view was read');
    const rows = await queryDuck(
      join(dir, 'out', 'warehouse.duckdb'),
      'SELECT sum(views) AS n FROM web.live_page_views',
    );
    assert.ok(Number(rows[0].n) > 0, 'the sink committed the panes emitted before the stop');
  });
});
