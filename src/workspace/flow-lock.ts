import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { processAlive } from '../log/lock.ts';
import { shortFingerprint } from '../plan/fingerprint.ts';

/** Who holds a flow: the process, the flow version it runs and its ownership epoch (reliability §2.6, §2.7). */
export interface FlowOwner {
  readonly pid: number;
  readonly fingerprint: string;
  /** Raised on every acquisition and never reused: the fencing token its writes carry. */
  readonly ownershipEpoch: number;
  readonly since: string;
}

/** Refused because another live process holds the flow: names both versions, so a skewed deploy is obvious. */
export class FlowLockedError extends Error {
  constructor(
    readonly flow: string,
    readonly holder: FlowOwner,
    readonly fingerprint: string,
  ) {
    const mine = shortFingerprint(fingerprint);
    const theirs = shortFingerprint(holder.fingerprint);
    super(
      holder.fingerprint === fingerprint
        ? `flow ${flow} is already running (pid ${holder.pid}, fingerprint ${theirs}, since ${holder.since}); wait for it or stop it`
        : `flow ${flow} is running a different version: pid ${holder.pid} has fingerprint ${theirs}, this process has ${mine}; stop pid ${holder.pid} before deploying ${mine} (napkin never runs two versions of a flow at once)`,
    );
    this.name = 'FlowLockedError';
  }
}

export interface FlowLock {
  readonly owner: FlowOwner;
  /** A takeover of a dead holder's lock, for the run log. */
  readonly replaced?: FlowOwner;
  release(): void;
}

/** Where a flow's lock lives in the state folder. */
export function lockFile(stateDir: string, flow: string): string {
  return join(stateDir, 'flows', flow, 'owner.json');
}

/**
 * Takes a flow for this process: one writer per flow and state folder. The lock file is created exclusively
 * (`O_EXCL`) and holds the owner; a lock whose process is gone is moved aside and taken over, a live one is refused
 * with both fingerprints. The lock is the operator-facing guard; correctness rests on the ownership epoch, taken from
 * a counter that only grows (written temp, fsync, rename, directory fsync) and checked by the sinks that store it.
 * Nothing is written before the lock is held: a refused process leaves the flow's folder as it found it. Only a
 * holder raises the counter, and it reads it again once it holds the lock, so no two holders get the same epoch.
 */
export function acquireFlowLock(stateDir: string, flow: string, fingerprint: string, pid = process.pid): FlowLock {
  const dir = join(stateDir, 'flows', flow);
  mkdirSync(dir, { recursive: true });
  const lockPath = lockFile(stateDir, flow);
  let replaced: FlowOwner | undefined;
  // An epoch above the counter and above a dead holder's, which may have died before it raised the counter.
  const nextEpoch = (): number => Math.max(readCounter(dir), replaced?.ownershipEpoch ?? 0) + 1;
  for (let attempt = 0; attempt < 3; attempt++) {
    const proposed = nextEpoch();
    const since = new Date().toISOString();
    if (createExclusive(lockPath, `${JSON.stringify({ pid, fingerprint, ownershipEpoch: proposed, since })}\n`)) {
      // Held: a holder that took and released the flow since the counter was read above raised it meanwhile.
      const ownershipEpoch = nextEpoch();
      const owner: FlowOwner = { pid, fingerprint, ownershipEpoch, since };
      if (ownershipEpoch !== proposed) writeAtomically(dir, 'owner.json', `${JSON.stringify(owner)}\n`);
      writeAtomically(dir, COUNTER, `${ownershipEpoch}\n`);
      return {
        owner,
        ...(replaced === undefined ? {} : { replaced }),
        release() {
          const current = readOwner(lockPath);
          if (current?.pid === pid && current.ownershipEpoch === ownershipEpoch) rmSync(lockPath, { force: true });
        },
      };
    }
    const holder = readOwner(lockPath);
    if (holder === undefined) continue; // released in between: try again
    if (processAlive(holder.pid)) throw new FlowLockedError(flow, holder, fingerprint);
    // A dead holder: move its lock aside under a name of its own, so two takers cannot both remove the same file.
    try {
      renameSync(lockPath, join(dir, `owner.stale-${holder.pid}-${holder.ownershipEpoch}.json`));
      replaced = holder;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`flow ${flow}: another process keeps taking the lock in ${dir}; retry once it has settled`);
}

/**
 * Removes the temporary files a holder killed while writing the counter or the lock left in the flow's folder
 * (`.ownership-epoch.<pid>.tmp`, `.owner.json.<pid>.tmp`); returns their paths. Call it holding the flow's lock: only
 * a holder writes them, so none of them is still being written.
 */
export function removeLockTemporaries(stateDir: string, flow: string): string[] {
  const dir = join(stateDir, 'flows', flow);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const removed = names.filter((n) => TEMPORARY.test(n)).map((n) => join(dir, n));
  for (const path of removed) rmSync(path, { force: true });
  if (removed.length > 0) fsyncDir(dir);
  return removed;
}

const COUNTER = 'ownership-epoch';
/** What {@link writeAtomically} names its temporary files in a flow's folder. */
const TEMPORARY = /^\.(?:ownership-epoch|owner\.json)\.\d+\.tmp$/;

function createExclusive(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The owner recorded in a flow's lock file, if any (it may be a dead process: see {@link ownerAlive}). */
export function readOwner(path: string): FlowOwner | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as FlowOwner;
  } catch {
    throw new Error(
      `${path} is damaged (not the JSON napkin writes); stop every napkin process of this flow and delete it`,
    );
  }
}

/** Whether the lock's process still exists. */
export function ownerAlive(owner: FlowOwner): boolean {
  return processAlive(owner.pid);
}

/** The flow's ownership-epoch counter: the highest epoch a holder took (0 before the first). */
function readCounter(dir: string): number {
  let last = 0;
  try {
    last = Number(readFileSync(join(dir, COUNTER), 'utf8').trim());
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!Number.isSafeInteger(last) || last < 0) throw new Error(`${join(dir, COUNTER)} is damaged`);
  return last;
}

function writeAtomically(dir: string, name: string, text: string): void {
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  const d = openSync(dir, 'r');
  try {
    fsyncSync(d);
  } finally {
    closeSync(d);
  }
}
