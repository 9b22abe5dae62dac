// The SVG of `napkin draw` as a real browser renders it: Debian's Chromium, driven by playwright-core (which ships no
// browser), measures the text with the font it actually picks and checks it fits the boxes the layout sized from
// estimated character widths. Skipped where /usr/bin/chromium is missing, except under CI, which installs it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { shopGraph, syntheticGraph } from '../src/draw/fixtures.ts';
import { CHAR_WIDTH, CYLINDER_CAP } from '../src/draw/metrics.ts';
import type { DrawGraph } from '../src/draw/model.ts';
import { renderSvg } from '../src/draw/svg.ts';

const CHROMIUM = '/usr/bin/chromium';
/** The machine may have no network: nothing in the browser may try to reach one. */
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SCREENSHOT = '/tmp/draw25-browser.png';
/** Room kept between a node's text and the sides of its shape, so glyphs never touch the 1.8px stroke. */
const TEXT_MARGIN = 3;

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

interface MeasuredText {
  readonly text: string;
  readonly box: Rect;
  readonly length: number;
}

interface MeasuredNode {
  readonly id: string;
  readonly kind: string;
  readonly cluster: string | null;
  readonly shape: Rect;
  readonly texts: readonly MeasuredText[];
}

interface MeasuredCluster {
  readonly id: string;
  readonly box: Rect;
  readonly texts: readonly MeasuredText[];
}

interface MeasuredLabel {
  readonly box: Rect;
  readonly texts: readonly MeasuredText[];
}

interface Measured {
  readonly viewBox: Rect;
  /** Union of the geometry of everything drawn except the full-size background. */
  readonly content: Rect;
  readonly texts: readonly MeasuredText[];
  readonly nodes: readonly MeasuredNode[];
  readonly clusters: readonly MeasuredCluster[];
  readonly labels: readonly MeasuredLabel[];
  /** Rendered widths of ten `i` and ten `M` in a node's font: equal when the font really is monospace. */
  readonly narrow: number;
  readonly wide: number;
  /** The fonts Chromium used for the first regular (not bold) line of node text, as its DevTools protocol reports them. */
  readonly fonts: readonly string[];
}

/**
 * Runs in the page. Plain JavaScript in a string rather than a function, so tsx's transform (which wraps named
 * functions in a `__name` helper) cannot leak code the page does not have.
 */
const MEASURE = `(() => {
  const rect = (b) => ({ x: b.x, y: b.y, width: b.width, height: b.height });
  const union = (boxes) => {
    const x = Math.min(...boxes.map((b) => b.x));
    const y = Math.min(...boxes.map((b) => b.y));
    const right = Math.max(...boxes.map((b) => b.x + b.width));
    const bottom = Math.max(...boxes.map((b) => b.y + b.height));
    return { x, y, width: right - x, height: bottom - y };
  };
  const texts = (root) =>
    [...root.querySelectorAll('text')].map((t) => ({
      text: t.textContent,
      box: rect(t.getBBox()),
      length: t.getComputedTextLength(),
    }));
  const svg = document.querySelector('svg');
  const vb = svg.viewBox.baseVal;
  const drawn = [...svg.children].filter(
    (e) => e instanceof SVGGraphicsElement && !(e instanceof SVGDefsElement) && !e.classList.contains('background'),
  );
  const nodes = [...svg.querySelectorAll('g.node')].map((g) => ({
    id: g.dataset.nodeId,
    kind: g.dataset.kind,
    cluster: g.dataset.cluster ?? null,
    shape: union([...g.querySelectorAll('.shape')].map((s) => rect(s.getBBox()))),
    texts: texts(g),
  }));
  const clusters = [...svg.querySelectorAll('g.cluster')].map((g) => ({
    id: g.dataset.cluster,
    box: rect(g.querySelector('.cluster-box').getBBox()),
    texts: texts(g),
  }));
  const labels = [...svg.querySelectorAll('g.edge-label')].map((g) => ({
    box: rect(g.querySelector('.label-box').getBBox()),
    texts: texts(g),
  }));
  const probe = (s) => {
    const t = svg.querySelector('g.node text').cloneNode();
    t.removeAttribute('font-weight');
    t.textContent = s;
    svg.appendChild(t);
    const width = t.getComputedTextLength();
    t.remove();
    return width;
  };
  return {
    viewBox: { x: vb.x, y: vb.y, width: vb.width, height: vb.height },
    content: union(drawn.map((e) => rect(e.getBBox()))),
    texts: texts(svg),
    nodes,
    clusters,
    labels,
    narrow: probe('iiiiiiiiii'),
    wide: probe('MMMMMMMMMM'),
  };
})()`;

