// The admin APIs through kafkajs 2.2.4's admin client (CreateTopics v3, DeleteTopics v1,
// CreatePartitions v1, DescribeConfigs v2, AlterConfigs v1, DeleteRecords v1) against a real
// in-process broker: configs are described with their sources, altered configs act on the log,
// and validate_only changes nothing.

import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { test } from 'node:test';
import { type Admin, Kafka, type Producer, logLevel } from 'kafkajs';

import { type Broker, startBroker } from '../../src/broker.js';
import { topicConfigDefinitions } from '../../src/config/topic-definitions.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { DescribeConfigsResponse } from '../../src/protocol/generated/describe-configs.js';
import { callBroker } from '../helpers/wire-client.js';
import { waitFor } from '../helpers/poll.js';

const TOPIC = 2;
const BROKER = 4;
const TOPIC_CONFIG = 1;
const DYNAMIC_BROKER_CONFIG = 2;
const DEFAULT_CONFIG = 5;

interface Session {
  readonly broker: Broker;
  readonly admin: Admin;
  readonly producer: Producer;
}

/** A broker that never creates topics on its own, so only CreateTopics can have made one. */
async function withSession(action: (session: Session) => Promise<void>): Promise<void> {
  const broker = await startBroker({ settings: { 'auto.create.topics.enable': false } });
  const kafka = new Kafka({
    clientId: 'admin-kafkajs',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 50 },
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await admin.connect();
    await producer.connect();
    await action({ broker, admin, producer });
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
  }
}

async function topicConfigs(admin: Admin, topic: string) {
  const described = await admin.describeConfigs({
    resources: [{ type: TOPIC, name: topic }],
    includeSynonyms: false,
  });
  assert.equal(described.resources.length, 1);
  assert.equal(described.resources[0].errorCode, 0);
  return new Map(described.resources[0].configEntries.map((entry) => [entry.configName, entry]));
}

/** The Kafka error names a kafkajs admin call failed with (one per failed resource). */
async function errorTypesOf(action: Promise<unknown>): Promise<string[]> {
  try {
    await action;
  } catch (error) {
    let failure = error as {
      type?: string;
      cause?: unknown;
      errors?: Array<{ type?: string }>;
      partitions?: Array<{ error: { type?: string } }>;
    };
    // Retriable errors come back wrapped once the retries run out.
    if (failure.type === undefined && failure.cause !== undefined)
      failure = failure.cause as typeof failure;
    if (failure.errors !== undefined) return failure.errors.map((inner) => String(inner.type));
    if (failure.partitions !== undefined)
      return failure.partitions.map((inner) => String(inner.error.type));
    return [String(failure.type)];
  }
  return [];
}

test('a topic created with configs describes them as TOPIC_CONFIG and every other config with its default', async () => {
  await withSession(async ({ broker, admin }) => {
    const created = await admin.createTopics({
      topics: [
        {
          topic: 'configured',
          numPartitions: 3,
          configEntries: [
            { name: 'retention.ms', value: '3600000' },
            { name: 'cleanup.policy', value: 'compact' },
          ],
        },
      ],
    });
    assert.equal(created, true);

    const configs = await topicConfigs(admin, 'configured');
    assert.equal(configs.size, topicConfigDefinitions.size, 'every topic config is listed');
    assert.deepEqual(
      [configs.get('retention.ms')!.configValue, configs.get('retention.ms')!.configSource],
      ['3600000', TOPIC_CONFIG],
    );
    assert.equal(configs.get('retention.ms')!.isDefault, false);
    assert.equal(configs.get('cleanup.policy')!.configValue, 'compact');
    const segmentBytes = configs.get('segment.bytes')!;
    assert.deepEqual(
      [segmentBytes.configValue, segmentBytes.configSource, segmentBytes.isDefault],
      ['1073741824', DEFAULT_CONFIG, true],
    );
    assert.equal(configs.get('max.message.bytes')!.configValue, '1048588');

    const metadata = await admin.fetchTopicMetadata({ topics: ['configured'] });
    assert.equal(metadata.topics[0].partitions.length, 3);
    const log = broker.replicas.partition('configured', 2)!.log;
    assert.equal(log.config.retentionMs, 3_600_000, 'the log runs with the override');
    assert.equal(log.config.cleanupPolicy, 'compact');
  });
});

