// The kafkajs client every fault scenario uses, in the test process (producers, admin) and in the
// group member's child process (kafkajs-group-member.ts): one set of timeouts and retries.

import kafkajs, { type logCreator } from 'kafkajs';

const { Kafka, logLevel } = kafkajs;

export function kafka(
  bootstrapServers: string,
  clientId: string,
  requestTimeoutMs = 10_000,
  log?: { level: kafkajs.logLevel; creator: logCreator },
): InstanceType<typeof Kafka> {
  return new Kafka({
    clientId,
    brokers: bootstrapServers.split(','),
    logLevel: log?.level ?? logLevel.NOTHING,
    logCreator: log?.creator,
    connectionTimeout: 3_000,
    requestTimeout: requestTimeoutMs,
    // Enough to ride out a broker restart (a few seconds) before a send is given up.
    retry: { retries: 30, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
}
