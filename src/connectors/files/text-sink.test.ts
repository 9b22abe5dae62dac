// The CSV and JSON Lines sinks across epochs (spec reliability §2.4): fresh outputs and appends, the commit key in the
// sink manifest, and exactly-once content after a crash between the data rename and the manifest rename, simulated
// (the old manifest put back) and real (a child process SIGKILLed at that point).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Value } from '../../expr/types.ts';
import { contract, t } from '../../flow/contract.ts';
import type { Batch } from '../../runtime/batch.ts';
import type { EpochCommit } from '../../runtime/execute.ts';
import { manifestPathFor, type SinkManifest } from './sink-manifest.ts';
import { openTextSink } from './text-sink.ts';
import { openTextSource } from './text-source.ts';

const c = contract({ fields: { id: t.int64(), name: t.string(), at: t.timestamp() } });
const AT = Date.UTC(2024, 4, 1, 12, 30);

/** Epoch n's rows: ids n*100.., names that need CSV quoting. */
function rowsOf(epoch: number, n = 3): Value[][] {
  return Array.from({ length: n }, (_, i) => [epoch * 100 + i, `e${epoch}, "r${i}"\nnext`, AT + epoch * 1000 + i]);
}

function batchOf(rows: readonly Value[][]): Batch {
  return { length: rows.length, columns: c.schema.fields.map((_, i) => rows.map((r) => r[i])) };
}

function key(epoch: number, fresh: boolean): EpochCommit {
  return { flow: 'f', sink: 'out', partition: '0', epoch, fingerprint: 'fp', fresh };
}

type Format = 'csv' | 'jsonl';

function open(path: string, format: Format) {
  return openTextSink({ format, path, display: format, contract: c.schema, input: c.schema });
}

/** One epoch on a new writer, as a restarted process would commit it. */
async function commitEpoch(path: string, format: Format, epoch: number, fresh: boolean): Promise<string> {
  const w = open(path, format);
  w.write(batchOf(rowsOf(epoch)));
  return w.commit(key(epoch, fresh));
}

async function readBack(path: string, format: Format): Promise<Value[][]> {
  const out: Value[][] = [];
  for await (const ch of openTextSource({ format, files: [path], display: () => path, contract: c }).chunks()) {
    assert.deepEqual(ch.rejected, []);
    for (let i = 0; i < ch.batch.length; i++) out.push(ch.batch.columns.map((col) => col[i]));
  }
  return out;
}

const manifestOf = (path: string): SinkManifest => JSON.parse(readFileSync(manifestPathFor(path), 'utf8'));

/** The output of a crash-free run committing epochs 1 (fresh), 2 and 3. */
async function reference(format: Format): Promise<Buffer> {
  const path = join(mkdtempSync(join(tmpdir(), 'napkin-text-ref-')), `out.${format}`);
  for (const e of [1, 2, 3]) await commitEpoch(path, format, e, e === 1);
  return readFileSync(path);
}

