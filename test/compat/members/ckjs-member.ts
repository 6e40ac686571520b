// A @confluentinc/kafka-javascript consumer-group member (its KafkaJS-compatible API) for
// groups-confluent-kafka-javascript.test.ts: subscribes from the beginning, commits every record
// after processing it. Assignors: roundrobin, range (eager) and cooperative-sticky, all librdkafka's.
// Output: member-output.ts.
import { ckjsKafka } from '../../helpers/client-ckjs.js';
import {
  emit,
  heartbeatIntervalMs,
  memberArguments,
  onTerminate,
  sessionTimeoutMs,
} from './member-output.js';

interface CkjsConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: { topics: string[] }): Promise<void>;
  run(config: {
    eachMessage(payload: {
      topic: string;
      partition: number;
      message: { offset: string };
    }): Promise<void>;
  }): Promise<void>;
  commitOffsets(offsets: { topic: string; partition: number; offset: string }[]): Promise<void>;
  assignment(): { topic: string; partition: number }[];
}

const { bootstrap, topic, group, assignor } = memberArguments();
const consumer = ckjsKafka(bootstrap, 'brook-compat-ckjs-member').consumer({
  kafkaJS: {
    groupId: group,
    fromBeginning: true,
    autoCommit: false,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: heartbeatIntervalMs,
    rebalanceTimeout: 20_000,
    partitionAssigners: [assignor],
  },
  'fetch.wait.max.ms': 100,
}) as CkjsConsumer;

let printed = '';
let connected = false;
const watcher = setInterval(() => {
  if (!connected) return;
  const partitions = consumer
    .assignment()
    .filter((assignment) => assignment.topic === topic)
    .map((assignment) => assignment.partition)
    .sort((a, b) => a - b);
  const key = JSON.stringify(partitions);
  if (key !== printed) {
    printed = key;
    emit({ event: 'assignment', partitions });
  }
}, 20);
onTerminate(async () => {
  clearInterval(watcher);
  await consumer.disconnect();
});

await consumer.connect();
connected = true;
await consumer.subscribe({ topics: [topic] });
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    const offset = Number(message.offset);
    emit({ event: 'record', partition, offset });
    await consumer.commitOffsets([{ topic, partition, offset: String(offset + 1) }]);
    emit({ event: 'committed', partition, offset: offset + 1 });
  },
});