const CASES: readonly { readonly name: string; readonly graph: () => DrawGraph; readonly screenshot?: string }[] = [
  { name: 'synthetic 25 stages in 4 flows', graph: () => syntheticGraph(25, 4), screenshot: SCREENSHOT },
  { name: 'shop', graph: shopGraph },
];

const right = (b: Rect) => b.x + b.width;
const bottom = (b: Rect) => b.y + b.height;
const show = (b: Rect) => `[${[b.x, b.y, right(b), bottom(b)].map((v) => v.toFixed(1)).join(', ')}]`;

/** Whether `inner` lies inside `outer` shrunk by `dx` on the left and right and `top` and `below` above and below. */
function inside(inner: Rect, outer: Rect, dx: number, top = dx, below = top): boolean {
  return (
    inner.x >= outer.x + dx &&
    right(inner) <= right(outer) - dx &&
    inner.y >= outer.y + top &&
    bottom(inner) <= bottom(outer) - below
  );
}

function intersects(a: Rect, b: Rect): boolean {
  return a.x < right(b) && b.x < right(a) && a.y < bottom(b) && b.y < bottom(a);
}

/** The part of a node's shape that text may use: a cylinder's lid and rounded bottom are off limits. */
function textArea(n: MeasuredNode): { box: Rect; dx: number; top: number; below: number } {
  if (n.kind === 'dataset') return { box: n.shape, dx: TEXT_MARGIN, top: 2 * CYLINDER_CAP, below: CYLINDER_CAP };
  return { box: n.shape, dx: TEXT_MARGIN, top: 1, below: 1 };
}

async function measure(page: Page, g: DrawGraph, screenshot?: string): Promise<Measured> {
  await page.setContent(`<!doctype html><html><body style="margin:0">${renderSvg(g)}</body></html>`);
  await page.evaluate('document.fonts.ready');
  if (screenshot !== undefined) await page.locator('svg').screenshot({ path: screenshot });
  const m = await page.evaluate<Omit<Measured, 'fonts'>>(MEASURE);
  return { ...m, fonts: await usedFonts(page, 'g.node text:not([font-weight])') };
}

async function usedFonts(page: Page, selector: string): Promise<string[]> {
  const cdp = await page.context().newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: -1 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    const { fonts } = await cdp.send('CSS.getPlatformFontsForNode', { nodeId });
    return fonts.map((f) => f.postScriptName || f.familyName);
  } finally {
    await cdp.detach();
  }
}

