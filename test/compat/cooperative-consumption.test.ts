// Issue 4: "with cooperative-sticky the partitions that do not move keep being consumed during the
// rebalance", with python3-confluent-kafka (librdkafka) members, each a child process
// (test/compat/python/confluent_kafka_member.py, output as in test/compat/members/member-output.ts).
//
// One member owns all ten partitions while a producer in this process writes to every partition
// without pause. A newcomer joins; it is started with BROOK_MEMBER_HOLD_FILE, so librdkafka joins
// the group in its own threads but the application does not poll (its assign call waits) until
// the test releases it. That holds the incremental rebalance open deterministically, instead of
// hoping a fast rebalance leaves a window: the first round takes the newcomer's share away from
// the owner (the owner's assignment drops to five), the second round, which hands that share to
// the newcomer, cannot complete until the newcomer takes part. While it is open, the owner must
// go on receiving records produced after the rebalance began, on the partitions it keeps. Then the
// newcomer is released and the group settles 5/5 with nothing lost.
//
// The members do not commit (BROOK_MEMBER_COMMIT=none): librdkafka 2.0.2 defers an OffsetCommit
// while its member waits to rejoin, so the scenario's synchronous commit per record would stop the
// owner's application for the whole rebalance, though the broker serves its fetches all along;
// and an asynchronous commit in flight when the generation moves on comes back
// ILLEGAL_GENERATION, which librdkafka treats as a lost assignment (everything revoked). What is
// checked here is consumption, not commits (test/helpers/client-groups.ts covers those).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BrokerUnderTest } from '../helpers/client-broker.js';
import { groupPartitions } from '../helpers/client-groups.js';
import { kafkajsClient, kafkajsDriver } from '../helpers/client-kafkajs.js';
import {
  ChildClient,
  compatDirectory,
  requireClient,
  systemPython,
  withTimeout,
} from '../helpers/clients.js';
import { waitFor } from '../helpers/poll.js';

const rebalanceTimeoutMs = 60_000;
const consumeTimeoutMs = 60_000;

interface MemberEvent {
  event: string;
  partitions?: number[];
  partition?: number;
  offset?: number;
  message?: string;
}

function startMember(
  bootstrap: string,
  topic: string,
  group: string,
  holdFile?: string,
): ChildClient {
  return new ChildClient(
    systemPython,
    [
      join(compatDirectory, 'python', 'confluent_kafka_member.py'),
      bootstrap,
      topic,
      group,
      'cooperative-sticky',
    ],
    {
      ...process.env,
      BROOK_MEMBER_COMMIT: 'none',
      ...(holdFile === undefined ? {} : { BROOK_MEMBER_HOLD_FILE: holdFile }),
    },
  );
}

function events(member: ChildClient): MemberEvent[] {
  return member.events as unknown as MemberEvent[];
}

function assignments(member: ChildClient): number[][] {
  return events(member)
    .filter((event) => event.event === 'assignment')
    .map((event) => event.partitions ?? []);
}

function assignment(member: ChildClient): number[] {
  return assignments(member).at(-1) ?? [];
}

function records(member: ChildClient): { partition: number; offset: number }[] {
  return events(member)
    .filter((event) => event.event === 'record')
    .map((event) => ({ partition: event.partition!, offset: event.offset! }));
}

function describe(name: string, member: ChildClient): string {
  const errors = events(member)
    .filter((event) => event.event === 'error')
    .map((event) => event.message);
  return (
    `${name}: assignments ${JSON.stringify(assignments(member))}, ${records(member).length} records, ` +
    `last events ${JSON.stringify(events(member).slice(-4))}, exited ${member.exited}, errors ${JSON.stringify(errors.slice(-3))}, stderr ${member.stderr.slice(-1500)}`
  );
}

