// The public conformance vectors of the dataflow-semantics spec (§11), saved as given in test/transcripts/, run through
// the library and through the real CLI (`napkin transcript`), plus a wrong and an invalid transcript.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { comparePanes, parseTranscript, runTranscript } from '../src/runtime/window/transcript.ts';

const REPO = resolve(import.meta.dirname, '..');
const BIN = join(REPO, 'bin', 'napkin.js');
const DIR = join(REPO, 'test', 'transcripts');
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => join(DIR, f));

/** Every vector of §11, so that a lost file fails loudly. */
const VECTORS = [
  'assign-fixed-negative',
  'assign-fixed-offset',
  'assign-sliding',
  'boundary-end-of-window-and-expiry',
  'guide-count3-accumulating',
  'guide-count3-discarding',
  'lateness-horizon-accumulating',
  'sb-2-1-batch-global-sum',
  'sb-2-2-batch-fixed-2min',
  'sb-2-6-heuristic-watermark',
  'sb-2-6-perfect-watermark',
  'sb-2-7-perfect-early-ontime-late',
  'session-bridging-element',
  'session-touching-do-not-merge',
];

function napkin(...args: string[]) {
  return spawnSync(process.execPath, [BIN, 'transcript', ...args], { cwd: REPO, encoding: 'utf8' });
}

const temp = mkdtempSync(join(tmpdir(), 'napkin-transcripts-'));
after(() => rmSync(temp, { recursive: true, force: true }));

/** A copy of a vector with its JSON changed by `edit`, in the temp dir. */
function variant(vector: string, name: string, edit: (t: Record<string, unknown>) => void): string {
  const json = JSON.parse(readFileSync(join(DIR, `${vector}.json`), 'utf8')) as Record<string, unknown>;
  edit(json);
  const path = join(temp, `${name}.json`);
  writeFileSync(path, JSON.stringify(json));
  return path;
}

describe('conformance vectors (§11)', () => {
  it('are all saved', () => {
    assert.deepEqual(
      FILES.map((f) => f.slice(DIR.length + 1, -'.json'.length)),
      VECTORS,
    );
  });

  for (const file of FILES) {
    it(`${file.slice(DIR.length + 1)} emits exactly the expected panes`, () => {
      const t = parseTranscript(readFileSync(file, 'utf8'));
      const c = comparePanes(t.expect, runTranscript(t), t.ordered);
      assert.ok(c.equal, c.text);
    });
  }
});

describe('napkin transcript', () => {
  it('exits 0 on every vector and prints each emitted pane as one JSON line', () => {
    const r = napkin(...FILES);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    const expected = FILES.reduce((n, f) => n + parseTranscript(readFileSync(f, 'utf8')).expect.length, 0);
    assert.equal(lines.length, expected);
    for (const line of lines) assert.ok('timing' in (JSON.parse(line) as object));
    assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('ok ')).length, FILES.length);
  });

  it('exits 1 with a readable diff when the panes differ', () => {
    const wrong = variant('sb-2-2-batch-fixed-2min', 'wrong-sum', (t) => {
      (t.expect as { value: number }[])[0].value = 15;
    });
    const r = napkin(wrong);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /FAIL sb-2-2-batch-fixed-2min/);
    assert.match(r.stderr, /differs in value: expected 15, got 14/);
    assert.equal(r.stdout.trim().split('\n').length, 4, 'the emitted panes are still printed');
  });

  it('exits 2 when a file is invalid, naming the field', () => {
    const bad = variant('assign-fixed-offset', 'offset-too-large', (t) => {
      t.window = { type: 'fixed', size: 10000, offset: 10000 };
    });
    const r = napkin(bad);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /invalid transcript: window\.offset: must satisfy 0 ≤ offset < size/);
  });

  it('exits 2 when any file is invalid, even beside a wrong one', () => {
    const wrong = variant('guide-count3-discarding', 'wrong-count', (t) => {
      (t.expect as unknown[]).pop();
    });
    const r = napkin(wrong, join(temp, 'missing.json'));
    assert.equal(r.status, 2);
    assert.match(r.stderr, /FAIL guide-count3-discarding/);
    assert.match(r.stderr, /missing\.json: invalid transcript/);
  });
});
