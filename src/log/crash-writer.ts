/**
 * The child process of crash.test.ts: appends the seeded batches of `crashBatch` one after another and prints
 * `ack <batch> <partition> <first> <last>` for each acknowledged one, until it is killed.
 *
 *   node --import tsx src/log/crash-writer.ts <dir> <seed> <partitions> [<tear at write k> <tear fraction>]
 *
 * With a tear, the k-th write to a segment writes only that fraction of its bytes and the process SIGKILLs itself:
 * half a batch on disk (the `mid-log-append` crash point of spec reliability §3).
 */
import type { LogIO } from './io.ts';
import { nodeIO } from './io.ts';
import { Log } from './log.ts';
import { crashBatch } from './testing.ts';

const [dir, seedArg, partitionsArg, tearArg, fractionArg] = process.argv.slice(2);
const seed = Number(seedArg);
const partitions = Number(partitionsArg);
const tearAt = tearArg === undefined ? 0 : Number(tearArg);
const fraction = fractionArg === undefined ? 0.5 : Number(fractionArg);

let segmentWrites = 0;
const io: LogIO = {
  ...nodeIO,
  async open(path, mode) {
    const f = await nodeIO.open(path, mode);
    if (!path.endsWith('.seg')) return f;
    return {
      read: (b, o, l, p) => f.read(b, o, l, p),
      datasync: () => f.datasync(),
      truncate: (n) => f.truncate(n),
      size: () => f.size(),
      close: () => f.close(),
      async write(b, o, l, p) {
        if (++segmentWrites !== tearAt) return f.write(b, o, l, p);
        await f.write(b, o, Math.max(1, Math.floor(l * fraction)), p);
        process.kill(process.pid, 'SIGKILL');
        return new Promise<number>(() => undefined);
      },
    };
  },
};

const log = await Log.open(dir, { partitions, segmentBytes: 16 << 10, io });
process.stdout.write('ready\n');
for (let n = 0; ; n++) {
  const { partition, records } = crashBatch(seed, n, partitions);
  const r = await log.append(partition, records);
  process.stdout.write(`ack ${n} ${partition} ${r.firstOffset} ${r.lastOffset}\n`);
}