test('alterConfigs replaces the override set and the log refuses a batch over the new max.message.bytes', async () => {
  await withSession(async ({ admin, producer }) => {
    await admin.createTopics({
      topics: [{ topic: 'limited', configEntries: [{ name: 'retention.ms', value: '60000' }] }],
    });
    const large = { value: Buffer.alloc(4_000, 7) };
    await producer.send({ topic: 'limited', messages: [large], acks: -1 });

    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: TOPIC,
          name: 'limited',
          configEntries: [{ name: 'max.message.bytes', value: '2000' }],
        },
      ],
    });
    const configs = await topicConfigs(admin, 'limited');
    assert.deepEqual(
      [
        configs.get('max.message.bytes')!.configValue,
        configs.get('max.message.bytes')!.configSource,
      ],
      ['2000', TOPIC_CONFIG],
    );
    assert.equal(
      configs.get('retention.ms')!.configSource,
      DEFAULT_CONFIG,
      'an override left out is removed',
    );
    assert.equal(configs.get('retention.ms')!.configValue, '604800000');

    assert.deepEqual(
      await errorTypesOf(producer.send({ topic: 'limited', messages: [large], acks: -1 })),
      ['MESSAGE_TOO_LARGE'],
    );
    const small = await producer.send({
      topic: 'limited',
      messages: [{ value: 'fits' }],
      acks: -1,
    });
    assert.equal(small[0].baseOffset, '1');
  });
});

test('validate_only checks CreateTopics, AlterConfigs and CreatePartitions but changes nothing', async () => {
  await withSession(async ({ broker, admin }) => {
    await admin.createTopics({
      validateOnly: true,
      waitForLeaders: false,
      topics: [{ topic: 'imagined', numPartitions: 2 }],
    });
    assert.equal(broker.replicas.topic('imagined'), undefined);
    assert.ok(!(await admin.listTopics()).includes('imagined'));
    assert.deepEqual(
      await errorTypesOf(
        admin.createTopics({
          validateOnly: true,
          waitForLeaders: false,
          topics: [{ topic: 'imagined', configEntries: [{ name: 'retention.ms', value: 'soon' }] }],
        }),
      ),
      ['INVALID_CONFIG'],
    );

    await admin.createTopics({
      topics: [{ topic: 'steady', configEntries: [{ name: 'retention.ms', value: '5000' }] }],
    });
    await admin.alterConfigs({
      validateOnly: true,
      resources: [
        { type: TOPIC, name: 'steady', configEntries: [{ name: 'retention.ms', value: '9000' }] },
      ],
    });
    assert.equal((await topicConfigs(admin, 'steady')).get('retention.ms')!.configValue, '5000');
    assert.equal(broker.replicas.partition('steady', 0)!.log.config.retentionMs, 5000);

    await admin.createPartitions({
      validateOnly: true,
      topicPartitions: [{ topic: 'steady', count: 4 }],
    });
    assert.equal(broker.replicas.topic('steady')!.partitions.length, 1);
  });
});

test('bad names, replication factor 3, bad partition counts and unknown configs are refused with their error codes', async () => {
  await withSession(async ({ broker, admin }) => {
    const refused = async (topic: Record<string, unknown>) =>
      errorTypesOf(admin.createTopics({ waitForLeaders: false, topics: [topic as never] }));
    assert.deepEqual(await refused({ topic: 'bad name!' }), ['INVALID_TOPIC_EXCEPTION']);
    assert.deepEqual(await refused({ topic: '..' }), ['INVALID_TOPIC_EXCEPTION']);
    assert.deepEqual(await refused({ topic: '__consumer_offsets' }), ['INVALID_REQUEST']);
    assert.deepEqual(await refused({ topic: 'x'.repeat(250) }), ['INVALID_TOPIC_EXCEPTION']);
    assert.deepEqual(await refused({ topic: 'replicated', replicationFactor: 3 }), [
      'INVALID_REPLICATION_FACTOR',
    ]);
    assert.deepEqual(await refused({ topic: 'empty', numPartitions: 0 }), ['INVALID_PARTITIONS']);
    assert.deepEqual(
      await refused({ topic: 'typo', configEntries: [{ name: 'retention.msec', value: '1' }] }),
      ['INVALID_CONFIG'],
    );
    assert.deepEqual(
      await refused({ topic: 'typo', configEntries: [{ name: 'cleanup.policy', value: 'shred' }] }),
      ['INVALID_CONFIG'],
    );
    assert.deepEqual(
      await refused({
        topic: 'elsewhere',
        replicaAssignment: [{ partition: 0, replicas: [broker.nodeId + 1] }],
      }),
      ['INVALID_REPLICA_ASSIGNMENT'],
    );
    assert.deepEqual(
      broker.replicas.topics().map((topic) => topic.metadata.name),
      [],
    );

    // Replication factor 1 and a replica assignment naming only this broker are fine.
    assert.equal(
      await admin.createTopics({
        topics: [
          { topic: 'single', replicationFactor: 1 },
          {
            topic: 'assigned',
            replicaAssignment: [0, 1].map((partition) => ({
              partition,
              replicas: [broker.nodeId],
            })),
          },
        ],
      }),
      true,
    );
    assert.equal(broker.replicas.topic('assigned')!.partitions.length, 2);
    assert.equal(
      await admin.createTopics({ topics: [{ topic: 'single' }] }),
      false,
      'TOPIC_ALREADY_EXISTS',
    );
    await admin.createTopics({ topics: [{ topic: 'dotted.name' }] });
    assert.deepEqual(
      await errorTypesOf(
        admin.createTopics({ waitForLeaders: false, topics: [{ topic: 'dotted_name' }] }),
      ),
      ['INVALID_TOPIC_EXCEPTION'],
    );
    assert.deepEqual(
      await errorTypesOf(
        admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: TOPIC,
              name: 'single',
              configEntries: [{ name: 'no.such.config', value: '1' }],
            },
          ],
        }),
      ),
      ['INVALID_CONFIG'],
    );
    assert.deepEqual(
      await errorTypesOf(
        admin.alterConfigs({
          validateOnly: false,
          resources: [
            { type: TOPIC, name: 'missing', configEntries: [{ name: 'retention.ms', value: '1' }] },
          ],
        }),
      ),
      ['UNKNOWN_TOPIC_OR_PARTITION'],
    );
  });
});