for (const format of ['csv', 'jsonl'] as const) {
  describe(`${format} sink across epochs`, () => {
    const dirOf = () => mkdtempSync(join(tmpdir(), `napkin-text-${format}-`));

    test('one writer publishes a fresh epoch, then appends the next ones; the manifest holds keys and totals', async () => {
      const path = join(dirOf(), `out.${format}`);
      const w = open(path, format);
      for (const e of [1, 2, 3]) {
        w.write(batchOf(rowsOf(e).slice(0, 1)));
        w.write(batchOf(rowsOf(e).slice(1)));
        assert.equal(await w.commit(key(e, e === 1)), `${format} ${format} (3 rows)`);
      }
      assert.deepEqual(await readBack(path, format), [...rowsOf(1), ...rowsOf(2), ...rowsOf(3)]);
      if (format === 'csv') assert.equal(readFileSync(path, 'utf8').split('id,name,at\n').length, 2, 'one header');
      const m = manifestOf(path);
      assert.deepEqual(
        { flow: m.flow, sink: m.sink, partition: m.partition, fingerprint: m.fingerprint, file: m.file },
        { flow: 'f', sink: 'out', partition: '0', fingerprint: 'fp', file: `out.${format}` },
      );
      assert.deepEqual(
        m.epochs.map((e) => [e.epoch, e.fresh, e.rows]),
        [
          [1, true, 3],
          [2, false, 6],
          [3, false, 9],
        ],
      );
      assert.equal(m.epochs[2].bytes, readFileSync(path).length);
      assert.deepEqual(readFileSync(path), await reference(format));
    });

    test('a fresh epoch replaces the output', async () => {
      const path = join(dirOf(), `out.${format}`);
      for (const e of [1, 2]) await commitEpoch(path, format, e, e === 1);
      await commitEpoch(path, format, 3, true);
      assert.deepEqual(await readBack(path, format), rowsOf(3));
      assert.deepEqual(
        manifestOf(path).epochs.map((e) => e.epoch),
        [3],
      );
    });

    test('an epoch committed again by a new writer (after a restart) is dropped', async () => {
      const dir = dirOf();
      const path = join(dir, `out.${format}`);
      for (const e of [1, 2]) await commitEpoch(path, format, e, e === 1);
      const before = readFileSync(path);
      const again = open(path, format);
      again.write(batchOf(rowsOf(9)));
      assert.equal(await again.commit(key(2, false)), `${format} ${format} (epoch 2 already committed)`);
      assert.equal(await commitEpoch(path, format, 1, true), `${format} ${format} (epoch 1 already committed)`);
      assert.deepEqual(readFileSync(path), before);
      assert.deepEqual(readdirSync(dir).sort(), [`.out.${format}.napkin-commits.json`, `out.${format}`]);
    });

    test('a crash between the data rename and the manifest rename of an appending epoch converges to exactly once', async () => {
      const path = join(dirOf(), `out.${format}`);
      await commitEpoch(path, format, 1, true);
      const manifest = readFileSync(manifestPathFor(path));
      await commitEpoch(path, format, 2, false);
      // The state the crash leaves: epoch 2's data in place, the manifest still at epoch 1.
      writeFileSync(manifestPathFor(path), manifest);
      assert.match(await commitEpoch(path, format, 2, false), /\(3 rows\)/);
      await commitEpoch(path, format, 3, false);
      assert.deepEqual(readFileSync(path), await reference(format));
      assert.deepEqual(
        manifestOf(path).epochs.map((e) => e.epoch),
        [1, 2, 3],
      );
    });

    test('a crash between the renames of a fresh epoch converges to exactly once', async () => {
      const path = join(dirOf(), `out.${format}`);
      // The first epoch ever: no manifest existed before it.
      await commitEpoch(path, format, 1, true);
      rmSync(manifestPathFor(path));
      await commitEpoch(path, format, 1, true);
      for (const e of [2, 3]) await commitEpoch(path, format, e, false);
      assert.deepEqual(readFileSync(path), await reference(format));
      // A fresh epoch replacing an output.
      const manifest = readFileSync(manifestPathFor(path));
      await commitEpoch(path, format, 4, true);
      writeFileSync(manifestPathFor(path), manifest);
      await commitEpoch(path, format, 4, true);
      await commitEpoch(path, format, 5, false);
      assert.deepEqual(await readBack(path, format), [...rowsOf(4), ...rowsOf(5)]);
      assert.deepEqual(
        manifestOf(path).epochs.map((e) => e.epoch),
        [4, 5],
      );
    });

    test('a crash before the data rename leaves the output as it was; the epoch is committed by the next writer', async () => {
      const dir = dirOf();
      const path = join(dir, `out.${format}`);
      await commitEpoch(path, format, 1, true);
      const crashed = open(path, format);
      crashed.write(batchOf(rowsOf(2)));
      await commitEpoch(path, format, 2, false);
      await commitEpoch(path, format, 3, false);
      assert.deepEqual(readFileSync(path), await reference(format));
      await crashed.abort();
      assert.equal(readdirSync(dir).length, 2, 'abort removes the epoch file');
    });

    test('SIGKILL between the data rename and the manifest rename, then regeneration: exactly once', async () => {
      const path = join(dirOf(), `out.${format}`);
      const killed = await child(path, format, 'file-sink-published:2');
      assert.equal(killed.signal, 'SIGKILL', killed.stderr);
      assert.equal(manifestOf(path).epochs.at(-1)?.epoch, 1, 'the manifest still ends at epoch 1');
      assert.equal((await readBack(path, format)).length, 6, "epoch 2's data is in place");
      const rest = await child(path, format);
      assert.equal(rest.code, 0, rest.stderr);
      assert.deepEqual(readFileSync(path), await reference(format));
    });

    test('an appending epoch refuses a damaged manifest, a missing one, and a file shorter than committed', async () => {
      const path = join(dirOf(), `out.${format}`);
      await commitEpoch(path, format, 1, true);
      const good = readFileSync(manifestPathFor(path));
      writeFileSync(manifestPathFor(path), '{"format":"napkin-sink-manifest"');
      await assert.rejects(
        commitEpoch(path, format, 2, false),
        (e: Error) => e.message.includes(manifestPathFor(path)) && /damaged \(it is not valid JSON\)/.test(e.message),
      );
      writeFileSync(manifestPathFor(path), JSON.stringify({ ...JSON.parse(good.toString()), version: 2 }));
      await assert.rejects(commitEpoch(path, format, 2, false), /damaged \(version 2 is not 1\)/);
      rmSync(manifestPathFor(path));
      await assert.rejects(commitEpoch(path, format, 2, false), /has no manifest; the output must start with a fresh/);
      writeFileSync(manifestPathFor(path), good);
      truncateSync(path, 5);
      await assert.rejects(commitEpoch(path, format, 2, false), /commits its first \d+ bytes but the file has 5/);
    });

    test('a commit without an epoch publishes a one-off output and removes the manifest', async () => {
      const path = join(dirOf(), `out.${format}`);
      await commitEpoch(path, format, 1, true);
      const w = open(path, format);
      w.write(batchOf(rowsOf(7)));
      assert.equal(await w.commit(), `${format} ${format} (3 rows)`);
      assert.deepEqual(await readBack(path, format), rowsOf(7));
      assert.throws(() => readFileSync(manifestPathFor(path)), /ENOENT/);
    });
  });
}

