import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dotString, renderDot } from './dot.ts';
import { shopGraph, syntheticGraph } from './fixtures.ts';
import { topoFlows } from './graph.ts';
import { type DrawFormat, filterFlow, renderDraw } from './index.ts';
import { type Box, type DrawLayout, layoutGraph } from './layout.ts';
import { mermaidIds, mermaidText, renderMermaid } from './mermaid.ts';
import { wrap } from './metrics.ts';
import type { DrawGraph } from './model.ts';
import { renderSvg } from './svg.ts';
import { renderText } from './text.ts';
import { checkXml } from './xmlcheck.ts';

const SHOP_TEXT = `shop — 2 flows · 5 stages · 3 datasets

flow shop_ingest · owner data-eng · sla 1h
  read_orders    source     sla 1h · micro-batch  owner data-eng  read csv
      ← [shop.orders_raw]   → paid_orders
  paid_orders    transform  sla 1h · micro-batch  owner data-eng  filter status = 'paid'
      ← read_orders   → [shop.orders]

flow shop_revenue · owner finance · sla 1d — Daily revenue per country
  fx_rates       source     sla 1d · batch        owner finance   http <rates> & fees
      → daily_revenue (join "ccy")
  daily_revenue  sql        sla 1d · batch        owner finance   select "country", sum(amount) group by 1
      ← [shop.orders], fx_rates (join "ccy")   → write_revenue
  write_revenue  sink       sla 1d · batch        owner finance   upsert by country, day
      ← daily_revenue   → [shop.daily_revenue]

datasets
  [shop.orders_raw]     v1 · key order_id · 6 fields      csv data/orders.csv
  [shop.orders]         v2 · key order_id · 7 fields      duckdb shop.orders         owner data-eng · sla 1h
  [shop.daily_revenue]  v1 · key country, day · 3 fields  duckdb mart.daily_revenue
`;

const stageCount = (g: DrawGraph) => g.nodes.filter((n) => n.kind !== 'dataset').length;

describe('fixtures', () => {
  it('the synthetic graph has the requested size and every edge joins declared nodes', () => {
    const g = syntheticGraph(25, 4);
    assert.equal(stageCount(g), 25);
    assert.equal(g.flows.length, 4);
    const ids = new Set(g.nodes.map((n) => n.id));
    assert.equal(ids.size, g.nodes.length);
    for (const e of g.edges) assert.ok(ids.has(e.from) && ids.has(e.to), `${e.from} -> ${e.to}`);
  });

  it('orders flows so producers come before consumers', () => {
    const order = topoFlows(syntheticGraph(25, 4)).map((f) => f.id);
    assert.deepEqual(order, ['clickstream', 'billing', 'sessions', 'finance_mart']);
  });
});

describe('renderText', () => {
  it('renders the shop as the golden text', () => {
    assert.equal(renderText(shopGraph()), SHOP_TEXT);
  });

  it('lists every stage and dataset of a large graph, deterministically', () => {
    const g = syntheticGraph(25, 4);
    const text = renderText(g);
    assert.equal(renderText(syntheticGraph(25, 4)), text);
    for (const n of g.nodes) assert.ok(text.includes(n.label), n.label);
    assert.equal(text.split('\n').filter((l) => l.startsWith('flow ')).length, 4);
  });

  it('shows stages whose flow is not declared instead of dropping them', () => {
    const g = shopGraph();
    const text = renderText({ ...g, flows: g.flows.slice(0, 1) });
    assert.match(text, /stages outside any flow\n {2}fx_rates/);
  });
});

/** A mermaid flowchart read back into its declarations, enough to check structure without mermaid itself. */
interface MermaidDoc {
  readonly nodes: Map<string, string>;
  readonly subgraphs: Map<string, string[]>;
  readonly edges: [string, string][];
}

