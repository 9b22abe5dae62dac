/**
 * A one-line progress bar on stderr for long reads. It draws only on a terminal and only once a read has taken a
 * second, so short runs and logs stay clean.
 */
export function progressBar(stream: NodeJS.WriteStream = process.stderr): {
  update(label: string, done: number, total: number): void;
  clear(): void;
} {
  const started = new Map<string, number>();
  let drawn = false;
  let last = 0;
  return {
    update(label, done, total) {
      if (!stream.isTTY || total <= 0) return;
      const now = Date.now();
      if (!started.has(label)) started.set(label, now);
      if (now - (started.get(label) ?? now) < 1000 || now - last < 100) return;
      last = now;
      const width = 30;
      const frac = Math.min(1, done / total);
      const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
      stream.write(`\r${label} ${bar} ${(frac * 100).toFixed(0).padStart(3)}%`);
      drawn = true;
    },
    clear() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
