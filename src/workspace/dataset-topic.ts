import { resolveBrokers } from '../connectors/kafka/client.ts';
import type { KafkaLogConfig } from '../flow/kafka-storage.ts';
import { KafkaLog, kafkaTopicOf, logPrefix } from './kafka-log.ts';
import { topicDir } from './topic.ts';
import { Topic } from './topic-log.ts';

/**
 * A dataset's topic: in the state folder, or on Kafka for a project whose log is there (`kafkaLog`), where its state
 * cache stays in the state folder.
 */
export async function openDatasetTopic(
  stateDir: string,
  dataset: string,
  project: string,
  log: KafkaLogConfig | undefined,
): Promise<Topic> {
  const dir = topicDir(stateDir, dataset);
  if (log === undefined) return Topic.open(dir, dataset);
  const kafkaTopic = kafkaTopicOf(logPrefix(log, project), dataset);
  return Topic.on(await KafkaLog.open(resolveBrokers(log.brokers), kafkaTopic, dir), dataset);
}
