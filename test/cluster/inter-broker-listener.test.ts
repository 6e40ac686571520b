// Brokers reach each other on inter.broker.listener.name with that listener's security: here a
// SASL_SSL listener for replication beside a plaintext one for clients. Clients are told each
// broker's address on the listener they came in on.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { ProduceResponse } from '../../src/protocol/generated/produce.js';
import { makeBatch } from '../helpers/storage-batches.js';
import { makeTestCertificates, type TestCertificates } from '../security/certificates.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';
import { callBroker } from '../helpers/wire-client.js';

const etcd = await startEtcd();
let certificates: TestCertificates;
let certificateDirectory: string;

before(() => {
  certificateDirectory = mkdtempSync(join(tmpdir(), 'brook-inter-broker-'));
  certificates = makeTestCertificates(certificateDirectory);
});
after(() => rmSync(certificateDirectory, { recursive: true, force: true }));

function jaas(password: string): string {
  return `org.apache.kafka.common.security.scram.ScramLoginModule required username="replicator" password="${password}";`;
}

/** Brokers with a CLIENT (plaintext) and a REPLICATION (SASL_SSL, SCRAM-SHA-512) listener. */
async function startBrokers(passwords: readonly string[]): Promise<Broker[]> {
  const prefix = uniquePrefix();
  const brokers: Broker[] = [];
  for (const [index, password] of passwords.entries()) {
    const broker = await startBroker({
      listeners: 'CLIENT://127.0.0.1:0,REPLICATION://127.0.0.1:0',
      settings: {
        'listener.security.protocol.map': 'CLIENT:PLAINTEXT,REPLICATION:SASL_SSL',
        'inter.broker.listener.name': 'REPLICATION',
        'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
        'sasl.jaas.config': jaas(password),
        'ssl.keystore.location': certificates.serverKeystoreLocation,
        'ssl.truststore.location': certificates.caLocation,
        'etcd.endpoints': etcd.endpoint,
        'etcd.prefix': prefix,
        'node.id': index + 1,
        'broker.session.timeout.ms': 2000,
        'replica.lag.time.max.ms': 2000,
        'connection.failed.authentication.delay.ms': 0,
      },
    });
    after(() => broker.stop());
    brokers.push(broker);
  }
  // The replication identity is a SCRAM user of the cluster, created through any broker.
  await new AdminClient({
    bootstrapServer: clientAddress(brokers[0]!),
    clientId: 'inter-broker-test',
    requestTimeoutMs: 10_000,
  }).upsertUserScramCredential('replicator', 'SCRAM-SHA-512', 'replicator-secret');
  return brokers;
}

function portOn(broker: Broker, listener: string): number {
  return broker.listeners.find((candidate) => candidate.name === listener)!.port;
}

function clientAddress(broker: Broker): string {
  return `127.0.0.1:${portOn(broker, 'CLIENT')}`;
}

function metadataOf(broker: Broker, topics: string[] | null): Promise<MetadataResponse> {
  return callBroker<MetadataResponse>(clientAddress(broker), ApiKey.Metadata, 12, {
    topics: topics?.map((name) => ({ name, topicId: Buffer.alloc(16) })) ?? null,
    allowAutoTopicCreation: false,
    includeTopicAuthorizedOperations: false,
  });
}

async function createTopic(brokers: readonly Broker[], topic: string, minIsr: number) {
  const admin = new Kafka({
    clientId: 'inter-broker-test',
    brokers: [clientAddress(brokers[0]!)],
    logLevel: logLevel.NOTHING,
  }).admin();
  await admin.connect();
  after(() => admin.disconnect());
  await admin.createTopics({
    topics: [
      {
        topic,
        // Broker 1 leads: the first replica is the preferred leader.
        replicaAssignment: [{ partition: 0, replicas: brokers.map((broker) => broker.nodeId) }],
        configEntries: [{ name: 'min.insync.replicas', value: String(minIsr) }],
      },
    ],
    waitForLeaders: true,
  });
}