if (!existsSync(CHROMIUM) && process.env.CI === undefined) {
  test('napkin draw SVG in a real browser', {
    skip: `${CHROMIUM} not found: install Debian's chromium package to check the drawing in a browser`,
  });
} else {
  describe('napkin draw SVG in Chromium', () => {
    let browser: Browser;
    let page: Page;

    before(async () => {
      assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing; CI must install chromium for the browser tests`);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60_000 });
      page = await browser.newPage({ viewport: { width: 1600, height: 1000 }, deviceScaleFactor: 1 });
    });

    after(async () => {
      await browser?.close();
    });

    for (const c of CASES) {
      describe(c.name, () => {
        const g = c.graph();
        let m: Measured;

        before(async () => {
          m = await measure(page, g, c.screenshot);
        });

        it('draws every node once with its text, and no text is empty', () => {
          assert.deepEqual(m.nodes.map((n) => n.id).sort(), g.nodes.map((n) => n.id).sort());
          for (const t of m.texts) {
            assert.notEqual(t.text.trim(), '', `empty text at ${show(t.box)}`);
            assert.ok(t.length > 0 && t.box.width > 0 && t.box.height > 0, `"${t.text}" renders with no width`);
          }
          for (const n of m.nodes) assert.ok(n.texts.length > 0, `${n.id} has no text`);
        });

        it('renders node text in a monospace font', (t) => {
          const perChar = m.narrow / 10;
          t.diagnostic(
            `font ${m.fonts.join(', ')}: ${perChar.toFixed(3)}px a char (estimate ${CHAR_WIDTH.toFixed(3)}px)`,
          );
          assert.ok(m.narrow > 0 && Math.abs(m.narrow - m.wide) < 0.5, `10×i = ${m.narrow}px, 10×M = ${m.wide}px`);
        });

        it("keeps every line of a node's text inside its shape, lines apart", () => {
          for (const n of m.nodes) {
            const { box, dx, top, below } = textArea(n);
            for (const t of n.texts) {
              const where = `${n.id}: "${t.text}" ${show(t.box)} (${t.length.toFixed(1)}px) in shape ${show(box)}`;
              assert.ok(inside(t.box, box, dx, top, below), where);
            }
            for (let i = 1; i < n.texts.length; i++) {
              const [a, b] = [n.texts[i - 1], n.texts[i]];
              assert.ok(bottom(a.box) <= b.box.y + 0.5, `${n.id}: "${a.text}" overlaps "${b.text}"`);
            }
          }
        });

        it('keeps node shapes apart', () => {
          for (let i = 0; i < m.nodes.length; i++) {
            for (let j = i + 1; j < m.nodes.length; j++) {
              const [a, b] = [m.nodes[i], m.nodes[j]];
              assert.ok(!intersects(a.shape, b.shape), `${a.id} ${show(a.shape)} overlaps ${b.id} ${show(b.shape)}`);
            }
          }
        });

        it('draws a box per flow holding its nodes and heading, clear of every node', () => {
          assert.deepEqual(m.clusters.map((c) => c.id).sort(), g.flows.map((f) => f.id).sort());
          for (const cl of m.clusters) {
            const members = m.nodes.filter((n) => n.cluster === cl.id);
            assert.ok(members.length > 0, `flow ${cl.id} is empty`);
            for (const n of members)
              assert.ok(inside(n.shape, cl.box, 1), `${n.id} ${show(n.shape)} outside ${cl.id} ${show(cl.box)}`);
            for (const t of cl.texts) {
              assert.ok(inside(t.box, cl.box, TEXT_MARGIN, 1), `${cl.id} heading "${t.text}" ${show(t.box)} spills`);
              for (const n of m.nodes)
                assert.ok(!intersects(t.box, n.shape), `${cl.id} heading "${t.text}" is under ${n.id}`);
            }
          }
          for (const n of m.nodes.filter((n) => n.cluster === null))
            for (const cl of m.clusters) assert.ok(!intersects(n.shape, cl.box), `${n.id} sits in flow ${cl.id}`);
        });

        it('keeps edge label text on its backing box', () => {
          assert.equal(m.labels.length, g.edges.filter((e) => e.label !== undefined).length);
          for (const l of m.labels)
            for (const t of l.texts) assert.ok(inside(t.box, l.box, 0), `label "${t.text}" ${show(t.box)} spills`);
        });

        it('fits the whole drawing inside the viewBox', () => {
          assert.ok(inside(m.content, m.viewBox, 1), `content ${show(m.content)} vs viewBox ${show(m.viewBox)}`);
        });
      });
    }
  });
}
