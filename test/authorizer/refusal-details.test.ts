// The finer points of Kafka's refusals, on a real broker with the authorizer on: CreateTopics hides
// the configs of a topic the principal may not DescribeConfigs, DeleteTopics refuses a topic the
// principal may not Describe and never reveals a name behind an id, and an acks=0 Produce to a
// refused topic closes the connection (the producer reads no response).

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import type { DeleteTopicsResponse } from '../../src/protocol/generated/delete-topics.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import { buildBatch } from '../../src/record/records.js';
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_RESOURCE_NAME,
  PatternType,
  ResourceType,
} from '../../src/security/index.js';
import {
  type SaslBroker,
  handshakeOnWire,
  listenerAddress,
  plainToken,
  sendRequest,
  startSaslBroker,
} from '../helpers/sasl.js';
import { waitFor } from '../helpers/poll.js';
import { callBroker, connectWireClient } from '../helpers/wire-client.js';

const binding = (
  resourceType: ResourceType,
  resourceName: string,
  operation: AclOperation,
  permissionType: AclPermissionType = AclPermissionType.ALLOW,
) => ({
  resourceType,
  resourceName,
  patternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation,
  permissionType,
});

async function brokerWithAlice(t: TestContext): Promise<SaslBroker & { alice: KafkaConnection }> {
  const started = await startSaslBroker(t, {
    'authorizer.enabled': true,
    'super.users': 'User:ANONYMOUS',
  });
  await started.admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
  const alice = await KafkaConnection.open(started.sasl, {
    clientId: 'alice',
    sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
    requestTimeoutMs: 10_000,
  });
  t.after(() => alice.close());
  return { ...started, alice };
}

test('CreateTopics answers a topic the principal may not DescribeConfigs without its configs', async (t) => {
  const { admin, alice } = await brokerWithAlice(t);
  await admin.createAcls([
    binding(ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME, AclOperation.CREATE),
    binding(ResourceType.TOPIC, 'visible', AclOperation.DESCRIBE_CONFIGS),
  ]);
  const response = await alice.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
    topics: ['visible', 'hidden'].map((name) => ({
      name,
      numPartitions: 2,
      replicationFactor: 1,
      assignments: [],
      configs: [{ name: 'retention.ms', value: '60000' }],
    })),
    timeoutMs: 10_000,
    validateOnly: false,
  });
  const byName = new Map(response.topics.map((topic) => [topic.name, topic]));
  const visible = byName.get('visible')!;
  assert.equal(visible.errorCode, ErrorCode.NONE);
  assert.equal(visible.topicConfigErrorCode, ErrorCode.NONE);
  assert.equal(visible.numPartitions, 2);
  assert.ok(visible.configs!.some((config) => config.name === 'retention.ms'));
  const hidden = byName.get('hidden')!;
  assert.equal(hidden.errorCode, ErrorCode.NONE, 'the topic is created all the same');
  assert.equal(hidden.topicConfigErrorCode, ErrorCode.TOPIC_AUTHORIZATION_FAILED);
  assert.equal(hidden.numPartitions, -1);
  assert.equal(hidden.replicationFactor, -1);
  assert.equal(hidden.configs, null);

  // One that is not created carries no config error, as in Kafka.
  const refused = await alice.request<CreateTopicsResponse>(ApiKey.CreateTopics, 7, {
    topics: [
      { name: 'hidden', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
    ],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.equal(refused.topics[0]!.errorCode, ErrorCode.TOPIC_ALREADY_EXISTS);
  assert.equal(refused.topics[0]!.topicConfigErrorCode, ErrorCode.NONE);
});

test('DeleteTopics refuses a topic the principal may not Describe, and names no topic behind an id', async (t) => {
  const { broker, admin, alice } = await brokerWithAlice(t);
  for (const name of ['undescribable', 'by-id']) {
    await admin.createTopic(
      { name, partitions: 1, replicationFactor: 1, configs: new Map() },
      10_000,
      false,
    );
  }
  // Delete alone would imply Describe; the DENY takes it away, and Kafka then refuses.
  await admin.createAcls([
    binding(ResourceType.TOPIC, 'undescribable', AclOperation.DELETE),
    binding(ResourceType.TOPIC, 'undescribable', AclOperation.DESCRIBE, AclPermissionType.DENY),
  ]);
  const byName = await alice.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 6, {
    topics: [{ name: 'undescribable', topicId: Buffer.alloc(16) }],
    topicNames: [],
    timeoutMs: 10_000,
  });
  assert.deepEqual(
    byName.responses.map((topic) => [topic.name, topic.errorCode]),
    [['undescribable', ErrorCode.TOPIC_AUTHORIZATION_FAILED]],
  );

  const metadata = await callBroker<MetadataResponse>(
    listenerAddress(broker, 'PLAINTEXT'),
    ApiKey.Metadata,
    12,
    {
      topics: [{ name: 'by-id', topicId: Buffer.alloc(16) }],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    },
  );
  const topicId = metadata.topics[0]!.topicId;
  const byId = await alice.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 6, {
    topics: [{ name: null, topicId }],
    topicNames: [],
    timeoutMs: 10_000,
  });
  assert.deepEqual(
    byId.responses.map((topic) => [topic.name, topic.errorCode]),
    [[null, ErrorCode.TOPIC_AUTHORIZATION_FAILED]],
  );

  // With Delete on the cluster every topic may go.
  await admin.createAcls([
    binding(ResourceType.CLUSTER, CLUSTER_RESOURCE_NAME, AclOperation.DELETE),
  ]);
  const clusterWide = await alice.request<DeleteTopicsResponse>(ApiKey.DeleteTopics, 6, {
    topics: [{ name: null, topicId }],
    topicNames: [],
    timeoutMs: 10_000,
  });
  assert.deepEqual(
    clusterWide.responses.map((topic) => [topic.name, topic.errorCode]),
    [['by-id', ErrorCode.NONE]],
  );
});

