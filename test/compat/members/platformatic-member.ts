// A @platformatic/kafka consumer-group member for groups-platformatic-kafka.test.ts: consumes from
// the earliest offset, commits every record after processing it. Assignors: roundrobin (eager)
// and cooperative-sticky. Output: member-output.ts.
//
// A commit made while the group rebalances comes back REBALANCE_IN_PROGRESS (or ILLEGAL_GENERATION
// once the generation has moved on): Kafka's answer, retriable for an application that needs its
// commits. The member keeps such an offset and commits it again while it still owns the partition;
// a partition it no longer owns is left to its new owner, which resumes from the last acknowledged
// commit.
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

// partition → the next offset whose commit the broker has not acknowledged, with its leader epoch
const uncommitted = new Map<number, { offset: number; leaderEpoch: number }>();
let committing = false;

async function commitUncommitted(): Promise<void> {
  if (committing) return;
  committing = true;
  try {
    const owned = new Set(
      (consumer.assignments ?? [])
        .filter((assignment) => assignment.topic === topic)
        .flatMap((assignment) => assignment.partitions),
    );
    for (const [partition, { offset, leaderEpoch }] of [...uncommitted]) {
      if (!owned.has(partition)) {
        uncommitted.delete(partition);
        continue;
      }
      try {
        await consumer.commit({
          offsets: [{ topic, partition, offset: BigInt(offset), leaderEpoch }],
        });
      } catch (error) {
        emit({ event: 'commit-retry', partition, offset, message: String(error) });
        continue;
      }
      // A later record may have replaced the entry while the commit was in flight.
      if (uncommitted.get(partition)?.offset === offset) uncommitted.delete(partition);
      emit({ event: 'committed', partition, offset });
    }
  } finally {
    committing = false;
  }
}

const retrier = setInterval(() => {
  if (uncommitted.size > 0) void commitUncommitted();
}, 200);
retrier.unref();

for await (const message of stream) {
  const offset = Number(message.offset);
  emit({ event: 'record', partition: message.partition, offset });
  uncommitted.set(message.partition, { offset: offset + 1, leaderEpoch: message.leaderEpoch });
  await commitUncommitted();
}
