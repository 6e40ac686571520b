// A @platformatic/kafka consumer-group member for groups-platformatic-kafka.test.ts: consumes from
// the earliest offset, commits every record after processing it. Assignors: roundrobin (eager)
// and cooperative-sticky. Output: member-output.ts.
import '../../helpers/client-platformatic-node20.js';
import { Consumer, MessagesStreamModes } from '@platformatic/kafka';
import { platformaticBaseOptions } from '../../helpers/client-platformatic.js';
import {
  emit,
  heartbeatIntervalMs,
  memberArguments,
  onTerminate,
  sessionTimeoutMs,
} from './member-output.js';

const { bootstrap, topic, group, assignor } = memberArguments();
if (assignor !== 'roundrobin' && assignor !== 'cooperative-sticky') {
  emit({ event: 'error', message: `@platformatic/kafka has no ${assignor} assignor` });
  process.exit(1);
}
const consumer = new Consumer({
  ...platformaticBaseOptions(bootstrap, 'brook-compat-platformatic-member'),
  groupId: group,
  sessionTimeout: sessionTimeoutMs,
  heartbeatInterval: heartbeatIntervalMs,
  rebalanceTimeout: 20_000,
  maxWaitTime: 100,
  autocommit: false,
  protocols: [{ name: assignor, version: 1 }],
});

// The client keeps its current assignment in a public property; print it whenever it changes.
let printed = '';
const watcher = setInterval(() => {
  const partitions = (consumer.assignments ?? [])
    .filter((assignment) => assignment.topic === topic)
    .flatMap((assignment) => assignment.partitions)
    .sort((a, b) => a - b);
  const key = JSON.stringify(partitions);
  if (consumer.assignments !== null && key !== printed) {
    printed = key;
    emit({ event: 'assignment', partitions });
  }
}, 20);
onTerminate(async () => {
  clearInterval(watcher);
  await consumer.close(true);
});

const stream = await consumer.consume({
  topics: [topic],
  mode: MessagesStreamModes.COMMITTED,
  fallbackMode: 'earliest',
});
stream.on('error', (error: Error) => emit({ event: 'error', message: String(error) }));
for await (const message of stream) {
  const offset = Number(message.offset);
  emit({ event: 'record', partition: message.partition, offset });
  await message.commit();
  emit({ event: 'committed', partition: message.partition, offset: offset + 1 });
}
