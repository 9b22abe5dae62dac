import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { contract, t } from '../../flow/contract.ts';
import { jsonl } from '../../flow/storage.ts';
import type { SourceChunk } from '../../runtime/execute.ts';
import { openTailSource } from './tail-source.ts';

const clicks = contract({ eventTime: 'at', fields: { page: t.string(), at: t.timestamp() } });
const line = (page: string, at: string) => `${JSON.stringify({ page, at })}\n`;

test('jsonl follow options: one file, positive poll, durations checked', () => {
  assert.deepEqual(jsonl('a.jsonl', { follow: true, stopAfterIdle: '1s' }), {
    kind: 'jsonl',
    path: 'a.jsonl',
    follow: { pollMs: 200, stopAfterIdleMs: 1_000 },
  });
  assert.throws(() => jsonl('data/*.jsonl', { follow: true }), /glob/);
  assert.throws(() => jsonl('a.jsonl', { stopAfterIdle: '1s' }), /follow/);
});

test('a followed file: what is there, appended lines (a split line too), then the end after idling', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'napkin-tail-'));
  try {
    const file = join(dir, 'c.jsonl');
    writeFileSync(file, line('a', '2024-01-01T00:00:00Z'));
    const source = openTailSource({
      file,
      display: 'c.jsonl',
      contract: clicks,
      follow: { pollMs: 10, stopAfterIdleMs: 150 },
      now: () => Date.now(),
    });
    const chunks: SourceChunk[] = [];
    const appending = (async () => {
      await new Promise((r) => setTimeout(r, 30));
      const l = line('b', '2024-01-01T00:00:01Z');
      appendFileSync(file, l.slice(0, 5));
      await new Promise((r) => setTimeout(r, 30));
      appendFileSync(file, `${l.slice(5)}${line('c', '2024-01-01T00:00:02Z')}{"page": 1}\n`);
    })();
    for await (const c of source.chunks()) chunks.push(c);
    await appending;
    const pages = chunks.flatMap((c) => c.batch.columns[0].slice(0, c.batch.length));
    assert.deepEqual(pages, ['a', 'b', 'c']);
    assert.equal(
      chunks.reduce((n, c) => n + c.rejected.length, 0),
      1,
    );
    assert.ok(
      chunks.some((c) => c.batch.length === 0),
      'quiet polls yield empty chunks',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an aborted signal ends a followed file after what was read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'napkin-tail-'));
  try {
    const file = join(dir, 'c.jsonl');
    writeFileSync(file, line('a', '2024-01-01T00:00:00Z'));
    const stop = new AbortController();
    const source = openTailSource({
      file,
      display: 'c.jsonl',
      contract: clicks,
      follow: { pollMs: 10_000 },
      signal: stop.signal,
      now: () => Date.now(),
    });
    let rows = 0;
    for await (const c of source.chunks()) {
      rows += c.batch.length;
      stop.abort();
    }
    assert.equal(rows, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
