// Writes the clicks example's input deterministically (a seeded PRNG): page views over ten minutes, delivered in
// 20-second bursts of arrival time, one file per burst. Most views arrive within 4 s (out of order, but within the
// watermark's 5 s bound), some arrive 10–90 s late (LATE panes), a few over 6 minutes late (dropped and counted).
// Run: node --import tsx examples/clicks/generate.ts
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
let seed = 20240501;
const rand = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const between = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo));

const PAGES = ['/', '/pricing', '/docs', '/blog'];
const T0 = Date.parse('2024-05-01T12:00:00Z');
const BURST_MS = 20_000;

interface View {
  readonly event_id: string;
  readonly page: string;
  readonly user_id: string;
  readonly at: string;
  readonly arrival: number;
}

/** The deliveries, in arrival order: each is the lines of one file. */
export function deliveries(): string[][] {
  const views: View[] = [];
  for (let t = T0, n = 0; t < T0 + 600_000; t += between(500, 3_500), n++) {
    const r = rand();
    // Views more than 6 minutes late come only from the first minutes, so they are surely past the 5-minute lateness.
    const delay =
      r < 0.85
        ? between(0, 4_000)
        : r < 0.96 || t > T0 + 180_000
          ? between(10_000, 90_000)
          : between(6 * 60_000 + 30_000, 8 * 60_000);
    views.push({
      event_id: `v${String(n).padStart(5, '0')}`,
      page: PAGES[Math.floor(rand() * rand() * PAGES.length)],
      user_id: `u${between(1, 60)}`,
      at: new Date(t).toISOString(),
      arrival: t + delay,
    });
  }
  views.sort((a, b) => a.arrival - b.arrival || a.event_id.localeCompare(b.event_id));
  const bursts = new Map<number, string[]>();
  for (const { arrival, ...v } of views) {
    const k = Math.floor((arrival - T0) / BURST_MS);
    const lines = bursts.get(k) ?? [];
    lines.push(JSON.stringify(v));
    bursts.set(k, lines);
  }
  return [...bursts.entries()].sort((a, b) => a[0] - b[0]).map(([, lines]) => lines);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = join(here, 'data', 'clicks');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  deliveries().forEach((lines, i) => {
    writeFileSync(join(dir, `part-${String(i).padStart(3, '0')}.jsonl`), `${lines.join('\n')}\n`);
  });
  // The live stream starts empty; `demo.ts` appends the deliveries to it while napkin tails it.
  writeFileSync(join(here, 'data', 'live.jsonl'), '');
}
