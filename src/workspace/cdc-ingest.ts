import { createHash } from 'node:crypto';
import { type CdcLog, type CdcPosition, CdcSource } from '../connectors/postgres/cdc-source.ts';
import type { Dataset } from '../flow/dataset.ts';
import type { PostgresCdc } from '../flow/storage.ts';
import type { FollowedSource } from './flow-topics.ts';
import type { Topic } from './topic-log.ts';

/**
 * A `postgresCdc` dataset's source: its snapshot is taken (or found complete in the topic) before the flow's first
 * epoch, then its changes are streamed into the topic while the flow runs, like a followed file. Every append goes
 * in with its position (`CdcPosition`) in the chunk marker, whose `file` names the table and slot.
 */
export async function openCdcSource(
  topic: Topic,
  ds: Dataset,
  st: PostgresCdc,
  project: string,
): Promise<FollowedSource> {
  const contract = ds.contract;
  if (contract === undefined)
    throw new Error(`dataset ${ds.name} has no contract; napkin check reports this as NAP026`);
  const fields = contract.schema.fields.map((f) => f.name);
  const slot = st.slot ?? defaultSlot(project, ds.name);
  const publication = st.publication ?? defaultPublication(st.table);
  const name = `postgres ${st.table} slot ${slot}`;
  const s = topic.state;
  if (s.generation >= 0 && (s.fields.length !== fields.length || s.fields.some((f, i) => f !== fields[i])))
    throw new Error(
      `dataset ${ds.name}: its contract's fields (${fields.join(', ')}) differ from those of its log (${s.fields.join(', ')}); to take a new snapshot under the new contract, remove .napkin/log/${ds.name}, drop slot ${slot}, and reprocess with napkin replay`,
    );
  if (s.generation >= 0 && s.position !== undefined && s.partial !== name)
    throw new Error(
      `dataset ${ds.name}: its log was written from ${s.partial ?? 'another source'}, and its storage now names ${name}; set slot (and table) back, or remove .napkin/log/${ds.name} to start over from a new snapshot`,
    );
  const timeCol = contract.eventTime === undefined ? -1 : fields.indexOf(contract.eventTime);
  const log: CdcLog = {
    position: () => (topic.state.generation >= 0 ? (topic.state.position as CdcPosition | undefined) : undefined),
    hasRecords: () => topic.state.generation >= 0 && topic.state.end > topic.state.generation + 1,
    startGeneration: () => topic.startGeneration(fields),
    append: (chunk, position) =>
      topic.appendChunk(chunk, timeCol, Date.now(), {
        kind: 'chunk',
        file: name,
        position: position as unknown as Readonly<Record<string, number>>,
      }),
  };
  if (s.generation < 0) await topic.startGeneration(fields);
  const options = {
    dataset: ds.name,
    table: st.table,
    connection: st.connection,
    slot,
    publication,
    contract,
    ...(st.stopAfterIdleMs === undefined ? {} : { stopAfterIdleMs: st.stopAfterIdleMs }),
    ...(st.reconnectForMs === undefined ? {} : { reconnectForMs: st.reconnectForMs }),
  };
  const source = await CdcSource.prepare(options, log);
  await topic.saveState();
  return {
    topic,
    dataset: ds,
    name,
    async ingest(signal, now) {
      const records = await source.stream(log, signal, now);
      await topic.saveState();
      return { dataset: ds.name, files: 0, records, newGeneration: false };
    },
  };
}

/** `napkin_<dataset>_<10 hex digits of SHA-256 over project and dataset>`: stable, and distinct per project. */
export function defaultSlot(project: string, dataset: string): string {
  const hash = createHash('sha256').update(`${project}\0${dataset}`).digest('hex').slice(0, 10);
  return `napkin_${dataset.replaceAll('.', '_').slice(0, 40)}_${hash}`;
}

/** `napkin_<table>_<10 hex digits of SHA-256 over the table>`: one publication per table. */
export function defaultPublication(table: string): string {
  const hash = createHash('sha256').update(table).digest('hex').slice(0, 10);
  return `napkin_${table.replaceAll('.', '_').slice(0, 40)}_${hash}`;
}
