import { type AggNode, columnsOf, type ExprNode } from './ast.ts';
import type { Registry } from './functions.ts';

/** Where an output column comes from: `identity` copies one input column unchanged, anything else transforms. */
export interface ExprLineage {
  readonly columns: string[];
  readonly kind: 'identity' | 'transformation';
}

export interface AggLineage {
  readonly columns: string[];
  readonly kind: 'aggregation';
}

/**
 * Lineage of an expression or aggregate. A cast changes values, so it is a transformation; a call of a function
 * registered with `lineage: 'identity'` (pass the registry) passes its single argument's lineage through.
 */
export function exprLineage(node: ExprNode, registry?: Registry): ExprLineage;
export function exprLineage(node: AggNode, registry?: Registry): AggLineage;
export function exprLineage(node: ExprNode | AggNode, registry?: Registry): ExprLineage | AggLineage {
  if (!('kind' in node)) return { columns: node.arg === undefined ? [] : columnsOf(node.arg), kind: 'aggregation' };
  return { columns: columnsOf(node), kind: isIdentity(node, registry) ? 'identity' : 'transformation' };
}

function isIdentity(node: ExprNode, registry: Registry | undefined): boolean {
  if (node.kind === 'col') return true;
  if (node.kind !== 'call' || node.args.length !== 1) return false;
  return registry?.get(node.fn)?.lineage === 'identity' && isIdentity(node.args[0], registry);
}

/** The columns a filter condition reads: they decide which rows pass, though no value flows from them. */
export function predicateColumns(node: ExprNode): string[] {
  return columnsOf(node);
}
