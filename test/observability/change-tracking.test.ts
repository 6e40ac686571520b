// Change tracking (issue 13: a scrape costs what changed): the broker's registry, reading only the
// partitions and groups whose change marks registered, must render byte for byte what prom-client
// renders from a full walk of the same state, whatever moved between two scrapes; and it must
// really read only what moved, and ask nothing of the items that did not.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Registry } from 'prom-client';

import { ChangeMark } from '../../src/util/change-set.js';
import {
  BrokerMetrics,
  type GroupSnapshot,
  type MetricsSources,
  type PartitionSnapshot,
} from '../../src/observability/metrics.js';
import { singleBrokerReplication } from '../../src/observability/replication-metrics.js';

interface ModelPartition {
  topic: string;
  partition: number;
  logStartOffset: number;
  logEndOffset: number;
  sizeBytes: number;
  segments: number;
  changes: ChangeMark;
}

interface ModelGroup {
  group: string;
  state: string;
  members: number;
  /** topic NUL partition ─► committed offset */
  committed: Map<string, number>;
  changes: ChangeMark;
}

/** A broker's state as the metrics see it, with marks registered as the broker registers them. */
class Model {
  partitions: ModelPartition[] = [];
  groups: ModelGroup[] = [];
  /** Moved whenever partitions or groups come or go (the broker's layout versions). */
  partitionLayout = 0;
  groupLayout = 0;
  partitionReads = 0;
  groupReads = 0;
  /** Marks asked for: a scrape asks only while walking (never of idle items otherwise). */
  marksAsked = 0;

  addTopic(topic: string, count: number): void {
    for (let partition = 0; partition < count; partition++) {
      this.partitions.push({
        topic,
        partition,
        logStartOffset: 0,
        logEndOffset: 0,
        sizeBytes: 0,
        segments: 1,
        changes: new ChangeMark(),
      });
    }
    this.partitionLayout++;
  }

  deleteTopic(topic: string): void {
    this.partitions = this.partitions.filter((p) => p.topic !== topic);
    this.partitionLayout++;
  }

  deleteGroup(place: number): void {
    this.groups.splice(place, 1);
    this.groupLayout++;
  }

  addGroup(group: string, commits: ReadonlyArray<[string, number, number]>): void {
    const committed = new Map(
      commits.map(([topic, partition, offset]) => [`${topic}\u0000${partition}`, offset]),
    );
    this.groups.push({ group, state: 'Stable', members: 2, committed, changes: new ChangeMark() });
    this.groupLayout++;
  }

  produce(topic: string, partition: number, records: number): void {
    const found = this.partitions.find((p) => p.topic === topic && p.partition === partition)!;
    found.logEndOffset += records;
    found.sizeBytes += 70 * records;
    found.changes.changed();
  }

  commit(group: string, topic: string, partition: number, offset: number): void {
    const found = this.groups.find((g) => g.group === group)!;
    found.committed.set(`${topic}\u0000${partition}`, offset);
    found.changes.changed();
  }

  partitionFigures(p: ModelPartition): PartitionSnapshot {
    return { ...p, highWatermark: p.logEndOffset };
  }

  groupFigures(g: ModelGroup): GroupSnapshot {
    const lag = [...g.committed]
      .map(([key, offset]) => {
        const [topic, partition] = key.split('\u0000');
        return { topic, partition: Number(partition), offset };
      })
      .sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
      .flatMap(({ topic, partition, offset }) => {
        const end = this.partitions.find((p) => p.topic === topic && p.partition === partition);
        return end === undefined
          ? []
          : [{ topic, partition, lag: Math.max(0, end.logEndOffset - offset) }];
      });
    return { group: g.group, state: g.state, members: g.members, lag };
  }

  sources(tracked: boolean): MetricsSources {
    return {
      partitions: () => this.partitions.map((p) => this.partitionFigures(p)),
      groups: () => this.groups.map((g) => this.groupFigures(g)),
      connections: () => 0,
      networkThreadConnections: () => [],
      requestMemory: () => ({ used: 0, maxBytes: -1 }),
      tailCache: () => ({ bytes: 0, maxBytes: -1 }),
      logDirs: () => [],
      replication: () => singleBrokerReplication(this.partitions.length),
      tracked: tracked
        ? {
            partitions: {
              items: () => this.partitions,
              layout: () => this.partitionLayout,
              changes: (p: ModelPartition) => {
                this.marksAsked++;
                return p.changes;
              },
              figures: (p: ModelPartition) => {
                this.partitionReads++;
                return this.partitionFigures(p);
              },
            },
            groups: {
              items: () => this.groups,
              layout: () => this.groupLayout,
              changes: (g: ModelGroup) => {
                this.marksAsked++;
                return g.changes;
              },
              figures: (g: ModelGroup) => {
                this.groupReads++;
                return this.groupFigures(g);
              },
            },
          }
        : undefined,
    };
  }
}

