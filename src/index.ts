/**
 * napkin's public API: declare datasets with contracts, build flows from relations and expressions, and plan, check,
 * draw and run them. Everything else under `src/` is internal and may change without notice.
 */

export type { UserCombine } from './expr/ast.ts';
export {
  Agg,
  and,
  avg,
  coalesce,
  col,
  combine,
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
export type { DataType, Field, FieldType, Schema, Value } from './expr/types.ts';
export { type AvroRecordSchema, avroSchemaOf } from './flow/avro-schema.ts';
export { CDC_OPS, type CdcOp, cdcFields } from './flow/cdc.ts';
export { type Contract, type ContractOptions, contract, FieldSpec, t } from './flow/contract.ts';
export { type Dataset, type DatasetOptions, dataset } from './flow/dataset.ts';
export { type Flow, type FlowOptions, flow, model, type Output, type WriteMode, write } from './flow/flow.ts';
export {
  type KafkaLogConfig,
  type KafkaOptions,
  type KafkaStart,
  type KafkaStorage,
  kafka,
  kafkaLog,
} from './flow/kafka-storage.ts';
export { defineProject, type Project, type ProjectOptions } from './flow/project.ts';
export {
  GroupedRel,
  type JoinOn,
  type MapFn,
  type OnInvalid,
  Rel,
  read,
  type StageOptions,
  WindowedRel,
  type WindowOptions,
} from './flow/rel.ts';
export {
  csv,
  duckdb,
  jsonl,
  type PostgresCdcOptions,
  parquet,
  postgres,
  postgresCdc,
  type Storage,
} from './flow/storage.ts';
export type { IntervalJoinOptions, WindowJoinOptions } from './flow/time-join.ts';
export type { NexmarkQuery, QueryName, QueryParams } from './nexmark/query.ts';
export type { Finding, Severity } from './plan/findings.ts';
export { type ColumnEdge, type DatasetLineage, projectLineage } from './plan/lineage.ts';
export { type ProjectPlan, planProject } from './plan/project-plan.ts';
export type { FlowResult, StageResult } from './runtime/execute.ts';
export type { StageMetrics } from './runtime/operator.ts';
export {
  runTest,
  TestClock,
  type TestEvent,
  type TestRow,
  type TestRunResult,
  TestStream,
  testIO,
  testStream,
} from './runtime/testing.ts';
export type { StageMode } from './time/duration.ts';
export {
  afterCount,
  afterEach,
  afterFirst,
  afterProcessingTime,
  afterWatermark,
  defaultTrigger,
  fixed,
  global,
  MAX_TIMESTAMP,
  MIN_TIMESTAMP,
  never,
  orFinally,
  repeatedly,
  sessions,
  sliding,
  type Trigger,
  type WindowFn,
} from './time/index.ts';
export { boundedOutOfOrderness, monotonic, type WatermarkStrategy } from './time/watermarks.ts';
export { type RunOptions, runProject } from './workspace/run.ts';
export { openWorkspace, type Workspace } from './workspace/workspace.ts';
