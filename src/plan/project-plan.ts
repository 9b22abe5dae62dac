import type { Registry } from '../expr/functions.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { Flow } from '../flow/flow.ts';
import type { Project } from '../flow/project.ts';
import { type BoundFlow, bindFlow } from './bind.ts';
import { type Finding, finding } from './findings.ts';
import { checkRules } from './rules/index.ts';
import type { SqlLineage } from './sql/lineage.ts';
import type { Stage } from './stage.ts';

/** A stage of a flow, as datasets see it. */
export interface StageRef {
  readonly flow: string;
  readonly stage: string;
}

/** A dataset with the stages that write and read it. */
export interface DatasetNode {
  readonly dataset: Dataset;
  readonly producers: readonly StageRef[];
  readonly consumers: readonly StageRef[];
  /** True when some flow writes it: it is then published and must have an owner and a contract. */
  readonly published: boolean;
}

/** What DuckDB's parser made of each SQL model, keyed by the model's output dataset name. */
export type SqlAnalysis = ReadonlyMap<string, SqlLineage>;

/**
 * The bound project: every flow's stages, every dataset with its readers and writers, flows in dependency order,
 * and all findings of `napkin check`.
 */
export interface ProjectPlan {
  readonly project: Project;
  /** Flows in an order where every flow runs after the flows whose outputs it reads. */
  readonly flows: readonly BoundFlow[];
  readonly datasets: ReadonlyMap<string, DatasetNode>;
  readonly sql: SqlAnalysis;
  readonly findings: readonly Finding[];
}

/** The validate and bind phases: binds every flow, builds the dataset graph, orders flows and runs the check rules. */
export function planProject(project: Project, registry: Registry, sql: SqlAnalysis = new Map()): ProjectPlan {
  const findings: Finding[] = [];
  const bound = project.flows.map((f) => bindFlow(f, registry));
  for (const b of bound) findings.push(...b.findings);
  findings.push(...duplicateFlows(project.flows));
  const datasets = datasetGraph(project, bound, sql, findings);
  const ordered = orderFlows(bound, datasets, findings);
  const plan: ProjectPlan = { project, flows: ordered, datasets, sql, findings };
  return { ...plan, findings: [...findings, ...checkRules(plan)] };
}

function duplicateFlows(flows: readonly Flow[]): Finding[] {
  const seen = new Set<string>();
  const out: Finding[] = [];
  for (const f of flows) {
    if (seen.has(f.name)) {
      out.push(finding('duplicateStage', { flow: f.name }, `two flows are named '${f.name}'`, 'rename one of them'));
    }
    seen.add(f.name);
  }
  return out;
}

function datasetGraph(
  project: Project,
  flows: readonly BoundFlow[],
  sql: SqlAnalysis,
  findings: Finding[],
): Map<string, DatasetNode> {
  const nodes = new Map<string, { dataset: Dataset; producers: StageRef[]; consumers: StageRef[] }>();
  const add = (ds: Dataset) => {
    const known = nodes.get(ds.name);
    if (known === undefined) {
      const n = { dataset: ds, producers: [], consumers: [] };
      nodes.set(ds.name, n);
      return n;
    }
    if (known.dataset !== ds && JSON.stringify(known.dataset) !== JSON.stringify(ds)) {
      findings.push(
        finding(
          'duplicateDataset',
          { dataset: ds.name },
          `dataset '${ds.name}' is declared twice with different definitions`,
          'declare each dataset once (in a shared module) and import it where it is used',
        ),
      );
    }
    return known;
  };
  for (const ds of project.datasets) add(ds);
  const models: Stage[] = [];
  for (const b of flows) {
    for (const s of b.stages) {
      if (s.dataset === undefined) continue;
      const n = add(s.dataset);
      const ref = { flow: s.flow, stage: s.id };
      if (s.kind === 'source') n.consumers.push(ref);
      else n.producers.push(ref);
      if (s.kind === 'sql') models.push(s);
    }
  }
  // After every flow's datasets are known: a model may read a dataset that a later-declared flow writes.
  for (const s of models) {
    const ref = { flow: s.flow, stage: s.id };
    sqlInputs(s, sql, findings, (name) => nodes.get(name)?.consumers.push(ref));
  }
  return new Map([...nodes].map(([k, v]) => [k, { ...v, published: v.producers.length > 0 }]));
}

function sqlInputs(s: Stage, sql: SqlAnalysis, findings: Finding[], consume: (dataset: string) => void): void {
  const a = s.dataset === undefined ? undefined : sql.get(s.dataset.name);
  if (a === undefined) return;
  for (const e of a.errors) {
    findings.push(
      finding(
        'sqlModel',
        { flow: s.flow, stage: s.id, dataset: s.dataset?.name },
        e,
        'fix the SELECT; tables are dataset names such as shop.orders',
      ),
    );
  }
  for (const t of a.inputs) consume(t);
}

/** Orders flows so that producers run before consumers; reports cycles (NAP007). */
function orderFlows(
  flows: readonly BoundFlow[],
  datasets: ReadonlyMap<string, DatasetNode>,
  findings: Finding[],
): BoundFlow[] {
  const deps = new Map<string, Set<string>>();
  for (const b of flows) deps.set(b.flow.name, new Set());
  for (const d of datasets.values()) {
    for (const c of d.consumers) {
      for (const p of d.producers) if (p.flow !== c.flow || isSelfLoop(d, c)) deps.get(c.flow)?.add(p.flow);
    }
  }
  const order: BoundFlow[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const byName = new Map(flows.map((b) => [b.flow.name, b]));
  const visit = (name: string, path: string[]): void => {
    const st = state.get(name);
    if (st === 'done') return;
    if (st === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      findings.push(
        finding(
          'cycle',
          { flow: name },
          `flows depend on each other in a cycle: ${cycle.join(' → ')}`,
          'a dataset cannot feed the flow that produces it; split the flow or read an earlier version',
        ),
      );
      return;
    }
    state.set(name, 'visiting');
    for (const d of [...(deps.get(name) ?? [])].sort()) if (d !== name) visit(d, [...path, name]);
    state.set(name, 'done');
    const b = byName.get(name);
    if (b !== undefined) order.push(b);
  };
  for (const b of flows) visit(b.flow.name, []);
  for (const [name, ds] of deps) {
    if (ds.has(name)) {
      findings.push(
        finding(
          'cycle',
          { flow: name },
          `flow '${name}' reads a dataset it writes itself`,
          'a flow cannot read its own output in the same run; read the upstream dataset instead',
        ),
      );
    }
  }
  return order;
}

function isSelfLoop(d: DatasetNode, c: StageRef): boolean {
  return d.producers.some((p) => p.flow === c.flow);
}
