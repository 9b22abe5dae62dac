import { SECRET_REFERENCE } from '../../flow/storage.ts';

/**
 * How napkin's Kafka clients connect: the bootstrap list comes from the environment variable a storage names
 * (`env:NAME`), resolved here when a connector connects, never printed; retries start after 25 ms and double up to
 * 1 s (a transaction that begins while the previous one's markers are still being written is answered
 * CONCURRENT_TRANSACTIONS, and the client's default of 1 s per retry would cost a second per epoch).
 */
export interface KafkaConnection {
  readonly bootstrapBrokers: string[];
  /** The reference, the only name for the brokers that may be shown. */
  readonly reference: string;
  readonly secrets: readonly string[];
}

export function resolveBrokers(reference: string): KafkaConnection {
  if (!SECRET_REFERENCE.test(reference))
    throw new Error(`kafka brokers must be a reference such as 'env:NAPKIN_KAFKA_BROKERS'`);
  const name = reference.slice('env:'.length);
  const value = process.env[name];
  if (value === undefined || value.trim() === '')
    throw new Error(
      `kafka brokers ${reference}: environment variable ${name} is not set; set it to the bootstrap list, host:port[,host:port...]`,
    );
  const bootstrapBrokers = value
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b !== '');
  if (bootstrapBrokers.some((b) => !/^[^\s:]+:\d+$/.test(b) && !/^\[[0-9a-fA-F:]+\]:\d+$/.test(b)))
    throw new Error(`kafka brokers ${reference}: ${name} must be a comma-separated list of host:port`);
  const secrets = [value, ...bootstrapBrokers].sort((a, b) => b.length - a.length);
  return { bootstrapBrokers, reference, secrets };
}

/** The client options every napkin Kafka client shares. */
export function clientOptions(c: KafkaConnection, clientId: string) {
  return {
    clientId,
    bootstrapBrokers: c.bootstrapBrokers,
    retries: 20,
    retryDelay: (_client: unknown, _op: string, attempt: number) => Math.min(25 * 2 ** attempt, 1000),
  };
}

/** The broker's error ids in a client error (`PRODUCER_FENCED`, `OFFSET_OUT_OF_RANGE`, …), innermost first. */
export function errorIds(e: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (x: unknown): void => {
    if (typeof x !== 'object' || x === null || seen.has(x)) return;
    seen.add(x);
    const o = x as { apiId?: unknown; errors?: unknown; cause?: unknown };
    if (Array.isArray(o.errors)) for (const inner of o.errors) walk(inner);
    walk(o.cause);
    if (typeof o.apiId === 'string' && !out.includes(o.apiId)) out.push(o.apiId);
  };
  walk(e);
  return out;
}

/** Whether a client error says a newer producer with the same transactional id took over (spec §2.5). */
export function isFenced(e: unknown): boolean {
  return errorIds(e).some((id) => id === 'PRODUCER_FENCED' || id === 'INVALID_PRODUCER_EPOCH');
}

/** A one-line error: what failed, the client's message and the broker's error ids, broker addresses redacted. */
export function kafkaFailure(what: string, e: unknown, c: KafkaConnection | undefined, hint?: string): Error {
  const messages: string[] = [];
  let x: unknown = e;
  for (let i = 0; i < 4 && x instanceof Error; i++) {
    const line = x.message.split('\n')[0];
    if (!messages.includes(line)) messages.push(line);
    x = (x as { cause?: unknown }).cause;
  }
  let text = messages.join(': ') || String(e);
  for (const s of c?.secrets ?? []) if (s !== '') text = text.split(s).join('***');
  const ids = errorIds(e);
  const reach =
    hint ??
    (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT|Connection|connect/i.test(text) && c !== undefined
      ? `check that the brokers in ${c.reference} are up and reachable`
      : undefined);
  return new Error(
    `${what}: ${text}${ids.length === 0 ? '' : ` [${ids.join(', ')}]`}${reach === undefined ? '' : `; ${reach}`}`,
  );
}

/** Closes a client (forcefully: nothing it does is left to finish), ignoring errors. */
export function closeClient(c: {
  close(force: boolean, callback: (error?: Error | null) => void): void;
}): Promise<void> {
  return new Promise((resolve) => {
    try {
      c.close(true, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** The topic napkin's Kafka sinks record their commit keys in (see `commits.ts`). */
export const COMMITS_TOPIC = '__napkin_commits';
