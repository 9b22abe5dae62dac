// The streaming demo: napkin tails data/live.jsonl while this script plays the collector, appending one delivery
// every 200 ms. The run ends 3 s after the last line (stopAfterIdle) or on Ctrl-C, and commits what it emitted.
// Run: npm run demo:stream
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { deliveries } from './generate.ts';

const here = dirname(fileURLToPath(import.meta.url));
const live = join(here, 'data', 'live.jsonl');
const bin = join(here, '..', '..', 'bin', 'napkin.js');

writeFileSync(live, '');
const run = spawn(process.execPath, [bin, 'run', 'live_clicks', '--project', here, '--summary'], { stdio: 'inherit' });
const exited = new Promise<number>((done) => run.on('exit', (code) => done(code ?? 1)));
// A stop asked of the demo is passed on, so napkin ends gracefully and commits.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => run.kill(signal));

for (const lines of deliveries()) {
  await sleep(200);
  appendFileSync(live, `${lines.join('\n')}\n`);
}
const code = await exited;
// The empty file is what the example ships with; leave it so.
writeFileSync(live, '');
if (code !== 0) process.exit(code);

const panes = readFileSync(join(here, 'out', 'live-panes.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l !== '')
  .map((l) => JSON.parse(l) as { page: string; window_start: string; views: number; pane_timing: string });
console.log('\nPanes of /pricing, in firing order (out/live-panes.jsonl has them all):');
for (const p of panes.filter((x) => x.page === '/pricing')) {
  console.log(`  ${p.window_start.slice(11, 16)}  ${p.pane_timing.padEnd(7)}  views ${p.views}`);
}