/** The broker's registry with tracking, and prom-client's own over full walks, on one model. */
function registries(model: Model): { tracked: BrokerMetrics; reference: BrokerMetrics } {
  return {
    tracked: new BrokerMetrics(model.sources(true), { processMetrics: false }),
    reference: new BrokerMetrics(model.sources(false), {
      processMetrics: false,
      registry: new Registry(),
    }),
  };
}

async function text(metrics: BrokerMetrics): Promise<string> {
  const { body } = await metrics.scrape();
  return typeof body === 'string' ? body : Buffer.concat(body).toString('utf8');
}

async function assertSameText(
  { tracked, reference }: ReturnType<typeof registries>,
  after: string,
): Promise<string> {
  const expected = await text(reference);
  assert.equal(await text(tracked), expected, `the tracked scrape after ${after}`);
  return expected;
}

function sampleLine(exposition: string, prefix: string): string | undefined {
  return exposition.split('\n').find((line) => line.startsWith(prefix));
}

test('a tracked scrape renders what a full walk renders, whatever moved in between', async () => {
  const model = new Model();
  for (let topic = 0; topic < 6; topic++) model.addTopic(`topic-${topic}`, 50);
  for (let group = 0; group < 40; group++)
    model.addGroup(
      `group-${group}`,
      Array.from({ length: 5 }, (_, index) => [`topic-${group % 6}`, index * 7, 0] as const),
    );
  const both = registries(model);
  await assertSameText(both, 'the first scrape');
  await assertSameText(both, 'nothing moved');

  model.produce('topic-1', 7, 5);
  let exposition = await assertSameText(both, 'a produce');
  assert.equal(
    sampleLine(
      exposition,
      'brook_consumer_group_lag{group="group-1",topic="topic-1",partition="7"}',
    ),
    'brook_consumer_group_lag{group="group-1",topic="topic-1",partition="7"} 5',
    'a group reading the partition shows its lag with no commit of its own',
  );

  model.commit('group-1', 'topic-1', 7, 3);
  exposition = await assertSameText(both, 'a commit');
  assert.match(exposition, /group_lag\{group="group-1",topic="topic-1",partition="7"\} 2\n/);

  const group2 = model.groups[2];
  group2.members = 5;
  group2.changes.changed();
  await assertSameText(both, 'a member joined');
  group2.state = 'PreparingRebalance';
  group2.changes.changed();
  await assertSameText(both, 'a state change (a series of the state family goes, one comes)');

  model.commit('group-3', 'topic-5', 49, 0);
  await assertSameText(both, 'a commit on a partition the group had no offset for');
  model.deleteGroup(4);
  await assertSameText(both, 'a group deleted');
  model.addGroup('group-new', [['topic-0', 1, 0]]);
  await assertSameText(both, 'a group created');
  model.deleteTopic('topic-2');
  exposition = await assertSameText(both, 'a topic deleted');
  assert.doesNotMatch(exposition, /topic="topic-2"/);
  model.addTopic('topic-2', 3);
  await assertSameText(both, 'a topic created again');

  // Moves at random, a few at a time and many at once, each followed by a scrape of both.
  let seed = 13;
  const random = (below: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % below;
  };
  for (let round = 0; round < 40; round++) {
    const moves = round % 10 === 9 ? 300 : 1 + random(4);
    for (let move = 0; move < moves; move++) {
      const p = model.partitions[random(model.partitions.length)];
      if (random(3) === 0) {
        const g = model.groups[random(model.groups.length)];
        model.commit(g.group, p.topic, p.partition, random(p.logEndOffset + 1));
      } else {
        model.produce(p.topic, p.partition, 1 + random(20));
      }
    }
    await assertSameText(both, `random round ${round}`);
  }
});

