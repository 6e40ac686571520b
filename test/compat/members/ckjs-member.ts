// A @confluentinc/kafka-javascript consumer-group member (its KafkaJS-compatible API) for
// groups-confluent-kafka-javascript.test.ts: subscribes from the beginning, commits every record
// after processing it. Assignors: roundrobin, range (eager) and cooperative-sticky, all librdkafka's.
// Output: member-output.ts.
//
// commitOffsets() of ckjs 1.10 is not an acknowledgement: it resolves once librdkafka has queued
// the commit (rd_kafka_commit with async=1; the broker's answer goes only to the offset_commit_cb
// that the KafkaJS API keeps to itself), so hundreds of commits may be in flight and a SIGKILL
// loses them. "committed" is therefore reported from the broker: a loop asks it (OffsetFetch,
// through committed()) for the partitions with commits not yet seen there.
//
// A queued commit can also fail without anyone hearing of it: one sent while the group completes
// a rebalance gets REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION, and librdkafka does not retry it.
// With cooperative-sticky the member keeps consuming its partitions through the rebalance, so when
// the lost commit was for a partition's last record nothing ever commits that offset again. As an
// application that needs its commits would, the member commits again an offset the broker has not
// shown for a while, on a partition it still owns.
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
  committed(
    partitions: { topic: string; partition: number }[],
    timeoutMs: number,
  ): Promise<{ topic: string; partition: number; offset: string }[]>;
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
// Per partition: the last offset this member asked to commit, and the last the broker showed.
const requested = new Map<number, number>();
const confirmed = new Map<number, number>();
/** Per partition, when its requested offset was last sent. */
const requestedAtMs = new Map<number, number>();
const recommitAfterMs = 3_000;
let stopped = false;

async function recommitUnconfirmed(): Promise<void> {
  const owned = new Set(
    consumer
      .assignment()
      .filter((assignment) => assignment.topic === topic)
      .map((assignment) => assignment.partition),
  );
  const now = Date.now();
  const stale = [...requested].filter(
    ([partition, offset]) =>
      owned.has(partition) &&
      (confirmed.get(partition) ?? -1) < offset &&
      now - (requestedAtMs.get(partition) ?? now) > recommitAfterMs,
  );
  if (stale.length === 0) return;
  for (const [partition] of stale) requestedAtMs.set(partition, now);
  await consumer.commitOffsets(
    stale.map(([partition, offset]) => ({ topic, partition, offset: String(offset) })),
  );
}

async function confirmCommits(): Promise<void> {
  while (!stopped) {
    try {
      await recommitUnconfirmed();
    } catch (error) {
      if (!stopped) emit({ event: 'error', message: `commitOffsets() again: ${String(error)}` });
    }
    const partitions = [...requested]
      .filter(([partition, offset]) => (confirmed.get(partition) ?? -1) < offset)
      .map(([partition]) => ({ topic, partition }));
    if (partitions.length > 0) {
      try {
        for (const answer of await consumer.committed(partitions, 5_000)) {
          const offset = Number(answer.offset);
          if (answer.topic !== topic || offset <= (confirmed.get(answer.partition) ?? -1)) continue;
          confirmed.set(answer.partition, offset);
          emit({ event: 'committed', partition: answer.partition, offset });
        }
      } catch (error) {
        if (!stopped) emit({ event: 'error', message: `committed(): ${String(error)}` });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

onTerminate(async () => {
  stopped = true;
  clearInterval(watcher);
  await consumer.disconnect();
});

await consumer.connect();
connected = true;
await consumer.subscribe({ topics: [topic] });
void confirmCommits();
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    const offset = Number(message.offset);
    emit({ event: 'record', partition, offset });
    await consumer.commitOffsets([{ topic, partition, offset: String(offset + 1) }]);
    requested.set(partition, offset + 1);
    requestedAtMs.set(partition, Date.now());
  },
});
