/**
 * Named crash points for the crash suite (spec reliability §3): with `NAPKIN_CRASH_AT=<point>:<k>` set, the process
 * SIGKILLs itself the k-th time it reaches `point`. Hooks sit at I/O boundaries, never in the per-record path; without
 * the variable a hook is one comparison.
 */
const setting = parse(process.env.NAPKIN_CRASH_AT);
let hits = 0;

export function crashPoint(point: string): void {
  if (setting === undefined || setting.point !== point) return;
  hits++;
  if (hits === setting.k) process.kill(process.pid, 'SIGKILL');
}

function parse(value: string | undefined): { point: string; k: number } | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^([a-z0-9-]+)(?::(\d+))?$/.exec(value);
  if (m === null)
    throw new Error(`NAPKIN_CRASH_AT='${value}' is not '<point>:<k>' (e.g. pg-commit:1); fix or unset it`);
  return { point: m[1], k: m[2] === undefined ? 1 : Number(m[2]) };
}