test('createPartitions grows a topic, the new partition takes records, and shrinking is INVALID_PARTITIONS', async () => {
  await withSession(async ({ admin, producer }) => {
    await admin.createTopics({ topics: [{ topic: 'growing', numPartitions: 1 }] });
    await admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 3 }] });
    const metadata = await admin.fetchTopicMetadata({ topics: ['growing'] });
    assert.deepEqual(
      metadata.topics[0].partitions.map((partition) => partition.partitionId).sort(),
      [0, 1, 2],
    );
    const sent = await producer.send({
      topic: 'growing',
      messages: [
        { partition: 2, value: 'one' },
        { partition: 2, value: 'two' },
      ],
      acks: -1,
    });
    assert.deepEqual(
      sent.map((result) => [result.partition, result.errorCode]),
      [[2, 0]],
    );
    const offsets = await admin.fetchTopicOffsets('growing');
    assert.equal(offsets.find((offset) => offset.partition === 2)!.high, '2');

    assert.deepEqual(
      await errorTypesOf(
        admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 2 }] }),
      ),
      ['INVALID_PARTITIONS'],
    );
    assert.deepEqual(
      await errorTypesOf(
        admin.createPartitions({ topicPartitions: [{ topic: 'growing', count: 3 }] }),
      ),
      ['INVALID_PARTITIONS'],
    );
  });
});

test('deleteTopicRecords moves the low watermark, and -1 deletes up to the high watermark', async () => {
  await withSession(async ({ admin, producer }) => {
    await admin.createTopics({ topics: [{ topic: 'trimmed', numPartitions: 1 }] });
    await producer.send({
      topic: 'trimmed',
      messages: Array.from({ length: 10 }, (_, index) => ({ value: `record-${index}` })),
      acks: -1,
    });
    // kafkajs finds partition leaders only in metadata it has fetched for the topic.
    await admin.fetchTopicMetadata({ topics: ['trimmed'] });
    await admin.deleteTopicRecords({
      topic: 'trimmed',
      partitions: [{ partition: 0, offset: '4' }],
    });
    assert.deepEqual(
      (await admin.fetchTopicOffsets('trimmed')).map(({ low, high }) => [low, high]),
      [['4', '10']],
    );
    await admin.deleteTopicRecords({
      topic: 'trimmed',
      partitions: [{ partition: 0, offset: '-1' }],
    });
    assert.deepEqual(
      (await admin.fetchTopicOffsets('trimmed')).map(({ low, high }) => [low, high]),
      [['10', '10']],
    );
    assert.deepEqual(
      await errorTypesOf(
        admin.deleteTopicRecords({
          topic: 'trimmed',
          partitions: [{ partition: 0, offset: '11' }],
        }),
      ),
      ['OFFSET_OUT_OF_RANGE'],
    );
  });
});

