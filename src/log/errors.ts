/** The log's errors: each names what failed, where, and what to do. */

/** Damaged committed data (spec reliability §2.9): the log refuses to go on and has changed nothing. */
export class LogCorruptionError extends Error {
  constructor(
    readonly file: string,
    readonly byteOffset: number,
    readonly check: string,
    why: string,
  ) {
    super(
      `corrupt log data in ${file} at byte ${byteOffset}: ${check} (${why}); napkin did not modify the log: ` +
        'restore the directory from a backup, or move it aside and replay the source',
    );
    this.name = 'LogCorruptionError';
  }
}

/** A read below the log start (retention or compaction removed it) or past the end. */
export class LogOffsetOutOfRangeError extends Error {
  constructor(
    readonly partition: number,
    readonly offset: number,
    readonly startOffset: number,
    readonly endOffset: number,
  ) {
    super(
      offset < startOffset
        ? `offset ${offset} of partition ${partition} is below the log start offset ${startOffset} ` +
            `(retention removed it); read from ${startOffset} or later`
        : `offset ${offset} of partition ${partition} is past the log end offset ${endOffset}; ` +
            `read from ${endOffset} or earlier`,
    );
    this.name = 'LogOffsetOutOfRangeError';
  }
}

/** Another live process holds the directory's lock. */
export class LogLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number,
    lockFile: string,
  ) {
    super(
      pid === process.pid
        ? `log directory ${dir} is already open in this process (pid ${pid}); close it before opening it again`
        : `log directory ${dir} is locked by pid ${pid} (${lockFile}); stop that process first, ` +
            'or delete the lock file if that pid is not a napkin process',
    );
    this.name = 'LogLockedError';
  }
}

/**
 * An fsync failed: after that Linux may have dropped the dirty pages and cleared the error, so what is on disk is
 * unknown and a retry could falsely succeed (spec reliability §2.9). The log takes no more writes.
 */
export class LogFailedError extends Error {
  constructor(
    readonly file: string,
    override readonly cause: unknown,
  ) {
    super(
      `fsync of ${file} failed (${codeOf(cause)}): what reached the disk is unknown, so this log takes no more ` +
        'writes; end the process and reopen the log (recovery truncates the unacknowledged tail)',
    );
    this.name = 'LogFailedError';
  }
}

/** A write failed (ENOSPC, say); the batch was not acknowledged and the log is as it was before the append. */
export class LogWriteError extends Error {
  constructor(
    readonly file: string,
    readonly byteOffset: number,
    override readonly cause: unknown,
  ) {
    super(
      `append to ${file} at byte ${byteOffset} failed (${codeOf(cause)}); nothing of this batch was acknowledged ` +
        `and the log is unchanged: ${(cause as NodeJS.ErrnoException)?.code === 'ENOSPC' ? 'free disk space' : 'fix the cause'} and append again`,
    );
    this.name = 'LogWriteError';
  }
}

export function codeOf(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return `${code}: ${(e as Error).message.replace(/^[A-Z]+: /, '')}`;
  return e instanceof Error ? e.message : String(e);
}
