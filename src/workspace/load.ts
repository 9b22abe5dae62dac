import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
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
    throw new Error(`cannot load ${path}: ${err.message.split('\n')[0]}`);
  }
}

function isProject(v: unknown): v is Project {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'project';
}

function isFlow(v: unknown): v is Flow {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'flow';
}