/**
 * A process committing epochs 1 (fresh), 2 and 3 on one writer, skipping those the manifest holds; with `crashAt` it
 * SIGKILLs itself there.
 */
function child(
  path: string,
  format: Format,
  crashAt?: string,
): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  const sink = pathToFileURL(join(import.meta.dirname, 'text-sink.ts')).href;
  const spec = JSON.stringify({
    path,
    format,
    schema: c.schema,
    epochs: [1, 2, 3].map((e) => ({ key: key(e, e === 1), batch: batchOf(rowsOf(e)) })),
  });
  const code = `
    const { openTextSink } = await import(${JSON.stringify(sink)});
    const s = JSON.parse(process.env.SPEC);
    const w = openTextSink({ format: s.format, path: s.path, display: 'x', contract: s.schema, input: s.schema });
    for (const e of s.epochs) { w.write(e.batch); await w.commit(e.key); }`;
  const env: NodeJS.ProcessEnv = { ...process.env, SPEC: spec };
  if (crashAt === undefined) delete env.NAPKIN_CRASH_AT;
  else env.NAPKIN_CRASH_AT = crashAt;
  return new Promise((resolve) => {
    const p = execFile(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code],
      { env },
      (error, _out, stderr) => {
        resolve({ signal: p.signalCode ?? (error?.signal as NodeJS.Signals | null), code: p.exitCode, stderr });
      },
    );
  });
}
