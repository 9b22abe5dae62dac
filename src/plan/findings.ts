/**
 * Findings of `napkin check`: every problem has a stable code, a severity, where it is and a one-line fix hint.
 * The table below is the catalogue; `napkin check --rules` prints it, so docs and tool cannot disagree.
 */
export type Severity = 'error' | 'warning';

export interface FindingRule {
  readonly code: string;
  readonly severity: Severity;
  readonly title: string;
}

export const RULES = {
  expression: { code: 'NAP001', severity: 'error', title: 'expression does not check (unknown column or type error)' },
  duplicateColumn: { code: 'NAP002', severity: 'error', title: 'two output columns with the same name' },
  joinKeys: { code: 'NAP003', severity: 'error', title: 'join keys unknown, of different types, or columns collide' },
  unionSchema: { code: 'NAP004', severity: 'error', title: 'union inputs have different schemas' },
  contractViolation: { code: 'NAP005', severity: 'error', title: 'a stage writes records that break the contract' },
  unreadable: { code: 'NAP006', severity: 'error', title: 'a read dataset has no storage and no producing flow' },
  cycle: { code: 'NAP007', severity: 'error', title: 'flows depend on each other in a cycle' },
  twoWriters: { code: 'NAP008', severity: 'error', title: 'a dataset is written by more than one output' },
  orphan: { code: 'NAP009', severity: 'warning', title: 'a declared dataset is neither read nor written' },
  missingOwner: { code: 'NAP010', severity: 'error', title: 'a published dataset has no owner' },
  missingContract: { code: 'NAP011', severity: 'error', title: 'a published or source dataset has no contract' },
  streamingForDailySla: {
    code: 'NAP012',
    severity: 'warning',
    title: 'stage forced to streaming with an SLA of an hour or more',
  },
  batchForTightSla: { code: 'NAP013', severity: 'warning', title: 'stage forced to batch with an SLA under an hour' },
  slaUnmeetable: { code: 'NAP014', severity: 'error', title: 'an SLA tighter than its upstream can deliver' },
  noErrorBudget: { code: 'NAP015', severity: 'error', title: 'quarantine without an error budget' },
  duplicateStage: { code: 'NAP016', severity: 'error', title: 'two stages or flows with the same id' },
  duplicateDataset: { code: 'NAP017', severity: 'error', title: 'two different datasets declared with one name' },
  sqlModel: {
    code: 'NAP018',
    severity: 'error',
    title: 'a SQL model does not parse or refers to unknown tables or columns',
  },
  mergeWithoutKey: { code: 'NAP019', severity: 'error', title: 'a merge write to a dataset whose contract has no key' },
  mapColumns: { code: 'NAP020', severity: 'error', title: 'map declares columns that do not exist' },
  unknownKey: { code: 'NAP021', severity: 'error', title: 'groupBy or dedupe names an unknown column' },
  microBatchForDailySla: {
    code: 'NAP022',
    severity: 'warning',
    title: 'stage forced to micro-batch with an SLA over an hour',
  },
  eventTime: {
    code: 'NAP023',
    severity: 'error',
    title: 'a windowed aggregate or a time join (window, interval, temporal) lacks a timestamp event-time column',
  },
  timeJoin: {
    code: 'NAP024',
    severity: 'error',
    title: 'a window join over session or global windows, or an interval join with from > to',
  },
  unnamedState: {
    code: 'NAP025',
    severity: 'warning',
    title: 'a stateful stage (aggregate, join, dedupe) has no explicit id, so its state would not survive an edit',
  },
  waitsForEnd: {
    code: 'NAP027',
    severity: 'warning',
    title: 'a hash join or an unwindowed aggregate reads a source that never ends, so it would never emit',
  },
  cdcContract: {
    code: 'NAP026',
    severity: 'error',
    title: 'a change-data-capture dataset lacks a contract, its changelog columns or a key, or a flow writes it',
  },
} as const satisfies Record<string, FindingRule>;

export type RuleName = keyof typeof RULES;

export interface Finding {
  readonly code: string;
  readonly severity: Severity;
  readonly message: string;
  readonly hint: string;
  readonly flow?: string;
  readonly stage?: string;
  readonly dataset?: string;
}

/** Where a finding points. */
export interface Location {
  readonly flow?: string;
  readonly stage?: string;
  readonly dataset?: string;
}

export function finding(rule: RuleName, at: Location, message: string, hint: string): Finding {
  const r = RULES[rule];
  return { code: r.code, severity: r.severity, message, hint, ...at };
}

/** `error NAP001 shop_revenue/paid: unknown column 'amout' — hint: …` */
export function formatFinding(f: Finding): string {
  const where = [f.flow, f.stage].filter((x) => x !== undefined).join('/') || f.dataset || 'project';
  const ds =
    f.dataset !== undefined && (f.flow !== undefined || f.stage !== undefined) ? ` (dataset ${f.dataset})` : '';
  return `${f.severity} ${f.code} ${where}${ds}: ${f.message}\n    fix: ${f.hint}`;
}
