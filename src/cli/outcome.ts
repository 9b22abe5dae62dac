/** Exit codes, documented in README: distinct so scripts can tell a failed run from a failed check. */
export const EXIT = { ok: 0, failure: 1, usage: 2, checkFailed: 3 } as const;

export interface Outcome {
  readonly code: (typeof EXIT)[keyof typeof EXIT];
}

export type SetOutcome = (o: Outcome) => void;
export type Globals = () => { project: string };

/** Runs a command body, turning its errors into one line on stderr and exit code 1. */
export async function guarded(set: SetOutcome, body: () => Promise<Outcome>): Promise<void> {
  try {
    set(await body());
  } catch (e) {
    process.stderr.write(`napkin: ${(e as Error).message}\n`);
    set({ code: EXIT.failure });
  }
}
