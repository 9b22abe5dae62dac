import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { NexmarkGenerator } from '../../nexmark/generator.ts';
import { allEvents } from '../../nexmark/testing.ts';

const BIN = resolve(import.meta.dirname, '..', '..', '..', 'bin', 'napkin.js');
const dir = mkdtempSync(join(tmpdir(), 'napkin-nexmark-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function napkin(...args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
}

test('napkin nexmark generate writes the generator events as JSON Lines and exits 0', () => {
  const out = join(dir, 'events.jsonl');
  const r = napkin('nexmark', 'generate', '--events', '1000', '--out', out);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(out, 'utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.deepEqual(
    lines.map((l) => JSON.parse(l)),
    allEvents(new NexmarkGenerator({ events: 1000 })),
  );
});

test('a usage error (an out-of-order group of 953) exits 2 with one line and writes nothing', () => {
  const out = join(dir, 'bad.jsonl');
  const r = napkin('nexmark', 'generate', '--events', '1000', '--out-of-order', '953', '--out', out);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^napkin: .*multiple of 953.*\n$/);
  assert.ok(!existsSync(out));
});

test('an unknown output extension exits 2', () => {
  const r = napkin('nexmark', 'generate', '--events', '10', '--out', join(dir, 'events.csv'));
  assert.equal(r.status, 2);
  assert.match(r.stderr, /\.jsonl or FILE\.parquet/);
});
