// The issue-4 consumer-group scenario, written once and run with each real client's member program
// (test/compat/members/*, test/compat/python/*_member.py), every member a child process:
//
//   1. two members on a 10-partition topic split it evenly and consume what is there, committing
//      every record;
//   2. one is SIGKILLed while it consumes: the other owns all ten within the session timeout and
//      continues each moved partition from the committed offset, and no record is lost;
//   3. a third member joins and takes its share (evenly again); with cooperative-sticky the
//      partitions that stay are never revoked from their owner;
//   4. ListGroups and DescribeGroups (through the client's admin API) show the group, Stable, its
//      protocol and each member's real assignment;
//   5. after the members leave, every commit is there, and still there after a broker restart.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { advertisedVersions, apiKeys, BrokerUnderTest } from './client-broker.js';
import { kafkajsClient, kafkajsDriver } from './client-kafkajs.js';
import { ChildClient, withTimeout } from './clients.js';
import { waitFor } from './poll.js';

export const groupPartitions = 10;
const rebalanceTimeoutMs = 60_000;
const consumeTimeoutMs = 60_000;

export interface GroupView {
  listed: string[];
  state: string;
  protocolType: string;
  protocol: string;
  /** Each member's partitions of the topic, sorted; the members in any order. */
  members: number[][];
}

export interface GroupClient {
  name: string;
  /** Command and arguments that start one member. */
  member(
    bootstrap: string,
    topic: string,
    group: string,
    assignor: string,
  ): { command: string; args: string[] };
  eagerAssignor: string;
  /** The protocol name the assignor joins with, when it is not the assignor's name. */
  protocolNames?: Record<string, string>;
  /** undefined when the client has no cooperative rebalancing. */
  cooperativeAssignor?: string;
  /** ListGroups + DescribeGroups through this client's admin API. */
  describeGroup(bootstrap: string, topic: string, group: string): Promise<GroupView>;
}

interface MemberEvent {
  event: string;
  partitions?: number[];
  partition?: number;
  offset?: number;
  message?: string;
}

class Member {
  readonly child: ChildClient;
  constructor(
    readonly name: string,
    client: GroupClient,
    bootstrap: string,
    topic: string,
    group: string,
    assignor: string,
  ) {
    const { command, args } = client.member(bootstrap, topic, group, assignor);
    this.child = new ChildClient(command, args);
  }

  get events(): MemberEvent[] {
    return this.child.events as unknown as MemberEvent[];
  }

  assignments(): number[][] {
    return this.events
      .filter((event) => event.event === 'assignment')
      .map((event) => event.partitions ?? []);
  }

  assignment(): number[] {
    return this.assignments().at(-1) ?? [];
  }

  records(): { partition: number; offset: number }[] {
    return this.events
      .filter((event) => event.event === 'record')
      .map((event) => ({ partition: event.partition!, offset: event.offset! }));
  }

  commits(): { partition: number; offset: number }[] {
    return this.events
      .filter((event) => event.event === 'committed')
      .map((event) => ({ partition: event.partition!, offset: event.offset! }));
  }

  describe(): string {
    const errors = this.events
      .filter((event) => event.event === 'error')
      .map((event) => event.message);
    return (
      `${this.name}: assignment ${JSON.stringify(this.assignment())}, ${this.records().length} records, ` +
      `last record per partition ${JSON.stringify(lastPerPartition(this.records()))}, ` +
      `last commit seen per partition ${JSON.stringify(lastPerPartition(this.commits()))}, ` +
      `exited ${this.child.exited}, errors ${JSON.stringify(errors.slice(-3))}, stderr ${this.child.stderr.slice(-1500)}`
    );
  }
}

/** partition → the offset of the last entry for it (-1 when none), for failure messages. */
function lastPerPartition(entries: { partition: number; offset: number }[]): number[] {
  const last = new Array<number>(groupPartitions).fill(-1);
  for (const entry of entries) last[entry.partition] = entry.offset;
  return last;
}

