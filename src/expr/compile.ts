import { type ExprNode, exprToString } from './ast.ts';
import { type BoundExpr, type CheckError, checkExpr } from './check.ts';
import { Codegen } from './codegen.ts';
import type { Helper, Registry } from './functions.ts';
import { type FieldType, fieldTypeToString, type Schema, type Value } from './types.ts';

/** Several expressions computed in one loop over a batch. */
export interface CompiledProjection {
  /** The generated kernel, for `napkin explain` and golden tests. */
  readonly source: string;
  readonly types: readonly FieldType[];
  /** One output column per expression; a bare column reference returns the input array itself (no copy). */
  run(columns: readonly Value[][], length: number): Value[][];
}

/** A filter condition over a batch. */
export interface CompiledPredicate {
  readonly source: string;
  /** Writes the indexes of rows where the predicate is true (null counts as false) into `sel`; returns how many. */
  select(columns: readonly Value[][], length: number, sel: Int32Array): number;
}

type Kernel<A extends unknown[], R> = (...args: A) => R;

/** Compiles `nodes` into one fused loop: each row computes every output before the next row is read. */
export function compileProjection(nodes: readonly ExprNode[], schema: Schema, registry: Registry): CompiledProjection {
  const bound = bindOrThrow(nodes, schema, registry, 'projection');
  const gen = new Codegen();
  const outputs = bound.map((b, k) =>
    b.kind === 'col' ? { ret: `cols[${b.index}]` } : { ret: `o${k}`, stmt: `o${k}[i] = ${gen.statement(b)};` },
  );
  const computed = outputs.flatMap((o) => (o.stmt === undefined ? [] : [o]));
  const body =
    computed.length === 0
      ? []
      : [
          `const ${computed.map((o) => `${o.ret} = new Array(n)`).join(', ')};`,
          ...temps(gen),
          'for (let i = 0; i < n; i++) {',
          ...computed.map((o) => `  ${o.stmt}`),
          '}',
        ];
  const source = kernelSource('project(cols, n)', gen, [...body, `return [${outputs.map((o) => o.ret).join(', ')}];`]);
  const run = instantiate<[readonly Value[][], number], Value[][]>(source, gen, registry);
  return { source, types: bound.map((b) => b.type), run };
}

/** Compiles a boolean condition into a selection-vector kernel. */
export function compilePredicate(node: ExprNode, schema: Schema, registry: Registry): CompiledPredicate {
  const [b] = bindOrThrow([node], schema, registry, 'predicate');
  const kind = b.type.type.kind;
  if (kind !== 'bool' && kind !== 'null')
    throw new Error(`cannot compile predicate ${exprToString(node)}: it is ${fieldTypeToString(b.type)}, not bool`);
  const gen = new Codegen();
  const code = gen.statement(b);
  const test = b.type.nullable ? `${code} === true` : code;
  const source = kernelSource('select(cols, n, sel)', gen, [
    ...temps(gen),
    'let k = 0;',
    'for (let i = 0; i < n; i++) {',
    `  if (${test}) sel[k++] = i;`,
    '}',
    'return k;',
  ]);
  const kernel = instantiate<[readonly Value[][], number, Int32Array], number>(source, gen, registry);
  return {
    source,
    select(columns, length, sel) {
      if (sel.length < length) throw new RangeError(`selection vector holds ${sel.length} rows, batch has ${length}`);
      return kernel(columns, length, sel);
    },
  };
}

function bindOrThrow(nodes: readonly ExprNode[], schema: Schema, registry: Registry, what: string): BoundExpr[] {
  const errors: string[] = [];
  const bound = nodes.map((node, k) => {
    const r = checkExpr(node, schema, registry);
    const where = nodes.length > 1 ? `expression ${k + 1} ` : '';
    errors.push(...r.errors.map((e: CheckError) => `${where}${e.message}`));
    return r.bound;
  });
  if (errors.length > 0) throw new Error(`cannot compile ${what}:\n  ${errors.join('\n  ')}`);
  return bound as BoundExpr[];
}

function temps(gen: Codegen): string[] {
  if (gen.maxTemps === 0) return [];
  return [`let ${Array.from({ length: gen.maxTemps }, (_, k) => `t${k}`).join(', ')};`];
}

/** The factory body: aliases for the input columns the code reads, then the kernel's own lines. */
function kernelSource(signature: string, gen: Codegen, lines: readonly string[]): string {
  const used = [...gen.columns].sort((a, b) => a - b);
  const aliases = used.length === 0 ? [] : [`const ${used.map((c) => `c${c} = cols[${c}]`).join(', ')};`];
  return ["'use strict';", `return function ${signature} {`, ...[...aliases, ...lines].map((l) => `  ${l}`), '};'].join(
    '\n',
  );
}

/**
 * Evaluates the factory once per compile. The kernel sees only the function table `f` and the frozen literal
 * parameters `p`, never the compiler's scope.
 */
function instantiate<A extends unknown[], R>(source: string, gen: Codegen, registry: Registry): Kernel<A, R> {
  const factory = new Function('f', 'p', source) as (
    f: Readonly<Record<string, Helper>>,
    p: readonly Value[],
  ) => Kernel<A, R>;
  return factory(registry.helpers(), Object.freeze([...gen.params]));
}
