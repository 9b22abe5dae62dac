// One life of a PostgreSQL sink task, for the crash tests: it takes the partition (a restart is a new owner), settles
// the epoch a crash may have left in flight (resume a pre-commit, else regenerate it), then writes the remaining
// epochs. NAPKIN_CRASH_AT makes it SIGKILL itself at a named point. Settings come from the environment:
// CRASH_FLOW, CRASH_TABLE, CRASH_MODE (append | merge), CRASH_EPOCHS.
import { connectPg } from '../src/connectors/postgres/connection.ts';
import { PgEpochSink } from '../src/connectors/postgres/epoch-sink.ts';
import { assignPartition } from '../src/connectors/postgres/fence.ts';
import { CONTRACT, epochBatches, FINGERPRINT } from './pg-fixtures.ts';

const flow = process.env.CRASH_FLOW ?? 'crash';
const table = process.env.CRASH_TABLE ?? 'crash.out';
const mode = process.env.CRASH_MODE === 'merge' ? 'merge' : 'append';
const epochs = Number(process.env.CRASH_EPOCHS ?? '3');

const conn = connectPg('env:NAPKIN_PG_URL');
try {
  const sink = await PgEpochSink.open(conn, {
    table,
    contract: CONTRACT,
    key: ['id'],
    mode,
    flow,
    sink: 'out',
    partition: '0',
  });
  const token = await assignPartition(conn.sql, sink.fence, FINGERPRINT);
  for (let e = ((await sink.committedEpoch()) ?? 0) + 1; e <= epochs; e++) {
    if ((await sink.recover(e, token, 'commit')) !== 'regenerate') continue;
    const w = sink.stage(e, token);
    for (const b of epochBatches(e, mode)) w.write(b);
    await w.preCommit();
    await sink.commit(e, token);
  }
} finally {
  await conn.sql.end();
}