/** Numbered records, `count` per partition, through kafkajs (the consumers are under test, not it). */
async function produceNumbered(
  bootstrap: string,
  topic: string,
  count: number,
  phase: string,
): Promise<void> {
  const producer = kafkajsClient(bootstrap, 'brook-compat-group-producer').producer({
    allowAutoTopicCreation: false,
  });
  await withTimeout(producer.connect(), 30_000, 'producer.connect');
  try {
    const messages = [];
    for (let partition = 0; partition < groupPartitions; partition++) {
      for (let index = 0; index < count; index++) {
        messages.push({ partition, value: `${phase} ${partition}/${index}` });
      }
    }
    await withTimeout(producer.send({ topic, acks: -1, messages }), 30_000, 'producer.send');
  } finally {
    await producer.disconnect();
  }
}

async function committedOffsets(
  bootstrap: string,
  topic: string,
  group: string,
): Promise<number[]> {
  const admin = kafkajsClient(bootstrap, 'brook-compat-group-admin').admin();
  await withTimeout(admin.connect(), 30_000, 'admin.connect');
  try {
    const [result] = await withTimeout(
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
      30_000,
      'fetchOffsets',
    );
    const offsets = new Array<number>(groupPartitions).fill(-1);
    for (const partition of result!.partitions)
      offsets[partition.partition] = Number(partition.offset);
    return offsets;
  } finally {
    await admin.disconnect();
  }
}

function allPartitions(): number[] {
  return Array.from({ length: groupPartitions }, (_, partition) => partition);
}

/** Disjoint, covering every partition, and as even as the count allows. */
function splitEvenly(assignments: number[][]): boolean {
  const all = assignments.flat().sort((a, b) => a - b);
  const sizes = assignments.map((assignment) => assignment.length);
  return (
    JSON.stringify(all) === JSON.stringify(allPartitions()) &&
    Math.max(...sizes) - Math.min(...sizes) <= 1 &&
    Math.min(...sizes) > 0
  );
}

/** The highest commit any member reported, per partition (0 when none). */
function highestCommits(members: Member[]): number[] {
  const highest = new Array<number>(groupPartitions).fill(0);
  for (const member of members) {
    for (const commit of member.commits())
      highest[commit.partition] = Math.max(highest[commit.partition]!, commit.offset);
  }
  return highest;
}

export function decodeConsumerAssignment(bytes: Buffer, topic: string): number[] {
  // ConsumerProtocolAssignment: version int16, [topic string, [partition int32]], user data bytes.
  if (bytes.length === 0) return [];
  let position = 2;
  const partitions: number[] = [];
  const topicCount = bytes.readInt32BE(position);
  position += 4;
  for (let index = 0; index < topicCount; index++) {
    const nameLength = bytes.readInt16BE(position);
    position += 2;
    const name = bytes.toString('utf8', position, position + nameLength);
    position += nameLength;
    const partitionCount = bytes.readInt32BE(position);
    position += 4;
    for (let each = 0; each < partitionCount; each++) {
      if (name === topic) partitions.push(bytes.readInt32BE(position));
      position += 4;
    }
  }
  return partitions.sort((a, b) => a - b);
}

/** The group APIs must be advertised: a broker that stopped advertising them fails, never skips. */
async function assertBrokerServesGroups(broker: BrokerUnderTest): Promise<void> {
  const versions = await advertisedVersions(broker.bootstrapServers);
  const missing = Object.entries(apiKeys).filter(([, key]) => versions[key] === undefined);
  assert.deepEqual(
    missing.map(([name]) => name),
    [],
    'the broker advertises every group API',
  );
}

