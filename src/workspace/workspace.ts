import { isAbsolute, join } from 'node:path';
import { createRegistry, type Registry } from '../expr/functions.ts';
import { type ProjectPlan, planProject } from '../plan/project-plan.ts';
import { analyzeSql } from './analyze-sql.ts';
import { type LoadedProject, loadProject } from './load.ts';

/** A loaded, bound project: what every command starts from. */
export interface Workspace extends LoadedProject {
  readonly registry: Registry;
  readonly plan: ProjectPlan;
  /** Absolute path of the DuckDB warehouse file. */
  readonly warehousePath: string;
}

/** Loads the project in `dir`, parses its SQL models and binds every flow. Nothing is read or written. */
export async function openWorkspace(dir: string): Promise<Workspace> {
  const loaded = await loadProject(dir);
  const registry = createRegistry();
  const sql = await analyzeSql(loaded.project);
  const plan = planProject(loaded.project, registry, sql);
  const wh = loaded.project.warehouse;
  return { ...loaded, registry, plan, warehousePath: isAbsolute(wh) ? wh : join(loaded.root, wh) };
}
