import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Flow } from '../flow/flow.ts';
import { defineProject, type Project } from '../flow/project.ts';

/** A project and the folder its paths are relative to. */
export interface LoadedProject {
  readonly root: string;
  readonly project: Project;
}

const CONFIG = 'napkin.config.ts';

/**
 * Loads a project: `napkin.config.ts` exporting `defineProject(...)` by default, or else every `flows/*.ts` whose
 * exports include flows. TypeScript is loaded as is (the CLI runs under tsx), so users have no build step.
 */
export async function loadProject(dir: string): Promise<LoadedProject> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new Error(`project folder ${root} does not exist; pass --project DIR`);
  const config = join(root, CONFIG);
  if (existsSync(config)) {
    const mod = (await importFile(config)) as { default?: unknown };
    if (!isProject(mod.default)) {
      throw new Error(
        `${config}: the default export must be defineProject({ name, flows }), got ${typeof mod.default}`,
      );
    }
    return { root, project: mod.default };
  }
  const flowsDir = join(root, 'flows');
  if (!existsSync(flowsDir)) {
    throw new Error(`no ${CONFIG} and no flows/ folder in ${root}; create ${CONFIG} exporting defineProject({ ... })`);
  }
  const flows: Flow[] = [];
  for (const name of readdirSync(flowsDir)
    .filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'))
    .sort()) {
    const mod = (await importFile(join(flowsDir, name))) as Record<string, unknown>;
    for (const v of Object.values(mod)) if (isFlow(v) && !flows.includes(v)) flows.push(v);
  }
  if (flows.length === 0) throw new Error(`${flowsDir}: no module exports a flow({ ... })`);
  return { root, project: defineProject({ name: root.split('/').pop() ?? 'project', flows }) };
}

async function importFile(path: string): Promise<unknown> {
  try {
    return await import(pathToFileURL(path).href);
  } catch (e) {
    const err = e as Error;
    const first = err.message.split('\n')[0];
    throw new Error(`cannot load ${path}: ${first}${loadHint(path, first)}`);
  }
}

/**
 * What to do about the two ways a project folder outside an ES module package fails to load, whose own messages
 * do not say it: TypeScript files there load as CommonJS (Node then reports a require() cycle, even for a file with
 * no imports), and `napkin` itself must be installed where the project can import it.
 */
function loadHint(path: string, message: string): string {
  if (/Cannot find (package|module) 'napkin'/.test(message)) {
    return `; install napkin in the project folder (npm install napkin) so its files can import it`;
  }
  const pkg = nearestPackageJson(dirname(path));
  if (pkg === null) {
    return `; napkin loads project files as ES modules: add a package.json with "type": "module" to ${dirname(path)}`;
  }
  return moduleType(pkg) === 'module'
    ? ''
    : `; napkin loads project files as ES modules: set "type": "module" in ${pkg}`;
}

function nearestPackageJson(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    const p = join(d, 'package.json');
    if (existsSync(p)) return p;
    if (dirname(d) === d) return null;
  }
}

function moduleType(pkg: string): string | undefined {
  try {
    const type = (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}

function isProject(v: unknown): v is Project {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'project';
}

function isFlow(v: unknown): v is Flow {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'flow';
}
