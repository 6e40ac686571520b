// A @platformatic/kafka consumer-group member for groups-platformatic-kafka.test.ts: consumes from
// the earliest offset, commits every record after processing it. Assignors: roundrobin (eager)
// and cooperative-sticky. Output: member-output.ts.
//
// A commit made while the group rebalances comes back REBALANCE_IN_PROGRESS (or ILLEGAL_GENERATION
// once the generation has moved on): Kafka's answer, retriable for an application that needs its
// commits. The member keeps such an offset and commits it again once the rebalance has completed
// (the client has installed a new assignment) and only if the partition is still its own; a
// partition it lost is left to its new owner, which resumes from the last acknowledged commit.
// Retrying before the new assignment is installed could commit an old offset over the new owner's.
//
// Nor does it commit between hearing of a rebalance and joining the new generation: a commit sent
// there may carry the old generation and come back ILLEGAL_GENERATION, which this client answers
// by dropping its whole assignment, so a cooperative member would look as if it had lost the
// partitions it keeps. Offsets consumed meanwhile are committed once it has joined.
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
// and the assignment the client held when that commit failed (null: not failed yet)
const uncommitted = new Map<
  number,
  { offset: number; leaderEpoch: number; failedUnder: unknown }
>();
let committing = false;
let rebalancing = false;
consumer.on('consumer:group:rebalance', () => {
  rebalancing = true;
});
consumer.on('consumer:group:join', () => {
  rebalancing = false;
  void commitUncommitted();
});

async function commitUncommitted(): Promise<void> {
  if (committing || rebalancing) return;
  committing = true;
  try {
    const owned = new Set(
      (consumer.assignments ?? [])
        .filter((assignment) => assignment.topic === topic)
        .flatMap((assignment) => assignment.partitions),
    );
    for (const [partition, entry] of [...uncommitted]) {
      const { offset, leaderEpoch, failedUnder } = entry;
      // The client replaces its assignments array at every completed rebalance.
      if (failedUnder !== null && consumer.assignments === failedUnder) continue;
      if (!owned.has(partition)) {
        uncommitted.delete(partition);
        continue;
      }
      try {
        await consumer.commit({
          offsets: [{ topic, partition, offset: BigInt(offset), leaderEpoch }],
        });
      } catch (error) {
        entry.failedUnder = consumer.assignments;
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
  uncommitted.set(message.partition, {
    offset: offset + 1,
    leaderEpoch: message.leaderEpoch,
    failedUnder: null,
  });
  await commitUncommitted();
}
