// Access to DuckDB's json_serialize_sql parse tree: plain JSON, narrowed without `any`.

export type Node = { readonly [key: string]: unknown };

export function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function child(node: Node, key: string): Node | undefined {
  const value = node[key];
  return isNode(value) ? value : undefined;
}

export function nodes(node: Node, key: string): Node[] {
  const value = node[key];
  return Array.isArray(value) ? value.filter(isNode) : [];
}

export function text(node: Node, key: string): string {
  const value = node[key];
  return typeof value === 'string' ? value : '';
}

export function texts(node: Node, key: string): string[] {
  const value = node[key];
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export function isExpression(value: unknown): value is Node {
  return isNode(value) && typeof value.class === 'string';
}

/** Every direct sub-expression, whatever key the node keeps it under. */
export function subExpressions(node: Node): Node[] {
  return Object.values(node).flatMap((value) => {
    if (isExpression(value)) return [value];
    return Array.isArray(value) ? value.filter(isExpression) : [];
  });
}

/** " at position N", or nothing when DuckDB left the location unset (it uses 2^64-1 for that). */
export function at(node: Node): string {
  const location = node.query_location;
  return typeof location === 'number' && Number.isSafeInteger(location) ? ` at position ${location}` : '';
}

export function lower(name: string): string {
  return name.toLowerCase();
}