function parseMermaid(src: string): MermaidDoc {
  const doc: MermaidDoc = { nodes: new Map(), subgraphs: new Map(), edges: [] };
  let current: string[] | undefined;
  const lines = src.trimEnd().split('\n');
  assert.equal(lines[0], 'flowchart LR');
  for (const line of lines.slice(1).map((l) => l.trim())) {
    const sub = /^subgraph ([A-Za-z]\w*)\["([^"]*)"\]$/.exec(line);
    const node = /^([A-Za-z]\w*)(\[\(|\[\/|\[\\|\[\[|\()"([^"]*)"(\)\]|\/\]|\\\]|\]\]|\))$/.exec(line);
    const edge = /^([A-Za-z]\w*) -->(?:\|"[^"]*"\|)? ([A-Za-z]\w*)$/.exec(line);
    if (sub !== null) {
      current = [];
      doc.subgraphs.set(sub[1], current);
    } else if (line === 'end') current = undefined;
    else if (node !== null) {
      assert.ok(!doc.nodes.has(node[1]), `declared twice: ${node[1]}`);
      doc.nodes.set(node[1], node[3]);
      current?.push(node[1]);
    } else if (edge !== null) doc.edges.push([edge[1], edge[2]]);
    else assert.match(line, /^(direction LR|classDef \w+ [\w:#,.-]+|class [\w,]+ \w+)$/, `unparsed: ${line}`);
  }
  return doc;
}

describe('renderMermaid', () => {
  it('declares every node once, a subgraph per flow, and edges only between declared nodes', () => {
    for (const g of [shopGraph(), syntheticGraph(25, 4)]) {
      const doc = parseMermaid(renderMermaid(g));
      const ids = mermaidIds(g);
      assert.equal(doc.nodes.size, g.nodes.length);
      assert.equal(doc.subgraphs.size, g.flows.length);
      for (const f of g.flows) {
        const members = g.nodes.filter((n) => n.flow === f.id).map((n) => ids.node.get(n.id));
        assert.deepEqual([...(doc.subgraphs.get(ids.flow.get(f.id)!) ?? [])].sort(), members.sort());
      }
      for (const [from, to] of doc.edges) assert.ok(doc.nodes.has(from) && doc.nodes.has(to), `${from} -> ${to}`);
      assert.equal(doc.edges.length, g.edges.length);
    }
  });

  it('escapes quotes and markup in labels', () => {
    const src = renderMermaid(shopGraph());
    assert.ok(src.includes('select #quot;country#quot;, sum(amount) group by 1'));
    assert.ok(src.includes('http #60;rates#62; #38; fees'));
    assert.ok(src.includes('-->|"join #quot;ccy#quot;"|'));
    assert.equal(mermaidText('a "b" #c <d>'), 'a #quot;b#quot; #35;c #60;d#62;');
  });

  it('sanitizes ids to unique identifiers that are not keywords', () => {
    const g: DrawGraph = {
      title: 't',
      flows: [{ id: 'end', owner: 'o', sla: '1d' }],
      nodes: [
        { id: 'end', kind: 'transform', label: 'end', flow: 'end' },
        { id: 'a.b', kind: 'dataset', label: 'a.b' },
        { id: 'a-b', kind: 'dataset', label: 'a-b' },
        { id: '1x', kind: 'dataset', label: '1x' },
      ],
      edges: [{ from: 'a.b', to: 'end' }],
    };
    const ids = mermaidIds(g);
    const all = [...ids.node.values(), ...ids.flow.values()];
    assert.equal(new Set(all).size, all.length);
    for (const id of all) assert.match(id, /^[A-Za-z]\w*$/);
    assert.notEqual(ids.node.get('end'), 'end');
    parseMermaid(renderMermaid(g));
  });
});

/** Walks DOT source outside quoted strings: braces and brackets must balance and every string must end. */
function dotBalance(src: string): { depth: number; unterminated: boolean; bad: boolean } {
  let depth = 0;
  let square = 0;
  let bad = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '"') {
      i++;
      while (i < src.length && src[i] !== '"') i += src[i] === '\\' ? 2 : 1;
      if (i >= src.length) return { depth, unterminated: true, bad };
    } else if (c === '{' || c === '[') c === '{' ? depth++ : square++;
    else if (c === '}' || c === ']') {
      if (c === '}') depth--;
      else square--;
      if (depth < 0 || square < 0) bad = true;
    }
  }
  return { depth: depth + square, unterminated: false, bad };
}

describe('renderDot', () => {
  it('is balanced, left to right, with a cluster per flow and cylinders for datasets', () => {
    const g = syntheticGraph(25, 4);
    const src = renderDot(g);
    assert.deepEqual(dotBalance(src), { depth: 0, unterminated: false, bad: false });
    assert.match(src, /rankdir=LR/);
    assert.equal(src.match(/subgraph "cluster_/g)?.length, 4);
    assert.equal(src.match(/shape=cylinder/g)?.length, g.nodes.filter((n) => n.kind === 'dataset').length);
    for (const e of g.edges) assert.ok(src.includes(`${dotString(e.from)} -> ${dotString(e.to)}`));
  });

  it('escapes quotes and backslashes', () => {
    const src = renderDot(shopGraph());
    assert.ok(src.includes('select \\"country\\", sum(amount) group by 1'));
    assert.equal(dotString('a "b" \\l\nc'), '"a \\"b\\" \\\\l\\nc"');
    const g = shopGraph();
    const odd = {
      ...g,
      nodes: g.nodes.map((n) => (n.label === 'fx_rates' ? { ...n, detail: 'path C:\\tmp\\"x"' } : n)),
    };
    assert.deepEqual(dotBalance(renderDot(odd)), { depth: 0, unterminated: false, bad: false });
  });
});

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

function inside(inner: Box, outer: Box): boolean {
  return (
    inner.x >= outer.x &&
    inner.y >= outer.y &&
    inner.x + inner.width <= outer.x + outer.width &&
    inner.y + inner.height <= outer.y + outer.height
  );
}

function checkGeometry(l: DrawLayout): void {
  const view: Box = { x: 0, y: 0, width: l.width, height: l.height };
  l.nodes.forEach((a, i) => {
    assert.ok(inside(a.box, view), `${a.node.id} outside the viewBox`);
    for (const b of l.nodes.slice(i + 1)) assert.ok(!overlaps(a.box, b.box), `${a.node.id} overlaps ${b.node.id}`);
  });
  for (const c of l.clusters) {
    assert.ok(inside(c.box, view), `cluster ${c.flow.id} outside the viewBox`);
    const band: Box = { ...c.box, height: 38 };
    for (const n of l.nodes) {
      if (n.node.flow === c.flow.id && n.node.kind !== 'dataset') {
        assert.ok(inside(n.box, c.box), `${n.node.id} outside its cluster`);
        assert.ok(!overlaps(n.box, band), `${n.node.id} under the title of ${c.flow.id}`);
      } else assert.ok(!overlaps(n.box, c.box), `${n.node.id} intrudes into cluster ${c.flow.id}`);
    }
  }
  l.clusters.forEach((a, i) => {
    for (const b of l.clusters.slice(i + 1)) assert.ok(!overlaps(a.box, b.box), `${a.flow.id} overlaps ${b.flow.id}`);
  });
  for (const e of l.edges) {
    assert.ok(e.points.length >= 2, `${e.edge.from} -> ${e.edge.to} has no route`);
    for (const p of e.points) assert.ok(p.x >= 0 && p.y >= 0 && p.x <= l.width && p.y <= l.height);
  }
  for (const item of [...l.legend.map((i) => i.box), l.header]) assert.ok(inside(item, view));
}

describe('layoutGraph', () => {
  it('lays out 25 stages in 4 flows without overlaps, each node in its flow, all inside the view', () => {
    const l = layoutGraph(syntheticGraph(25, 4));
    assert.equal(l.clusters.length, 4);
    checkGeometry(l);
  });

  it('keeps that geometry across graph sizes', () => {
    for (const [stages, flows] of [
      [3, 1],
      [12, 3],
      [40, 6],
    ]) {
      checkGeometry(layoutGraph(syntheticGraph(stages, flows)));
    }
    checkGeometry(layoutGraph(shopGraph()));
  });

  it('places edge labels and wraps long lines at word breaks', () => {
    const l = layoutGraph(shopGraph());
    const labelled = l.edges.filter((e) => e.label !== undefined);
    assert.deepEqual(
      labelled.map((e) => e.label?.text),
      ['join "ccy"'],
    );
    assert.deepEqual(wrap('select "country", count(*) from events group by 1', 20, 2), [
      'select "country",',
      'count(*) from event…',
    ]);
  });
});

describe('renderSvg', () => {
  it('is well-formed XML with a title, a viewBox matching its size, and every node drawn', () => {
    for (const g of [shopGraph(), syntheticGraph(25, 4)]) {
      const svg = renderSvg(g);
      const xml = checkXml(svg);
      assert.deepEqual(xml.problems, []);
      assert.equal(xml.root, 'svg');
      const l = layoutGraph(g);
      const size = /<svg [^>]*width="([\d.]+)" height="([\d.]+)" viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg);
      assert.ok(size !== null);
      const [width, height, vw, vh] = size.slice(1).map(Number);
      assert.deepEqual([width, height], [vw, vh]);
      assert.ok(Math.abs(width - l.width) < 0.1 && Math.abs(height - l.height) < 0.1);
      assert.match(svg, /<title>napkin · /);
      assert.match(svg, /<marker id="arrow"/);
      for (const n of g.nodes) assert.ok(svg.includes(`>${n.label}</text>`), n.label);
      // One tooltip per node plus the document's own title.
      assert.equal(xml.elements.filter((e) => e === 'title').length, g.nodes.length + 1);
    }
  });

  it('escapes text and draws a legend for every mode', () => {
    const svg = renderSvg(shopGraph());
    assert.ok(svg.includes('http &lt;rates&gt; &amp; fees'));
    assert.ok(svg.includes('join &quot;ccy&quot;'));
    for (const mode of ['batch', 'micro-batch', 'streaming', 'dataset']) assert.ok(svg.includes(`>${mode}</text>`));
  });

  it('the checker catches malformed documents', () => {
    assert.notDeepEqual(checkXml('<svg><g></svg>').problems, []);
    assert.notDeepEqual(checkXml('<svg a=1/>').problems, []);
    assert.notDeepEqual(checkXml('<svg>a & b</svg>').problems, []);
    assert.notDeepEqual(checkXml('<svg a="<"/>').problems, []);
    assert.deepEqual(checkXml('<svg a="&amp;&#38;"><t>x&lt;</t></svg>').problems, []);
  });
});

describe('renderDraw and filterFlow', () => {
  it('dispatches every format', () => {
    const g = shopGraph();
    const formats: DrawFormat[] = ['text', 'mermaid', 'dot', 'svg'];
    const starts = formats.map((f) => renderDraw(g, f).slice(0, 12));
    assert.deepEqual(starts, ['shop — 2 flo', 'flowchart LR', 'digraph napk', '<svg xmlns="']);
    assert.throws(() => renderDraw(g, 'png' as DrawFormat), /unknown draw format 'png'/);
  });

  it('keeps one flow, the datasets it touches and the edges among them', () => {
    const one = filterFlow(shopGraph(), 'shop_ingest');
    assert.deepEqual(
      one.nodes.map((n) => n.id),
      [
        'dataset:shop.orders_raw',
        'stage:shop_ingest/read_orders',
        'stage:shop_ingest/paid_orders',
        'dataset:shop.orders',
      ],
    );
    assert.deepEqual(
      one.flows.map((f) => f.id),
      ['shop_ingest'],
    );
    assert.equal(one.edges.length, 3);
    assert.deepEqual(checkXml(renderSvg(one)).problems, []);
  });

  it('names the known flows when the flow is unknown', () => {
    assert.throws(
      () => filterFlow(shopGraph(), 'nope'),
      /unknown flow 'nope': known flows are shop_ingest, shop_revenue/,
    );
  });

  it('renders an empty graph in every format', () => {
    const empty: DrawGraph = { title: 'empty', flows: [], nodes: [], edges: [] };
    for (const f of ['text', 'mermaid', 'dot', 'svg'] as const) assert.ok(renderDraw(empty, f).length > 0);
    assert.deepEqual(checkXml(renderSvg(empty)).problems, []);
  });
});