test('an acks=0 Produce to a topic the principal may not Write closes the connection', async (t) => {
  const { admin, sasl } = await brokerWithAlice(t);
  for (const name of ['open', 'closed']) {
    await admin.createTopic(
      { name, partitions: 1, replicationFactor: 1, configs: new Map() },
      10_000,
      false,
    );
  }
  await admin.createAcls([binding(ResourceType.TOPIC, 'open', AclOperation.WRITE)]);
  const client = await connectWireClient(Number(sasl.split(':')[1]));
  t.after(() => client.close());
  await handshakeOnWire(client, 1, 'PLAIN');
  await sendRequest(
    client,
    { apiKey: ApiKey.SaslAuthenticate, apiVersion: 2, correlationId: 2 },
    { authBytes: plainToken('alice', 'alice-secret') },
  );
  await client.nextFrame(10_000);
  const produce = async (topic: string, correlationId: number) =>
    sendRequest(
      client,
      { apiKey: ApiKey.Produce, apiVersion: 9, correlationId },
      {
        transactionalId: null,
        acks: 0,
        timeoutMs: 5000,
        topicData: [
          {
            name: topic,
            partitionData: [
              {
                index: 0,
                records: await buildBatch({ records: [{ key: null, value: Buffer.from('x') }] }),
              },
            ],
          },
        ],
      },
    );
  const metadata = (correlationId: number) =>
    sendRequest(
      client,
      { apiKey: ApiKey.Metadata, apiVersion: 12, correlationId },
      { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false },
    );

  // Allowed: no response, and the connection goes on (the Metadata after it is answered).
  await produce('open', 3);
  await metadata(4);
  await client.nextFrame(10_000);
  assert.equal(client.isClosed(), false);

  const answered = client.frames.length;
  await produce('closed', 5);
  await waitFor(() => client.isClosed(), 'the broker closes the connection', {
    timeoutMs: 10_000,
  });
  assert.equal(client.frames.length, answered, 'the refused acks=0 Produce got no response');
});
