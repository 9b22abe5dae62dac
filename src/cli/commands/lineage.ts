import { type Command, Option } from 'commander';
import {
  type DatasetLineage,
  projectLineage,
  type TraceNode,
  traceDownstream,
  traceUpstream,
} from '../../plan/lineage.ts';
import { columnLineageFacet, jobEvents } from '../../plan/openlineage.ts';
import { openWorkspace } from '../../workspace/workspace.ts';
import { EXIT, type Globals, guarded, type SetOutcome } from '../outcome.ts';

interface LineageOpts {
  upstream?: boolean;
  downstream?: boolean;
  format: 'text' | 'json' | 'openlineage';
}

export function registerLineage(program: Command, globals: Globals, set: SetOutcome): void {
  program
    .command('lineage')
    .description('column-level lineage, computed from the flow definitions and SQL models (nothing runs)')
    .argument('[target]', 'DATASET or DATASET.COLUMN (default: every dataset)')
    .option('--upstream', 'follow a column back to its sources (the default)')
    .option('--downstream', 'follow a column forward to everything computed from it')
    .addOption(
      new Option(
        '--format <format>',
        'text, json (column-lineage facets) or openlineage (one JobEvent per flow, JSON Lines)',
      )
        .choices(['text', 'json', 'openlineage'])
        .default('text'),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  napkin lineage\n  napkin lineage mart.daily_revenue.revenue\n  napkin lineage shop.orders.amount --downstream --format json',
    )
    .action((target: string | undefined, opts: LineageOpts) =>
      guarded(set, async () => {
        const ws = await openWorkspace(globals().project);
        const lineage = projectLineage(ws.plan);
        const known = [...ws.plan.datasets.keys()];
        const ns = `napkin:${ws.project.name}`;
        const write = (s: string) => process.stdout.write(s);
        if (opts.format === 'openlineage') {
          if (target !== undefined) throw new Error('--format openlineage describes whole flows; give no target');
          for (const e of jobEvents(ws.plan, lineage, ns)) write(`${JSON.stringify(e)}\n`);
          return { code: EXIT.ok };
        }
        if (target === undefined) {
          const all = [...lineage.values()];
          write(
            opts.format === 'json'
              ? `${JSON.stringify(
                  all.map((l) => facetJson(l, ns)),
                  null,
                  2,
                )}\n`
              : all.map(datasetText).join('\n'),
          );
          return { code: EXIT.ok };
        }
        const { dataset, column } = parseTarget(target, known);
        if (column === undefined) {
          const l = lineage.get(dataset);
          if (l === undefined)
            throw new Error(`${dataset} is a source: no flow computes it (try --downstream on one of its columns)`);
          write(opts.format === 'json' ? `${JSON.stringify(facetJson(l, ns), null, 2)}\n` : datasetText(l));
          return { code: EXIT.ok };
        }
        const cols = ws.plan.datasets.get(dataset)?.dataset.contract?.schema.fields.map((f) => f.name) ?? [];
        if (!cols.includes(column))
          throw new Error(`dataset ${dataset} has no column '${column}'; it has ${cols.join(', ')}`);
        const trace = opts.downstream
          ? traceDownstream(lineage, dataset, column)
          : traceUpstream(lineage, dataset, column);
        if (opts.format === 'json')
          write(
            `${JSON.stringify({ dataset, column, direction: opts.downstream ? 'downstream' : 'upstream', trace }, null, 2)}\n`,
          );
        else write(`${dataset}.${column}\n${treeText(trace, '', opts.downstream === true)}`);
        return { code: EXIT.ok };
      }),
    );
}

/** `shop.orders.amount` → dataset `shop.orders`, column `amount`; dataset names may themselves contain dots. */
function parseTarget(target: string, datasets: readonly string[]): { dataset: string; column?: string } {
  if (datasets.includes(target)) return { dataset: target };
  const dot = target.lastIndexOf('.');
  const dataset = target.slice(0, dot);
  if (dot > 0 && datasets.includes(dataset)) return { dataset, column: target.slice(dot + 1) };
  throw new Error(`unknown dataset or column '${target}'; datasets: ${datasets.join(', ')}`);
}

function facetJson(l: DatasetLineage, ns: string) {
  return { dataset: l.dataset, producer: l.producer, columnLineage: columnLineageFacet(l, ns) };
}

function datasetText(l: DatasetLineage): string {
  const lines = [`${l.dataset}  (written by ${l.producer.flow}/${l.producer.stage})`];
  for (const [col, edges] of l.fields) {
    const from = edges.map((e) => `${e.dataset}.${e.column} [${e.subtype.toLowerCase()}]`).join(', ');
    lines.push(`  ${col} ← ${from || '(constant)'}`);
  }
  if (l.indirect.length > 0) {
    lines.push(
      `  rows shaped by: ${l.indirect.map((e) => `${e.dataset}.${e.column} [${e.subtype.toLowerCase()}]`).join(', ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function treeText(nodes: readonly TraceNode[], indent: string, down: boolean): string {
  return nodes
    .map((n, i) => {
      const last = i === nodes.length - 1;
      const how = n.edge === undefined ? '' : ` [${n.edge.type.toLowerCase()} ${n.edge.subtype.toLowerCase()}]`;
      const via = n.via === undefined ? '' : ` via ${n.via.flow}/${n.via.stage}`;
      const line = `${indent}${last ? '└─' : '├─'} ${down ? '→' : '←'} ${n.dataset}.${n.column}${how}${via}\n`;
      return line + treeText(n.children, `${indent}${last ? '   ' : '│  '}`, down);
    })
    .join('');
}
