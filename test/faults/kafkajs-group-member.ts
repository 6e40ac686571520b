// One kafkajs consumer group member in a process of its own, for the group scenarios
// (recorded-clients.ts, startKafkajsGroupMember). It runs in a child process because kafkajs 2.2.4
// can spin without end on promise callbacks when a stop races a rebuild of its fetchers (its
// runner stops, fetchers made just after keep fetching nothing); a spin starves every timer of
// the process it is in, and the test's deadlines must keep running.
//
// Usage: node --import tsx kafkajs-group-member.ts BOOTSTRAP TOPIC GROUP MEMBER
// Writes a line per event to stdout: `join N ASSIGNMENT-JSON`, `read PARTITION OFFSET ID`,
// `crash RESTART MESSAGE`, `log LEVEL MESSAGE` (kafkajs's warnings and errors). Reads offsets
// from the start, read_committed, commits every 500 ms; leaves the group and exits when stdin
// closes.

import kafkajs from 'kafkajs';
import { kafka } from './kafkajs-settings.js';

const [bootstrapServers, topic, group, member] = process.argv.slice(2);
const say = (line: string): void => {
  process.stdout.write(`${line.replace(/\s*\n\s*/g, ' ')}\n`);
};

const consumer = kafka(bootstrapServers, `${group}-${member}`, 10_000, {
  level: kafkajs.logLevel.WARN,
  creator:
    () =>
    ({ level, log }) =>
      say(`log ${kafkajs.logLevel[level]} ${log.message}${log.error ? `: ${log.error}` : ''}`),
}).consumer({
  groupId: group,
  sessionTimeout: 10_000,
  heartbeatInterval: 1_000,
  rebalanceTimeout: 10_000,
});
let joins = 0;
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
  say(`join ${++joins} ${JSON.stringify(payload.memberAssignment)}`),
);
consumer.on(consumer.events.CRASH, ({ payload }) =>
  say(`crash ${payload.restart} ${String(payload.error)}`),
);

await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommitInterval: 500,
  eachMessage: async ({ partition, message: record }) =>
    say(`read ${partition} ${record.offset} ${record.value?.toString() ?? ''}`),
});
process.stdin.resume();
process.stdin.once('end', () => {
  void consumer.disconnect().then(() => process.exit(0));
});