test('deleteTopics removes the topic from metadata and its partition directories from disk', async () => {
  await withSession(async ({ broker, admin, producer }) => {
    await admin.createTopics({
      topics: [{ topic: 'doomed', numPartitions: 2 }, { topic: 'kept' }],
    });
    await producer.send({
      topic: 'doomed',
      messages: [{ partition: 1, value: 'gone soon' }],
      acks: -1,
    });
    const logDir = broker.config.logDirs[0];
    assert.ok((await readdir(logDir)).includes('doomed-1'));

    const topicIdBefore = broker.replicas.topic('doomed')!.metadata.topicId;
    await admin.deleteTopics({ topics: ['doomed'] });
    assert.deepEqual(
      (await admin.listTopics()).filter((name) => !name.startsWith('__')),
      ['kept'],
    );
    const left = (await readdir(logDir)).filter((name) => name.startsWith('doomed'));
    assert.deepEqual(left, [], 'no partition directory, renamed or not, remains');
    assert.deepEqual(await errorTypesOf(admin.deleteTopics({ topics: ['doomed'] })), [
      'UNKNOWN_TOPIC_OR_PARTITION',
    ]);

    // The name is free again: a new topic, with a new id, starting empty.
    await admin.createTopics({ topics: [{ topic: 'doomed', numPartitions: 2 }] });
    const reborn = broker.replicas.topic('doomed')!;
    assert.ok(!reborn.metadata.topicId.equals(topicIdBefore));
    assert.deepEqual(
      (await admin.fetchTopicOffsets('doomed'))
        .map(({ partition, low, high }) => [partition, low, high])
        .sort(),
      [
        [0, '0', '0'],
        [1, '0', '0'],
      ],
    );
  });
});

test('a dynamic broker config changes the topic defaults; a static one is refused', async () => {
  await withSession(async ({ broker, admin }) => {
    await admin.createTopics({ topics: [{ topic: 'inherits' }] });
    const brokerName = String(broker.nodeId);
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: BROKER,
          name: brokerName,
          configEntries: [{ name: 'log.retention.ms', value: '7200000' }],
        },
      ],
    });
    const described = await admin.describeConfigs({
      resources: [{ type: BROKER, name: brokerName, configNames: ['log.retention.ms'] }],
      includeSynonyms: false,
    });
    assert.deepEqual(
      described.resources[0].configEntries.map((entry) => [
        entry.configName,
        entry.configValue,
        entry.configSource,
      ]),
      [['log.retention.ms', '7200000', DYNAMIC_BROKER_CONFIG]],
    );
    const inherited = (await topicConfigs(admin, 'inherits')).get('retention.ms')!;
    assert.deepEqual(
      [inherited.configValue, inherited.configSource],
      ['7200000', DYNAMIC_BROKER_CONFIG],
    );

    assert.deepEqual(
      await errorTypesOf(
        admin.alterConfigs({
          validateOnly: false,
          resources: [
            {
              type: BROKER,
              name: brokerName,
              configEntries: [{ name: 'log.dirs', value: '/elsewhere' }],
            },
          ],
        }),
      ),
      ['INVALID_REQUEST'],
    );
    // kafkajs sends a broker resource to the broker it names, so ask this one about another.
    const otherBroker = await callBroker<DescribeConfigsResponse>(broker.bootstrapServers, 32, 2, {
      resources: [
        { resourceType: BROKER, resourceName: String(broker.nodeId + 7), configurationKeys: null },
      ],
    });
    assert.equal(otherBroker.results[0].errorCode, ErrorCode.INVALID_REQUEST);
  });
});

test('retention.bytes and segment.bytes set through AlterConfigs make retention drop old segments', async () => {
  const broker = await startBroker({
    settings: { 'auto.create.topics.enable': false, 'log.retention.check.interval.ms': 50 },
  });
  const kafka = new Kafka({
    clientId: 'admin-retention',
    brokers: [broker.bootstrapServers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    await admin.connect();
    await producer.connect();
    await admin.createTopics({ topics: [{ topic: 'expiring' }] });
    await admin.alterConfigs({
      validateOnly: false,
      resources: [
        {
          type: TOPIC,
          name: 'expiring',
          configEntries: [
            { name: 'segment.bytes', value: '1024' },
            { name: 'retention.bytes', value: '2048' },
          ],
        },
      ],
    });
    for (let index = 0; index < 20; index += 1) {
      await producer.send({
        topic: 'expiring',
        messages: [{ value: Buffer.alloc(300, index) }],
        acks: -1,
      });
    }
    const log = broker.replicas.partition('expiring', 0)!.log;
    assert.ok(log.segmentInfos().length > 2, 'segment.bytes rolled the log');
    // Retention runs in the background every 50 ms: wait, bounded, until it has trimmed the log.
    const trimmed = () => log.sizeInBytes <= 2048 + 1024;
    await waitFor(
      trimmed,
      () => `the log to be trimmed to about retention.bytes (${log.sizeInBytes} bytes)`,
      { timeoutMs: 15_000 },
    );
    await admin.fetchTopicMetadata({ topics: ['expiring'] });
    const [{ low, high }] = await admin.fetchTopicOffsets('expiring');
    assert.equal(high, '20');
    assert.ok(Number(low) > 0, `retention moved the low watermark (${low})`);
  } finally {
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await broker.stop();
  }
});
