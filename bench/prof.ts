/**
 * `node --import tsx bench/prof.ts FILE.cpuprofile [TOP]`: the functions a V8 CPU profile (from `npm run bench --
 * --profile`) spent most time in, by self time and by total time (self plus callees), so a profile can be read in a
 * terminal without DevTools.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topText] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: prof.ts FILE.cpuprofile [TOP]');
const top = Number(topText ?? 30);
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

/** Microseconds of samples whose leaf is each node. */
const selfUs = new Map<number, number>();
profile.samples.forEach((id, k) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[k] ?? 0));
});

const label = (n: ProfileNode): string => {
  const f = n.callFrame;
  const where = f.url === '' ? '' : ` ${relative(process.cwd(), f.url.replace('file://', ''))}:${f.lineNumber + 1}`;
  return `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`;
};

const self = new Map<string, number>();
const total = new Map<string, number>();
let all = 0;
for (const [id, us] of selfUs) {
  all += us;
  const leaf = byId.get(id) as ProfileNode;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + us);
  // Each function on the stack once, even when it recurses.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur) as ProfileNode);
    if (seen.has(l)) continue;
    seen.add(l);
    total.set(l, (total.get(l) ?? 0) + us);
  }
}

const print = (title: string, m: Map<string, number>): void => {
  console.log(`\n${title} (of ${(all / 1e6).toFixed(2)} s sampled)`);
  for (const [l, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${(us / 1e6).toFixed(3).padStart(8)} s ${((100 * us) / all).toFixed(1).padStart(5)}%  ${l}`);
  }
};
print('self time', self);
print('total time', total);
