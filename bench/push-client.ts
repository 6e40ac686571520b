// The client side of `npm run bench:push`, in a process of its own as a real consumer would be,
// so the broker's event loop does only the broker's work. Prints one JSON line:
// {"records":N,"seconds":S,"cpuMicros":C,"resets":R}, the time from opening the stream (SSE) or
// from the first batch (Fetch) to the last record, and the process's CPU over that time.
//
//   node --import tsx bench/push-client.ts sse BASE_URL SUBSCRIPTION RECORDS ACK_EVERY
//   node --import tsx bench/push-client.ts fetch BOOTSTRAP TOPIC RECORDS
//
// sse: reads the subscription's events and, every ACK_EVERY records, posts one range
// acknowledgement; done when every record arrived and every acknowledgement was answered
// (durable). fetch: a kafkajs consumer reads TOPIC from the beginning (eachBatch, every record
// decoded into an object, as kafkajs does).

import { Kafka, logLevel } from 'kafkajs';

import { postJson, readEvents } from './sse-reader.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

interface Figures {
  records: number;
  seconds: number;
  cpuMicros: number;
  resets: number;
}

function cpuMicros(start: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(start);
  return user + system;
}

async function readSubscription(
  base: string,
  subscription: string,
  records: number,
  ackEvery: number,
): Promise<Figures> {
  const controller = new AbortController();
  let received = 0;
  let resets = 0;
  let firstUnacked = 0;
  const acks: Promise<unknown>[] = [];
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const startedMs = performance.now();
  const cpu = process.cpuUsage();
  const reading = readEvents(
    `${base}/v1/subscriptions/${subscription}/events`,
    controller.signal,
    (event) => {
      received += 1;
      if (received - firstUnacked >= ackEvery || received === records) {
        const body = JSON.stringify({ ack: [`0:${firstUnacked}-${event.offset}`] });
        const post = (): Promise<unknown> =>
          postJson(`${base}/v1/subscriptions/${subscription}/acks`, body);
        // A reset connection happens now and then here (not explained yet); an ack is safe to
        // send again: what was already settled is answered `settled`.
        acks.push(
          post().catch((error: unknown) => {
            resets += 1;
            console.error(`ack reset (${String(error)}); sending it again`);
            return post();
          }),
        );
        firstUnacked = event.offset + 1;
      }
      if (received === records) done();
    },
  );
  await finished;
  await Promise.all(acks);
  const figures = {
    records,
    seconds: (performance.now() - startedMs) / 1000,
    cpuMicros: cpuMicros(cpu),
    resets,
  };
  controller.abort();
  await reading;
  return figures;
}

async function fetchTopic(bootstrap: string, topic: string, records: number): Promise<Figures> {
  const kafka = new Kafka({ brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: 'bench-fetch', maxBytes: 64 * 1024 * 1024 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let fetched = 0;
  let startedMs = 0;
  let cpu = process.cpuUsage();
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      // From the first batch on: the group join before it is kafkajs's, not the fetch path's.
      if (startedMs === 0) {
        startedMs = performance.now();
        cpu = process.cpuUsage();
      }
      fetched += batch.messages.length;
      if (fetched >= records) done();
    },
  });
  await finished;
  const figures = {
    records,
    seconds: (performance.now() - startedMs) / 1000,
    cpuMicros: cpuMicros(cpu),
    resets: 0,
  };
  await consumer.disconnect();
  return figures;
}

const [mode, ...rest] = process.argv.slice(2);
const figures =
  mode === 'sse'
    ? await readSubscription(rest[0], rest[1], Number(rest[2]), Number(rest[3]))
    : mode === 'fetch'
      ? await fetchTopic(rest[0], rest[1], Number(rest[2]))
      : null;
if (figures === null) {
  console.error(
    'usage: push-client.ts sse BASE SUBSCRIPTION RECORDS ACK_EVERY | fetch BOOTSTRAP TOPIC RECORDS',
  );
  process.exit(64);
}
console.log(JSON.stringify(figures));
