// Starts the Kafka test broker (test/kafka-server.ts) for a person: prints its bootstrap address and runs until
// Ctrl-C, then removes its temp directory. `scripts/kafka/start.sh` fetches the jars first and runs this.
import { startKafkaServer } from '../../test/kafka-server.ts';

const server = await startKafkaServer();
console.log(`kafka: broker ready in ${(server.startMs / 1000).toFixed(1)} s; log: ${server.logFile}`);
console.log(`export NAPKIN_KAFKA_BROKERS=${server.bootstrap}`);
console.log('kafka: Ctrl-C stops it and removes its data');
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await server.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => undefined, 1 << 30);
