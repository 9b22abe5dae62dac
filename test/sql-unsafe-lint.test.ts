// The SQL lint of spec reliability §5: with the `postgres` client, only tagged-template queries. Its raw-string escape
// hatch (`sql.unsafe(text)`) is banned everywhere under src/ except one reviewed module passing constant strings only.
// That module is the CDC source's replication commands: a walsender connection takes the simple query protocol
// only, so its texts are constants plus names that passed the identifier allowlist, double-quoted (no quote can be in
// them). DDL that takes numbers goes through napkin.add_numeric_column.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = join(import.meta.dirname, '..', 'src');
/** Reviewed modules allowed to call `unsafe` with constant strings (paths relative to src/). */
const REVIEWED: readonly string[] = ['connectors/postgres/replication.ts'];
const UNSAFE = /\.\s*unsafe\s*\(|\[\s*['"`]unsafe['"`]\s*\]/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : /\.[cm]?[jt]s$/.test(p) ? [p] : [];
  });
}

/** `file:line` of every use of `unsafe` in a text. */
export function unsafeUses(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => (UNSAFE.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : []));
}

test('the lint finds the escape hatch in its forms', () => {
  assert.equal(unsafeUses('x.ts', 'await sql.unsafe("drop table " + t)').length, 1);
  assert.equal(unsafeUses('x.ts', "await sql\n  .unsafe ('x')").length, 1);
  assert.equal(unsafeUses('x.ts', "sql['unsafe'](q)").length, 1);
  assert.equal(unsafeUses('x.ts', 'await sql`select 1` // safe').length, 0);
});

test('no sql.unsafe under src/ outside the reviewed modules', () => {
  const offenders = files(SRC)
    .map((f) => relative(SRC, f))
    .filter((f) => !REVIEWED.includes(f))
    .flatMap((f) => unsafeUses(f, readFileSync(join(SRC, f), 'utf8')));
  assert.deepEqual(offenders, [], 'use a tagged template; identifiers through sql(name) from an allowlist');
});
