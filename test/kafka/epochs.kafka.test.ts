// Workers' state snapshots in the flow's state topic against a real broker: a snapshot larger than a Kafka record is
// written in parts within the commit entry's transaction and read back whole by the next owner; a smaller one later
// tombstones the parts it no longer has; a snapshot exists only for a committed epoch.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { resolveBrokers } from '../../src/connectors/kafka/client.ts';
import { KafkaEpochStore } from '../../src/workspace/kafka-epochs.ts';
import { readState, stateTopic } from '../../src/workspace/kafka-state.ts';
import { useKafkaServer } from '../kafka-server.ts';

describe('state snapshots in the state topic napkin.<flow>.state', () => {
  useKafkaServer();

  /** Plans, checkpoints and commits epoch `n` with `state`. */
  async function commit(store: KafkaEpochStore, n: number, state?: Uint8Array): Promise<void> {
    await store.writeOffsets({
      epoch: n,
      fingerprint: 'v1',
      ranges: { d: { from: n - 1, to: n } },
      clock: n,
      fresh: n === 1,
      final: false,
    });
    await store.writeCheckpoint({ fingerprint: 'v1', epoch: n, offsets: { d: n }, metrics: {}, sinks: [] });
    await store.writeCommit(n, state);
  }

  it('writes a large snapshot in parts, reads it back whole, and tombstones parts a smaller one drops', async () => {
    const conn = resolveBrokers('env:NAPKIN_KAFKA_BROKERS');
    const big = randomBytes(700 * 1024);
    let store = await KafkaEpochStore.open(conn, 'snap_f', 0);
    await commit(store, 1, big);
    await store.close();

    store = await KafkaEpochStore.open(conn, 'snap_f', 0);
    const first = await store.snapshot();
    assert.equal(first?.epoch, 1);
    assert.ok(Buffer.from(first.bytes).equals(big), 'the snapshot reads back byte for byte');
    const parts = async () => (await readState(conn, stateTopic('snap_f'), 0, 30_000)).parts;
    assert.equal(await parts(), 3, 'three parts in napkin.snap_f.state');

    const small = randomBytes(1000);
    await commit(store, 2, small);
    await commit(store, 3);
    // Epoch 4 is planned, not committed: the next owner sees it in flight, and the snapshot stays epoch 2's.
    await store.writeOffsets({
      epoch: 4,
      fingerprint: 'v1',
      ranges: { d: { from: 3, to: 4 } },
      clock: 4,
      fresh: false,
      final: false,
    });
    await store.close();

    store = await KafkaEpochStore.open(conn, 'snap_f', 0);
    const second = await store.snapshot();
    assert.equal(second?.epoch, 2, 'the latest committed snapshot, from before epoch 3 which had none');
    assert.ok(Buffer.from(second.bytes).equals(small));
    assert.equal(await parts(), 1, 'the parts the smaller snapshot dropped are tombstoned');
    const pos = await store.position();
    assert.equal(pos.committed, 3);
    assert.equal(pos.planned?.epoch, 4);
    await store.close();
  });
});
