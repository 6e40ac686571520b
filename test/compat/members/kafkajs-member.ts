// A kafkajs 2.2.4 consumer-group member for groups-kafkajs.test.ts: subscribes from the beginning,
// commits every record synchronously after processing it. kafkajs ships only the roundrobin
// assignor (eager). Output: member-output.ts.
//
// A commit made while the group rebalances fails with REBALANCE_IN_PROGRESS (or ILLEGAL_GENERATION,
// UNKNOWN_MEMBER_ID). The member lets that error leave eachMessage: kafkajs treats these codes as a
// rebalance, rejoins, and hands the record (whose offset it never resolved) to whichever member
// owns the partition then, which processes and commits it again. No retry of its own is needed.
import { kafkajsClient } from '../../helpers/client-kafkajs.js';
import {
  emit,
  heartbeatIntervalMs,
  memberArguments,
  onTerminate,
  sessionTimeoutMs,
} from './member-output.js';

const { bootstrap, topic, group, assignor } = memberArguments();
if (assignor !== 'roundrobin') {
  emit({ event: 'error', message: `kafkajs has no ${assignor} assignor` });
  process.exit(1);
}
const consumer = kafkajsClient(bootstrap, 'brook-compat-kafkajs-member').consumer({
  groupId: group,
  sessionTimeout: sessionTimeoutMs,
  heartbeatInterval: heartbeatIntervalMs,
  rebalanceTimeout: 20_000,
  maxWaitTimeInMs: 100,
});
consumer.on(consumer.events.GROUP_JOIN, (event) => {
  const assignment = (event.payload.memberAssignment as Record<string, number[]>)[topic] ?? [];
  emit({ event: 'assignment', partitions: [...assignment].sort((a, b) => a - b) });
});
consumer.on(consumer.events.CRASH, (event) => {
  emit({ event: 'error', message: String(event.payload.error) });
});
onTerminate(() => consumer.disconnect());

await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  autoCommit: false,
  eachMessage: async ({ partition, message }) => {
    const offset = Number(message.offset);
    emit({ event: 'record', partition, offset });
    await consumer.commitOffsets([{ topic, partition, offset: String(offset + 1) }]);
    emit({ event: 'committed', partition, offset: offset + 1 });
  },
});