test('a scrape reads only the partitions and groups that moved', async () => {
  const model = new Model();
  model.addTopic('busy', 8);
  for (let topic = 0; topic < 20; topic++) model.addTopic(`idle-${topic}`, 50);
  for (let group = 0; group < 100; group++)
    model.addGroup(`group-${group}`, [[`idle-${group % 20}`, group % 50, 0]]);
  model.addGroup('busy-readers', [['busy', 3, 0]]);
  const { tracked } = registries(model);
  await text(tracked);
  assert.equal(model.partitionReads, 8 + 20 * 50, 'the first scrape reads every partition');
  assert.equal(model.groupReads, 101, 'and every group');

  model.partitionReads = 0;
  model.groupReads = 0;
  model.marksAsked = 0;
  await text(tracked);
  assert.deepEqual(
    [model.partitionReads, model.groupReads, model.marksAsked],
    [0, 0, 0],
    'nothing moved: no reads, and no item asked anything (the drained sets were empty)',
  );

  model.produce('busy', 3, 10);
  model.produce('busy', 5, 10);
  model.commit('group-7', 'idle-7', 7, 0);
  const exposition = await text(tracked);
  assert.equal(model.partitionReads, 2, 'the two partitions produced to');
  assert.equal(model.groupReads, 2, 'the group that committed and the group reading busy-3');
  assert.match(exposition, /group_lag\{group="busy-readers",topic="busy",partition="3"\} 10\n/);
});

test('a figure whose mark did not register is not read again (what the marks are for)', async () => {
  const model = new Model();
  model.addTopic('quiet', 2);
  const { tracked } = registries(model);
  await text(tracked);
  model.partitions[0].logEndOffset = 42;
  assert.match(await text(tracked), /log_end_offset\{topic="quiet",partition="0"\} 0\n/);
  model.partitions[0].changes.changed();
  assert.match(await text(tracked), /log_end_offset\{topic="quiet",partition="0"\} 42\n/);
});

test('a mark registers once per scrape, however often its item changes', async () => {
  const model = new Model();
  // Enough partitions that one moved is read alone (more than movedShareWalked moved: a walk).
  model.addTopic('busy', 40);
  model.addGroup('readers', [['busy', 1, 0]]);
  const { tracked } = registries(model);
  await text(tracked);
  model.partitionReads = 0;
  for (let batch = 0; batch < 1000; batch++) model.produce('busy', 1, 1);
  const exposition = await text(tracked);
  assert.equal(model.partitionReads, 1, 'a thousand batches, one read');
  assert.match(exposition, /log_end_offset\{topic="busy",partition="1"\} 1000\n/);
  assert.match(exposition, /group_lag\{group="readers",topic="busy",partition="1"\} 1000\n/);
  model.produce('busy', 1, 1);
  assert.match(await text(tracked), /log_end_offset\{topic="busy",partition="1"\} 1001\n/);
});

test('a change while a scrape walks shows in the next scrape', async () => {
  const model = new Model();
  model.addTopic('walked', 3);
  const sources = model.sources(true);
  // The partition met first changes once the walk has passed it (the scrape is sliced: the
  // broker's state moves between two partitions of one walk).
  let walking = false;
  const figures = sources.tracked!.partitions.figures;
  const tracked = new BrokerMetrics(
    {
      ...sources,
      tracked: {
        ...sources.tracked!,
        partitions: {
          ...sources.tracked!.partitions,
          figures: (item: unknown) => {
            const read = figures(item);
            const p = item as ModelPartition;
            if (walking && p.partition === 1) model.produce('walked', 0, 7);
            return read;
          },
        },
      },
    },
    { processMetrics: false },
  );
  walking = true;
  assert.match(await text(tracked), /log_end_offset\{topic="walked",partition="0"\} 0\n/);
  walking = false;
  assert.match(await text(tracked), /log_end_offset\{topic="walked",partition="0"\} 7\n/);
});

test('a mark of an item that went is dropped, and never names a series again', async () => {
  const model = new Model();
  model.addTopic('gone', 2);
  model.addTopic('kept', 2);
  const { tracked } = registries(model);
  await text(tracked);
  const goneMark = model.partitions[0].changes;
  model.deleteTopic('gone');
  assert.doesNotMatch(await text(tracked), /topic="gone"/);
  // Created again under the same name: new items, new marks; the old item still changes.
  model.addTopic('gone', 2);
  await text(tracked);
  goneMark.changed();
  model.partitionReads = 0;
  const exposition = await text(tracked);
  assert.equal(model.partitionReads, 0, 'the old item is not read');
  assert.match(exposition, /log_end_offset\{topic="gone",partition="0"\} 0\n/);
  assert.equal(goneMark.pending, true, 'untracked: its changes cost one test, no push');
});
