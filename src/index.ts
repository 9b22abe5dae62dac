/**
 * napkin's public API: declare datasets with contracts, build flows from relations and expressions, and plan, check,
 * draw and run them. Everything else under `src/` is internal and may change without notice.
 */
export { contract, t, type Contract, type ContractOptions, FieldSpec } from './flow/contract.ts';
export { dataset, type Dataset, type DatasetOptions } from './flow/dataset.ts';
export { flow, model, write, type Flow, type FlowOptions, type Output, type WriteMode } from './flow/flow.ts';
export { defineProject, type Project, type ProjectOptions } from './flow/project.ts';
export { read, Rel, GroupedRel, type JoinOn, type MapFn, type OnInvalid, type StageOptions } from './flow/rel.ts';
export { csv, duckdb, jsonl, parquet, type Storage } from './flow/storage.ts';
export type { DataType, Field, FieldType, Schema, Value } from './flow/types.ts';
export {
  Agg,
  and,
  avg,
  coalesce,
  col,
  concat,
  count,
  countDistinct,
  Expr,
  type ExprLike,
  lit,
  max,
  min,
  not,
  or,
  sum,
  typedLit,
  when,
} from './expr/builders.ts';
export { createRegistry, type FunctionDef, type Registry } from './expr/functions.ts';
export type { StageMode } from './time/duration.ts';
export type { Finding, Severity } from './plan/findings.ts';
export { planProject, type ProjectPlan } from './plan/project-plan.ts';
export { projectLineage, type DatasetLineage, type ColumnEdge } from './plan/lineage.ts';
export { openWorkspace, type Workspace } from './workspace/workspace.ts';
export { runProject, type RunOptions } from './workspace/run.ts';
export type { FlowResult, StageResult } from './runtime/execute.ts';
