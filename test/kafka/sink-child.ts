// A child process for the Kafka sink's crash trials: it plays a flow's epoch runner around one real Kafka sink, so a
// trial costs one short process instead of a whole `napkin run`. Per epoch it writes that epoch's rows (always the
// same for the same epoch: a regenerated epoch is identical), commits the epoch with its commit key, then records the
// epoch durably in its state file, as the runner writes its commit log after every sink committed. A restart takes
// up the epoch after the last recorded one, which the sink may already have committed (killed between its commit and
// the record): the sink must then produce nothing. Crash points: the sink's kafka-produced and kafka-committed, and
// child-recorded after the record; SIGKILL from outside at any time.
//
//   node --import tsx test/kafka/sink-child.ts '{"state":…,"topic":…,"flow":…,"epochs":N,"base":T,"pauseMs":M}'
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { crashPoint } from '../../src/connectors/crash-point.ts';
import { openKafkaSink } from '../../src/connectors/kafka/sink.ts';
import type { Value } from '../../src/expr/types.ts';
import { t } from '../../src/flow/contract.ts';
import { kafka } from '../../src/flow/kafka-storage.ts';
import { rowsOf } from './committed.ts';

interface Args {
  /** The file holding the last recorded epoch. */
  readonly state: string;
  readonly topic: string;
  readonly flow: string;
  /** The last epoch to run. */
  readonly epochs: number;
  /** Pause between epochs (the zombie test stops the process meanwhile). */
  readonly pauseMs?: number;
  /** The first epoch when the state file is missing (default 1). */
  readonly first?: number;
  /** The event time of epoch 0's rows (ms). */
  readonly base: number;
}

const args = JSON.parse(process.argv[2]) as Args;

const fields = [
  { name: 'id', type: t.string().type, nullable: false },
  { name: 'epoch', type: t.int64().type, nullable: false },
  { name: 'n', type: t.int64().type, nullable: false },
  { name: 'at', type: t.timestamp().type, nullable: false },
];

function recorded(): number {
  if (!existsSync(args.state)) return (args.first ?? 1) - 1;
  return Number(readFileSync(args.state, 'utf8'));
}

function record(epoch: number): void {
  const tmp = `${args.state}.tmp`;
  const fd = openSync(tmp, 'w');
  writeSync(fd, String(epoch));
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, args.state);
}

const sink = await openKafkaSink({
  storage: kafka({ topic: args.topic, brokers: 'env:NAPKIN_KAFKA_BROKERS' }),
  dataset: 'trial.out',
  contract: { fields },
  contractKey: ['id'],
  eventTime: 'at',
  mode: 'replace',
  input: { fields },
  flow: args.flow,
  sink: 'write_out',
  fingerprint: 'f'.repeat(64),
});
try {
  for (let e = recorded() + 1; e <= args.epochs; e++) {
    const rows = rowsOf(e, args.base);
    const columns: Value[][] = [
      rows.map((r) => r.id),
      rows.map((r) => r.epoch),
      rows.map((r) => r.n),
      rows.map((r) => r.at),
    ];
    sink.write({ length: rows.length, columns });
    const where = await sink.commit({
      flow: args.flow,
      sink: 'write_out',
      partition: '0',
      epoch: e,
      fingerprint: 'f'.repeat(64),
      fresh: e === 1,
    });
    record(e);
    crashPoint('child-recorded');
    process.stdout.write(`epoch ${e}: ${where}\n`);
    if (args.pauseMs !== undefined) await sleep(args.pauseMs);
  }
  await sink.abort();
} catch (e) {
  await sink.abort().catch(() => undefined);
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
