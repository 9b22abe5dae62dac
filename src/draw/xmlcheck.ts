/**
 * A tiny XML well-formedness checker for the SVG tests: tags balance, attributes are quoted, text and attribute values
 * hold no raw `<` and only known entities. Character-by-character rather than regex-based so that a malformed
 * document cannot slip through a pattern that happens to skip it. Returns the problems found; empty means well-formed.
 */
export interface XmlSummary {
  readonly problems: string[];
  /** Every element name in document order, for counting what was drawn. */
  readonly elements: string[];
  readonly root?: string;
}

export function checkXml(doc: string): XmlSummary {
  const problems: string[] = [];
  const elements: string[] = [];
  const stack: string[] = [];
  let root: string | undefined;
  let i = 0;
  while (i < doc.length) {
    if (doc[i] !== '<') {
      const end = indexOrEnd(doc, '<', i);
      checkText(doc.slice(i, end), i, problems);
      if (stack.length === 0 && doc.slice(i, end).trim() !== '') problems.push(`text outside the root at ${i}`);
      i = end;
      continue;
    }
    if (doc.startsWith('<!--', i)) i = skipPast(doc, '-->', i, problems);
    else if (doc.startsWith('<?', i)) i = skipPast(doc, '?>', i, problems);
    else if (doc.startsWith('</', i)) i = closeTag(doc, i, stack, problems);
    else {
      const tag = openTag(doc, i, problems);
      elements.push(tag.name);
      if (stack.length === 0) {
        if (root !== undefined) problems.push(`second root element <${tag.name}> at ${i}`);
        root = tag.name;
      }
      if (!tag.selfClosing) stack.push(tag.name);
      i = tag.end;
    }
  }
  for (const open of stack) problems.push(`<${open}> never closed`);
  if (root === undefined) problems.push('no root element');
  return root === undefined ? { problems, elements } : { problems, elements, root };
}

function indexOrEnd(doc: string, needle: string, from: number): number {
  const at = doc.indexOf(needle, from);
  return at < 0 ? doc.length : at;
}

function skipPast(doc: string, terminator: string, from: number, problems: string[]): number {
  const at = doc.indexOf(terminator, from);
  if (at < 0) problems.push(`unterminated markup at ${from}`);
  return at < 0 ? doc.length : at + terminator.length;
}

function closeTag(doc: string, from: number, stack: string[], problems: string[]): number {
  const end = indexOrEnd(doc, '>', from);
  const name = doc.slice(from + 2, end).trim();
  const open = stack.pop();
  if (open !== name) problems.push(`</${name}> at ${from} closes <${open ?? 'nothing'}>`);
  return end + 1;
}

function openTag(doc: string, from: number, problems: string[]): { name: string; selfClosing: boolean; end: number } {
  let i = from + 1;
  const name = readName(doc, i);
  if (name === '') problems.push(`tag without a name at ${from}`);
  i += name.length;
  const seen = new Set<string>();
  for (;;) {
    i = skipSpace(doc, i);
    if (i >= doc.length) {
      problems.push(`unterminated tag <${name}> at ${from}`);
      return { name, selfClosing: true, end: i };
    }
    if (doc[i] === '>') return { name, selfClosing: false, end: i + 1 };
    if (doc.startsWith('/>', i)) return { name, selfClosing: true, end: i + 2 };
    const attr = readName(doc, i);
    if (attr === '') {
      problems.push(`unexpected '${doc[i]}' in <${name}> at ${i}`);
      return { name, selfClosing: true, end: indexOrEnd(doc, '>', i) + 1 };
    }
    if (seen.has(attr)) problems.push(`duplicate attribute ${attr} in <${name}> at ${i}`);
    seen.add(attr);
    i = readValue(doc, i + attr.length, name, attr, problems);
  }
}

/** Reads `="…"` or `='…'` after an attribute name and returns the index after the closing quote. */
function readValue(doc: string, i: number, tag: string, attr: string, problems: string[]): number {
  i = skipSpace(doc, i);
  if (doc[i] !== '=') {
    problems.push(`attribute ${attr} of <${tag}> has no value at ${i}`);
    return i;
  }
  i = skipSpace(doc, i + 1);
  const quote = doc[i];
  if (quote !== '"' && quote !== "'") {
    problems.push(`attribute ${attr} of <${tag}> is not quoted at ${i}`);
    return indexOrEnd(doc, '>', i);
  }
  const close = doc.indexOf(quote, i + 1);
  if (close < 0) {
    problems.push(`attribute ${attr} of <${tag}> never ends`);
    return doc.length;
  }
  const value = doc.slice(i + 1, close);
  if (value.includes('<')) problems.push(`raw '<' in attribute ${attr} of <${tag}>`);
  checkText(value, i + 1, problems);
  return close + 1;
}

const ENTITIES = new Set(['amp', 'lt', 'gt', 'quot', 'apos']);

/** Every `&` must start a known entity or a character reference. */
function checkText(text: string, offset: number, problems: string[]): void {
  for (let at = text.indexOf('&'); at >= 0; at = text.indexOf('&', at + 1)) {
    const semi = text.indexOf(';', at);
    const body = semi < 0 ? '' : text.slice(at + 1, semi);
    if (!ENTITIES.has(body) && !isCharRef(body)) problems.push(`bad entity '&${body}' at ${offset + at}`);
  }
}

function isCharRef(body: string): boolean {
  if (!body.startsWith('#') || body.length < 2) return false;
  const hex = body[1] === 'x';
  const digits = body.slice(hex ? 2 : 1);
  return digits.length > 0 && [...digits].every((c) => (hex ? '0123456789abcdefABCDEF' : '0123456789').includes(c));
}

function readName(doc: string, from: number): string {
  let i = from;
  while (i < doc.length && isNameChar(doc[i], i === from)) i++;
  return doc.slice(from, i);
}

function isNameChar(c: string, first: boolean): boolean {
  const letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_' || c === ':';
  return first ? letter : letter || (c >= '0' && c <= '9') || c === '-' || c === '.';
}

function skipSpace(doc: string, i: number): number {
  while (i < doc.length && (doc[i] === ' ' || doc[i] === '\n' || doc[i] === '\t' || doc[i] === '\r')) i++;
  return i;
}
