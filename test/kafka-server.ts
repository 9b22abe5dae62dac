// A throwaway Apache Kafka broker for the integration tests (*.kafka.test.ts): one JVM in KRaft mode acting as
// controller and broker, the jars that scripts/kafka/fetch.sh copied from the Maven registry into .cache/kafka/lib,
// listeners on 127.0.0.1 only with free ports, a temp directory for its log and metadata, replication factor 1 for
// the internal topics. The JVM gets PR_SET_PDEATHSIG (setpriv), so it dies with the process that started it.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { after, before } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const REPO = resolve(import.meta.dirname, '..');
const FETCH = 'scripts/kafka/fetch.sh';

export interface KafkaServer {
  /** `127.0.0.1:<port>`: the bootstrap address for clients. */
  readonly bootstrap: string;
  readonly port: number;
  readonly controllerPort: number;
  /** Milliseconds from the start of storage formatting to the broker accepting connections. */
  readonly startMs: number;
  /** The broker's log (log4j2 at INFO); removed with the rest of its directory by stop(). */
  readonly logFile: string;
  stop(): Promise<void>;
}

export interface KafkaServerOptions {
  /** Extra or overriding server.properties entries. */
  properties?: Readonly<Record<string, string | number | boolean>>;
  /** The JVM's maximum heap (default 512m). */
  heap?: string;
  /** How long to wait for the broker to accept connections (default 120 s: the CI machine is small and shared). */
  startTimeoutMs?: number;
}

/** The folder holding the broker's jars: NAPKIN_KAFKA_LIB, else .cache/kafka/lib in the repository. */
export function kafkaLibDir(): string {
  const given = process.env.NAPKIN_KAFKA_LIB;
  return given !== undefined && given !== '' ? given : join(REPO, '.cache', 'kafka', 'lib');
}

/** The java launcher: $JAVA_HOME/bin/java, else the first java on PATH. */
export function javaPath(): string | undefined {
  const home = process.env.JAVA_HOME;
  if (home !== undefined && home !== '' && existsSync(join(home, 'bin', 'java'))) return join(home, 'bin', 'java');
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'java'))) return join(dir, 'java');
  }
  return undefined;
}

/** Why a broker cannot be started here (one line), or undefined when Java and the jars are there. */
export function kafkaUnavailable(): string | undefined {
  if (javaPath() === undefined)
    return 'no Java found (JAVA_HOME or java on PATH); the Kafka test broker needs Java 17+: apt-get install -y openjdk-17-jre-headless';
  const lib = kafkaLibDir();
  const jars = existsSync(lib) ? readdirSync(lib).filter((f) => f.endsWith('.jar')) : [];
  if (!jars.some((j) => j.startsWith('kafka_2.13-')))
    return `no Kafka broker jars in ${lib}; run ${FETCH} (it fetches them from the Maven registry)`;
  return undefined;
}

/**
 * Starts one broker for the calling test file (before its tests, stopped after them) and puts its bootstrap address
 * in the environment variable `env` (default NAPKIN_KAFKA_BROKERS). Returns a getter. node:test runs `after` hooks in
 * the order they are declared: declare the one that closes the file's clients before calling this, or the clients
 * meet a stopped broker and retry until their retries run out.
 */
export function useKafkaServer(env = 'NAPKIN_KAFKA_BROKERS', options: KafkaServerOptions = {}): () => KafkaServer {
  let server: KafkaServer | undefined;
  before(
    async () => {
      server = await startKafkaServer(options);
      process.env[env] = server.bootstrap;
      console.log(`Kafka test broker ${server.bootstrap} ready in ${(server.startMs / 1000).toFixed(1)} s`);
    },
    { timeout: (options.startTimeoutMs ?? 120_000) * 3 + 30_000 },
  );
  after(async () => {
    delete process.env[env];
    await server?.stop();
  });
  return () => {
    if (server === undefined) throw new Error('the Kafka test broker is not running (useKafkaServer before hooks)');
    return server;
  };
}