test(
  'confluent-kafka-python with cooperative-sticky: the owner keeps consuming new records on the partitions it keeps while a newcomer is still joining',
  { timeout: 300_000 },
  async (t) => {
    if (!requireClient(t, 'confluent-kafka-python')) return;
    const broker = await BrokerUnderTest.start(t);
    const bootstrap = broker.bootstrapServers;
    const suffix = `${process.pid}-${Date.now().toString(36)}`;
    const topic = `cooperative-${suffix}`;
    const group = `cooperative-group-${suffix}`;
    const holdDirectory = mkdtempSync(join(tmpdir(), 'brook-cooperative-'));
    const holdFile = join(holdDirectory, 'release');
    const members: ChildClient[] = [];
    t.after(() => {
      for (const member of members) member.kill();
      rmSync(holdDirectory, { recursive: true, force: true });
    });
    await kafkajsDriver().createTopic(bootstrap, topic, groupPartitions, {});

    // A producer that writes one record to every partition, round after round, until stopped.
    const producer = kafkajsClient(bootstrap, 'brook-compat-cooperative-producer').producer({
      allowAutoTopicCreation: false,
    });
    await withTimeout(producer.connect(), 30_000, 'producer.connect');
    let producing = true;
    let producerError: unknown;
    const producerLoop = (async () => {
      let round = 0;
      while (producing) {
        const messages = [];
        for (let partition = 0; partition < groupPartitions; partition++)
          messages.push({ partition, value: `round ${round} partition ${partition}` });
        await withTimeout(producer.send({ topic, acks: -1, messages }), 30_000, 'producer.send');
        round++;
        // Pacing, not waiting for anything: keeps the log growing without flooding the members.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })().catch((error: unknown) => {
      producerError = error;
    });
    t.after(async () => {
      producing = false;
      await producerLoop;
      await producer.disconnect().catch(() => undefined);
    });

    const admin = kafkajsClient(bootstrap, 'brook-compat-cooperative-admin').admin();
    await withTimeout(admin.connect(), 30_000, 'admin.connect');
    t.after(() => admin.disconnect().catch(() => undefined));
    const highWatermarks = async () => {
      const offsets = await withTimeout(
        admin.fetchTopicOffsets(topic),
        30_000,
        'fetchTopicOffsets',
      );
      const marks = new Array<number>(groupPartitions).fill(0);
      for (const entry of offsets) marks[entry.partition] = Number(entry.high);
      return marks;
    };
    const groupState = async () =>
      (await withTimeout(admin.describeGroups([group]), 30_000, 'describeGroups')).groups[0]!.state;

    // 1. One member owns all ten partitions and is consuming.
    const owner = startMember(bootstrap, topic, group);
    members.push(owner);
    await waitFor(
      () => assignment(owner).length === groupPartitions,
      `the first member to own all ${groupPartitions} partitions\n${describe('owner', owner)}`,
      { timeoutMs: rebalanceTimeoutMs },
    );
    await waitFor(
      () => records(owner).length > 0,
      `the first member to consume\n${describe('owner', owner)}`,
      { timeoutMs: consumeTimeoutMs },
    );
    assert.equal(await groupState(), 'Stable');
    const ownerAssignmentsBefore = assignments(owner).length;

    // 2. A newcomer joins and is held before its assign call.
    const newcomer = startMember(bootstrap, topic, group, holdFile);
    members.push(newcomer);
    const state = () => `${describe('owner', owner)}\n${describe('newcomer', newcomer)}`;
    await waitFor(
      () => assignment(owner).length === groupPartitions / 2,
      `the first round to take the newcomer's share from the owner (10 → 5)\n${state()}`,
      { timeoutMs: rebalanceTimeoutMs },
    );
    const kept = assignment(owner);
    // The rebalance has begun (it has already revoked partitions) and is not over: the owner
    // rejoins for the second round, which waits for the newcomer.
    const during = await waitFor(
      async () => {
        const current = await groupState();
        return current === 'PreparingRebalance' || current === 'CompletingRebalance'
          ? current
          : undefined;
      },
      `the coordinator to report the second round of the rebalance\n${state()}`,
      { timeoutMs: rebalanceTimeoutMs },
    );
    assert.ok(!existsSync(holdFile));
    // Every record at or past these offsets was appended after the rebalance began.
    const boundary = await highWatermarks();
    const ownerRecordsAtBoundary = records(owner).length;

    // 3. While the rebalance is open, the owner receives new records on every partition it keeps.
    const newOnKept = () => {
      const seen = new Set<number>();
      for (const record of records(owner).slice(ownerRecordsAtBoundary)) {
        if (kept.includes(record.partition) && record.offset >= boundary[record.partition]!)
          seen.add(record.partition);
      }
      return seen;
    };
    await waitFor(
      () => {
        if (producerError !== undefined) throw producerError as Error;
        return newOnKept().size === kept.length;
      },
      `the owner to consume records produced after the rebalance began on each kept partition ` +
        `${JSON.stringify(kept)} (boundary ${JSON.stringify(boundary)}, state ${during})\n${state()}`,
      { timeoutMs: consumeTimeoutMs },
    );
    // ...and all that happened before the rebalance completed: the coordinator still reports it
    // (it cannot finish without the held newcomer), the newcomer has nothing (it prints its
    // assignment only once it polls), and the owner had no assignment callback since the first
    // round.
    const stillDuring = await groupState();
    assert.ok(
      stillDuring === 'PreparingRebalance' || stillDuring === 'CompletingRebalance',
      `the rebalance was still in progress after the owner consumed the new records: ${stillDuring}\n${state()}`,
    );
    assert.deepEqual(
      assignments(newcomer).filter((partitions) => partitions.length > 0),
      [],
      `the newcomer had no partitions yet\n${state()}`,
    );
    assert.deepEqual(
      assignments(owner).slice(ownerAssignmentsBefore),
      [kept],
      `the owner's only change so far was giving up the newcomer's share\n${state()}`,
    );
    const consumedDuring = records(owner)
      .slice(ownerRecordsAtBoundary)
      .filter((record) => kept.includes(record.partition)).length;
    t.diagnostic(
      `kept ${JSON.stringify(kept)}; ${consumedDuring} records consumed on them during the rebalance (state ${stillDuring})`,
    );

    // 4. Release the newcomer: it takes its five, the owner keeps its five, the group is Stable.
    writeFileSync(holdFile, '');
    await waitFor(
      () =>
        assignment(newcomer).length === groupPartitions / 2 &&
        JSON.stringify([...assignment(newcomer), ...kept].sort((a, b) => a - b)) ===
          JSON.stringify(Array.from({ length: groupPartitions }, (_, partition) => partition)),
      `the newcomer to take the other five partitions\n${state()}`,
      { timeoutMs: rebalanceTimeoutMs },
    );
    assert.deepEqual(assignment(owner), kept, 'the owner kept its five throughout');
    for (const snapshot of assignments(owner).slice(ownerAssignmentsBefore))
      assert.ok(
        kept.every((partition) => snapshot.includes(partition)),
        `a kept partition was revoked: ${JSON.stringify(assignments(owner))}`,
      );
    await waitFor(async () => (await groupState()) === 'Stable', 'the group to be Stable', {
      timeoutMs: rebalanceTimeoutMs,
    });

    // 5. Stop producing; every record in the log is consumed by some member, none lost.
    producing = false;
    await producerLoop;
    if (producerError !== undefined) throw producerError as Error;
    const end = await highWatermarks();
    const consumedEnd = () => {
      const next = new Array<number>(groupPartitions).fill(0);
      for (const record of [...records(owner), ...records(newcomer)])
        next[record.partition] = Math.max(next[record.partition]!, record.offset + 1);
      return next;
    };
    await waitFor(
      () => consumedEnd().every((offset, partition) => offset === end[partition]),
      `every record to be consumed (log ends ${JSON.stringify(end)})\n${state()}`,
      { timeoutMs: consumeTimeoutMs },
    );
    for (let partition = 0; partition < groupPartitions; partition++) {
      const seen = new Set(
        [...records(owner), ...records(newcomer)]
          .filter((record) => record.partition === partition)
          .map((record) => record.offset),
      );
      for (let offset = 0; offset < end[partition]!; offset++)
        assert.ok(seen.has(offset), `partition ${partition}: offset ${offset} was never consumed`);
    }
    await Promise.all([owner.stop(), newcomer.stop()]);
  },
);
