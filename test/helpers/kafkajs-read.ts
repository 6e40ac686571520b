// Reading a topic back with a kafkajs consumer group: every record's value by its key, once as
// many keys as expected have come. The consumer leaves before this returns, so the broker can stop
// right after without the consumer retrying its leave against nothing.

import type { ConsumerConfig, Kafka } from 'kafkajs';
import { waitFor } from './poll.js';

export async function readBackByKey(
  kafka: Kafka,
  topic: string,
  keys: number,
  consumer: ConsumerConfig,
): Promise<Map<string, string>> {
  const reader = kafka.consumer(consumer);
  await reader.connect();
  await reader.subscribe({ topic, fromBeginning: true });
  const received = new Map<string, string>();
  await reader.run({
    eachMessage: async ({ message }) => {
      received.set(message.key!.toString(), message.value!.toString());
    },
  });
  try {
    await waitFor(() => received.size === keys, `${keys} keys read back from ${topic}`, {
      timeoutMs: 60_000,
    });
  } finally {
    await reader.disconnect();
  }
  return received;
}