describe('the inter-broker listener', () => {
  test('followers replicate over the SASL_SSL listener, and clients are told CLIENT addresses in Metadata and KIP-951 leader hints', async () => {
    const brokers = await startBrokers([
      'replicator-secret',
      'replicator-secret',
      'replicator-secret',
    ]);
    const metadata = await waitFor(async () => {
      const answer = await metadataOf(brokers[1]!, null);
      return answer.brokers.length === 3 ? answer : undefined;
    }, 'three brokers in the metadata');
    for (const broker of brokers) {
      const listed = metadata.brokers.find((node) => node.nodeId === broker.nodeId)!;
      assert.equal(listed.port, portOn(broker, 'CLIENT'), `broker ${broker.nodeId}'s CLIENT port`);
    }

    // min.insync.replicas=3: an acks=all produce succeeds only once both followers copy it,
    // which they can only do over REPLICATION.
    await createTopic(brokers, 'replicated', 3);
    const producer = new Kafka({
      clientId: 'inter-broker-test',
      brokers: [clientAddress(brokers[0]!)],
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    after(() => producer.disconnect());
    await producer.send({
      topic: 'replicated',
      acks: -1,
      messages: Array.from({ length: 20 }, (_, index) => ({ value: `record-${index}` })),
    });
    for (const broker of brokers) {
      await waitFor(
        () => broker.replicas.partition('replicated', 0)?.logEndOffset === 20,
        `broker ${broker.nodeId} to hold the 20 records`,
      );
    }

    // A produce to a follower is refused with the leader's address on the listener it came in
    // on (KIP-951): CLIENT through CLIENT, REPLICATION through REPLICATION.
    const produceOne = async (): Promise<unknown> => ({
      transactionalId: null,
      acks: 1,
      timeoutMs: 5000,
      topicData: [
        {
          name: 'replicated',
          partitionData: [
            { index: 0, records: await makeBatch({ seed: 1, recordsCount: 1, valueBytes: 16 }) },
          ],
        },
      ],
    });
    const leaderHint = (answer: ProduceResponse): number[][] => {
      assert.equal(
        answer.responses[0]!.partitionResponses[0]!.errorCode,
        ErrorCode.NOT_LEADER_OR_FOLLOWER,
      );
      return answer.nodeEndpoints.map((node) => [node.nodeId, node.port]);
    };
    const onClient = await callBroker<ProduceResponse>(
      clientAddress(brokers[1]!),
      ApiKey.Produce,
      10,
      await produceOne(),
    );
    assert.deepEqual(leaderHint(onClient), [[1, portOn(brokers[0]!, 'CLIENT')]]);
    const secured = await KafkaConnection.open(`127.0.0.1:${portOn(brokers[1]!, 'REPLICATION')}`, {
      clientId: 'inter-broker-test',
      tls: { ca: readFileSync(certificates.caLocation) },
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'replicator', password: 'replicator-secret' },
    });
    try {
      const onReplication = await secured.request<ProduceResponse>(
        ApiKey.Produce,
        10,
        await produceOne(),
      );
      assert.deepEqual(leaderHint(onReplication), [[1, portOn(brokers[0]!, 'REPLICATION')]]);
    } finally {
      secured.close();
    }
  });

  test('a broker whose replication password is wrong cannot follow, and leaves the ISR', async () => {
    const brokers = await startBrokers(['replicator-secret', 'replicator-secret', 'wrong']);
    await createTopic(brokers, 'half', 1);
    const layout = async () => (await metadataOf(brokers[0]!, ['half'])).topics[0]!.partitions[0]!;
    const { leaderId } = await layout();
    const producer = new Kafka({
      clientId: 'inter-broker-test',
      brokers: [clientAddress(brokers[0]!)],
      logLevel: logLevel.NOTHING,
    }).producer();
    await producer.connect();
    after(() => producer.disconnect());
    await producer.send({ topic: 'half', acks: 1, messages: [{ value: 'one' }] });

    const impostor = brokers[2]!;
    assert.equal(leaderId, 1);
    // The leader drops the broker that never fetches from the ISR; the other follower copies.
    await waitFor(
      async () => !(await layout()).isrNodes.includes(impostor.nodeId),
      `broker ${impostor.nodeId} out of the ISR`,
    );
    await waitFor(
      () => brokers[1]!.replicas.partition('half', 0)?.logEndOffset === 1,
      'broker 2 to copy the record',
    );
    assert.equal(impostor.replicas.partition('half', 0)?.logEndOffset, 0);
  });
});