export async function runGroupScenario(
  t: TestContext,
  client: GroupClient,
  cooperative: boolean,
): Promise<void> {
  const broker = await BrokerUnderTest.start(t);
  await assertBrokerServesGroups(broker);
  const bootstrap = broker.bootstrapServers;
  const assignor = cooperative ? client.cooperativeAssignor! : client.eagerAssignor;
  const suffix = `${client.name}-${assignor}-${process.pid}-${Date.now().toString(36)}`;
  const topic = `groups-${suffix}`;
  const group = `group-${suffix}`;
  const members: Member[] = [];
  t.after(() => {
    for (const member of members) member.child.kill();
  });
  const start = (name: string) => {
    const member = new Member(name, client, bootstrap, topic, group, assignor);
    members.push(member);
    return member;
  };
  const state = () => members.map((member) => member.describe()).join('\n');

  await kafkajsDriver().createTopic(bootstrap, topic, groupPartitions, {});
  await produceNumbered(bootstrap, topic, 10, 'first');
  let produced = 10;

  // 1. Two members split the ten partitions evenly and consume everything there.
  const first = start('first');
  const second = start('second');
  await waitFor(
    () => splitEvenly([first.assignment(), second.assignment()]) && first.assignment().length === 5,
    () => `two members to split ${groupPartitions} partitions 5/5\n${state()}`,
    { timeoutMs: rebalanceTimeoutMs },
  );
  await waitFor(
    () => highestCommits(members).every((offset) => offset === produced),
    () => `every record of the first batch to be committed\n${state()}`,
    { timeoutMs: consumeTimeoutMs },
  );

  // 2. SIGKILL the second member while it has records to go; the first takes over all ten.
  const secondPartitions = second.assignment();
  const secondRecordsBefore = second.records().length;
  // Enough that the member is killed with records of its own still to go (it commits each one).
  await produceNumbered(bootstrap, topic, 1000, 'second');
  produced += 1000;
  await waitFor(
    () => second.records().length > secondRecordsBefore,
    () => `the second member to consume from the second batch\n${state()}`,
    { timeoutMs: consumeTimeoutMs },
  );
  const survivorRecordsAtKill = first.records().length;
  const survivorCommitsAtKill = first.commits().length;
  second.child.kill('SIGKILL');
  // What it wrote before dying may still sit in the pipe: read all of it before judging.
  await withTimeout(second.child.closed(), 10_000, 'the killed member to close');
  const killedRecords = second.records();
  const killedCommits = second.commits();
  await waitFor(
    () => first.assignment().length === groupPartitions,
    () =>
      `the survivor to own all ${groupPartitions} partitions after the session timeout\n${state()}`,
    { timeoutMs: rebalanceTimeoutMs },
  );
  await waitFor(
    () => highestCommits(members).every((offset) => offset === produced),
    () => `every record of the second batch to be committed\n${state()}`,
    { timeoutMs: consumeTimeoutMs },
  );
  // Before the kill, a moved partition may have been read by either member (the first one owned
  // all ten until the second joined), so both members' history up to the kill counts.
  const recordsBeforeKill = [...first.records().slice(0, survivorRecordsAtKill), ...killedRecords];
  const commitsBeforeKill = [...first.commits().slice(0, survivorCommitsAtKill), ...killedCommits];
  for (const partition of secondPartitions) {
    const committed = Math.max(
      0,
      ...commitsBeforeKill.filter((commit) => commit.partition === partition).map((c) => c.offset),
    );
    const consumed = Math.max(
      -1,
      ...recordsBeforeKill.filter((record) => record.partition === partition).map((r) => r.offset),
    );
    const resumedOffsets = first
      .records()
      .slice(survivorRecordsAtKill)
      .filter((record) => record.partition === partition)
      .map((record) => record.offset);
    if (resumedOffsets.length === 0) {
      // Nothing left to take over: the partition had been processed to its end before the kill.
      assert.equal(
        consumed + 1,
        produced,
        `partition ${partition}: the survivor read nothing of it after the kill`,
      );
      continue;
    }
    const resumedAt = Math.min(...resumedOffsets);
    // The survivor starts at the last commit the broker acknowledged: not before the last one a
    // member saw acknowledged, not after the last record a member had taken.
    assert.ok(
      resumedAt >= committed && resumedAt <= consumed + 1,
      `partition ${partition}: resumed at ${resumedAt}, last acknowledged commit before the kill ${committed}, ` +
        `last record taken ${consumed}; killed member's last offsets there ${JSON.stringify(
          killedRecords
            .filter((record) => record.partition === partition)
            .map((record) => record.offset)
            .slice(-3),
        )}, survivor's offsets there before the kill ${JSON.stringify(
          first
            .records()
            .slice(0, survivorRecordsAtKill)
            .filter((record) => record.partition === partition)
            .map((record) => record.offset)
            .slice(-3),
        )} and after ${JSON.stringify(resumedOffsets.slice(0, 3))}, survivor's assignments ${JSON.stringify(first.assignments())}, killed member's ${JSON.stringify(
          second.assignments(),
        )}`,
    );
  }

  // 3. A third member joins and takes its share.
  const survivorAssignmentsBefore = first.assignments().length;
  const third = start('third');
  await waitFor(
    () => splitEvenly([first.assignment(), third.assignment()]) && third.assignment().length === 5,
    () => `the third member to take its share, 5/5\n${state()}`,
    { timeoutMs: rebalanceTimeoutMs },
  );
  await produceNumbered(bootstrap, topic, 10, 'third');
  produced += 10;
  await waitFor(
    () => highestCommits(members).every((offset) => offset === produced),
    () => `every record of the third batch to be committed\n${state()}`,
    { timeoutMs: consumeTimeoutMs },
  );
  t.diagnostic(`survivor's assignments: ${JSON.stringify(first.assignments())}`);
  t.diagnostic(`newcomer's assignments: ${JSON.stringify(third.assignments())}`);
  if (cooperative) {
    // Incremental rebalancing: the partitions the survivor keeps were never taken from it.
    const kept = first.assignment();
    for (const snapshot of first.assignments().slice(survivorAssignmentsBefore)) {
      assert.ok(
        kept.every((partition) => snapshot.includes(partition)),
        `cooperative-sticky revoked a kept partition: ${JSON.stringify(snapshot)} lacks part of ${JSON.stringify(kept)}`,
      );
    }
  }

  // No record lost: every offset of every partition was processed by some member.
  for (let partition = 0; partition < groupPartitions; partition++) {
    const seen = new Set(
      members
        .flatMap((member) => member.records())
        .filter((r) => r.partition === partition)
        .map((r) => r.offset),
    );
    for (let offset = 0; offset < produced; offset++) {
      assert.ok(seen.has(offset), `partition ${partition}: offset ${offset} was never consumed`);
    }
  }

  // 4. ListGroups and DescribeGroups show the truth.
  const view = await waitFor(
    async () => {
      const described = await client.describeGroup(bootstrap, topic, group);
      return described.state.toLowerCase() === 'stable' && described.members.length === 2
        ? described
        : undefined;
    },
    `DescribeGroups to show ${group} Stable with two members`,
    { timeoutMs: rebalanceTimeoutMs },
  );
  assert.ok(
    view.listed.includes(group),
    `ListGroups lists ${group}: ${JSON.stringify(view.listed)}`,
  );
  assert.equal(view.protocolType, 'consumer');
  assert.equal(view.protocol, client.protocolNames?.[assignor] ?? assignor);
  assert.deepEqual(
    view.members.map((partitions) => JSON.stringify(partitions)).sort(),
    [first.assignment(), third.assignment()].map((partitions) => JSON.stringify(partitions)).sort(),
    'DescribeGroups shows each member with its assignment',
  );

  // 5. Members leave cleanly; every commit survives them and a broker restart.
  await Promise.all([first.child.stop(), third.child.stop()]);
  assert.deepEqual(
    await committedOffsets(bootstrap, topic, group),
    allPartitions().map(() => produced),
  );
  await broker.restart();
  assert.deepEqual(
    await committedOffsets(broker.bootstrapServers, topic, group),
    allPartitions().map(() => produced),
    'committed offsets after a broker restart',
  );
}