export async function startKafkaServer(options: KafkaServerOptions = {}): Promise<KafkaServer> {
  const why = kafkaUnavailable();
  if (why !== undefined) throw new Error(why);
  const java = javaPath()!;
  const classpath = join(kafkaLibDir(), '*');
  const dir = mkdtempSync(join(tmpdir(), 'napkin-kafka-'));
  const log4j = join(dir, 'log4j2.properties');
  writeFileSync(log4j, LOG4J2);
  const started = Date.now();
  let lastError: Error | undefined;
  try {
    // A port is free when picked but may be taken before the broker binds it: try a few times, each with fresh
    // storage, since the formatted metadata names the controller's address.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      let controllerPort = await freePort();
      while (controllerPort === port) controllerPort = await freePort();
      const data = join(dir, `data-${attempt}`);
      const config = join(dir, `server-${attempt}.properties`);
      const logFile = join(dir, `server-${attempt}.log`);
      writeFileSync(config, serverProperties(port, controllerPort, data, options.properties));
      await format(java, classpath, log4j, config, logFile);
      const child = launch(java, classpath, log4j, config, logFile, options.heap ?? '512m');
      const outcome = await ready(child, port, logFile, options.startTimeoutMs ?? 120_000);
      if (outcome === 'ready') {
        const startMs = Date.now() - started;
        return {
          bootstrap: `127.0.0.1:${port}`,
          port,
          controllerPort,
          startMs,
          logFile,
          async stop() {
            // Nothing of the broker outlives the test, so it is killed rather than shut down (saves ~3 s).
            await kill(child);
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await kill(child);
      lastError = new Error(outcome);
      if (!/Address already in use|BindException/.test(outcome)) break;
    }
    throw lastError;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`starting the Kafka test broker failed: ${(e as Error).message.split('\n')[0]}`);
  }
}

// Every internal topic has one replica on the one broker; the few partitions of __consumer_offsets and
// __transaction_state keep their creation (at the first group or transaction) short.
function serverProperties(
  port: number,
  controllerPort: number,
  data: string,
  extra: KafkaServerOptions['properties'] = {},
): string {
  const props: Record<string, string | number | boolean> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.bootstrap.servers': `127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'log.dirs': data,
    'num.partitions': 1,
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 5,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    'group.initial.rebalance.delay.ms': 0,
    ...extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

const LOG4J2 = `status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
`;

// A short-lived tool run: a small heap and the quick JIT tier only.
const TOOL_JVM = ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

async function format(java: string, classpath: string, log4j: string, config: string, logFile: string): Promise<void> {
  // A cluster id is 16 random bytes in URL-safe base64; one starting with '-' would read as an option.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  try {
    const { stdout, stderr } = await run(
      java,
      [
        ...TOOL_JVM,
        `-Dlog4j2.configurationFile=${log4j}`,
        '-cp',
        classpath,
        'kafka.tools.StorageTool',
        'format',
        '--config',
        config,
        '--cluster-id',
        clusterId,
        '--standalone',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    writeFileSync(logFile, stdout + stderr);
  } catch (e) {
    const out = `${(e as { stdout?: string }).stdout ?? ''}${(e as { stderr?: string }).stderr ?? ''}`;
    const last = out.trim().split('\n').pop();
    throw new Error(
      `kafka.tools.StorageTool format failed: ${cause(out) ?? last ?? (e as Error).message.split('\n')[0]}`,
    );
  }
}

function launch(
  java: string,
  classpath: string,
  log4j: string,
  config: string,
  logFile: string,
  heap: string,
): ChildProcess {
  const fd = openSync(logFile, 'a');
  const jvm = [
    `-Xmx${heap}`,
    '-Xms128m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4j}`,
    '-cp',
    classpath,
    'kafka.Kafka',
    config,
  ];
  // setpriv execs java in place (same pid) after asking the kernel to SIGKILL it when this process dies.
  const withDeathSignal = existsSync('/usr/bin/setpriv');
  const child = withDeathSignal
    ? spawn('/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', java, ...jvm], { stdio: ['ignore', fd, fd] })
    : spawn(java, jvm, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  return child;
}

/** Resolves 'ready' once the broker logged that it started and accepts TCP connections, else a one-line reason. */
async function ready(child: ChildProcess, port: number, logFile: string, timeoutMs: number): Promise<string> {
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exit code ${code ?? signal}`;
  });
  child.once('error', (e) => {
    exited = e.message;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) return `the broker stopped (${exited}): ${cause(readLog(logFile)) ?? 'see its log'}`;
    if (readLog(logFile).includes('Kafka Server started') && (await accepts(port))) return 'ready';
    await new Promise((r) => setTimeout(r, 100));
  }
  return `the broker did not accept connections on 127.0.0.1:${port} within ${timeoutMs / 1000} s: ${cause(readLog(logFile)) ?? 'no error in its log'}`;
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The first ERROR/FATAL/exception line of a JVM's output, shortened. */
function cause(out: string): string | undefined {
  const line = out
    .split('\n')
    .find((l) => / (ERROR|FATAL) |Exception|Error:/.test(l) && !l.startsWith('\tat '))
    ?.trim();
  return line === undefined ? undefined : line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}
