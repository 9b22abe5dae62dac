// The core (expr, flow, time, plan, runtime, state) knows nothing of I/O, and dependencies point inward only:
// expr (types and expressions) is innermost, then flow (the DSL), plan, runtime.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const SRC = join(import.meta.dirname, '..', 'src');
const CORE = ['flow', 'expr', 'time', 'plan', 'runtime', 'state'];
/** Each layer may import only itself and the layers listed. */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  time: [],
  expr: [],
  flow: ['time', 'expr'],
  state: ['expr', 'time'],
  plan: ['flow', 'expr', 'time'],
  runtime: ['flow', 'expr', 'time', 'plan', 'state'],
  connectors: ['flow', 'expr', 'time', 'plan', 'runtime', 'state'],
  log: ['expr', 'time', 'state'],
  draw: ['flow', 'expr', 'time', 'plan'],
  workspace: ['flow', 'expr', 'time', 'plan', 'runtime', 'state', 'connectors', 'log'],
  nexmark: ['flow', 'expr', 'time', 'plan', 'runtime', 'state', 'connectors', 'log'],
  cli: ['flow', 'expr', 'time', 'plan', 'runtime', 'state', 'connectors', 'workspace', 'draw', 'nexmark', 'log'],
};
const IO =
  /^(node:(fs|fs\/promises|net|http|https|child_process|worker_threads)|@duckdb\/|tinyglobby|postgres(\/|$)|@platformatic\/kafka)/;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*?from\s+'([^']+)'/gm)].map((m) => m[1]);
}

test('core modules import no I/O library', () => {
  const offenders = CORE.flatMap((layer) =>
    files(join(SRC, layer)).flatMap((f) =>
      imports(f)
        .filter((i) => IO.test(i))
        .map((i) => `${relative(SRC, f)} imports ${i}`),
    ),
  );
  assert.deepEqual(offenders, []);
});

test('dependencies point inward only', () => {
  const offenders: string[] = [];
  for (const [layer, allowed] of Object.entries(ALLOWED)) {
    for (const f of files(join(SRC, layer))) {
      for (const i of imports(f).filter((x) => x.startsWith('.'))) {
        const target = relative(SRC, join(f, '..', i)).split('/')[0];
        if (target !== layer && !allowed.includes(target) && target !== 'index.ts')
          offenders.push(`${relative(SRC, f)} imports ${i}`);
      }
    }
  }
  assert.deepEqual(offenders, []);
});
