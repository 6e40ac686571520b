// audit.log.topic in cluster mode: each broker's audit lines reach the topic through the leader of
// its partition (broker id modulo the partition count), over the inter-broker listener when that
// leader is another broker, in the order the broker wrote them, and never into a follower's log.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { CreateTopicsResponse } from '../../src/protocol/generated/create-topics.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { decodeBatchSync } from '../../src/record/records.js';
import { BATCH_HEADER_BYTES, batchSizeBytes } from '../../src/record/batch.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';

const AUDIT_TOPIC = '_brook_audit';
const BROKERS = 3;
const etcd = await startEtcd();

interface AuditLine {
  api: string;
  resource: { type: string; name: string } | null;
  outcome: string;
}

async function startMembers(): Promise<Broker[]> {
  const prefix = uniquePrefix();
  const brokers: Broker[] = [];
  for (let nodeId = 1; nodeId <= BROKERS; nodeId++) {
    const broker = await startBroker({
      listeners: 'PLAINTEXT://127.0.0.1:0',
      settings: {
        'etcd.endpoints': etcd.endpoint,
        'etcd.prefix': prefix,
        'node.id': nodeId,
        'broker.session.timeout.ms': 2000,
        'audit.log.topic': AUDIT_TOPIC,
      },
    });
    after(() => broker.stop());
    brokers.push(broker);
  }
  return brokers;
}

const addressOf = (broker: Broker): string => `127.0.0.1:${broker.listeners[0]!.port}`;

/**
 * CreateTopics sent to this very broker (an admin client would send it to the controller), at
 * replication factor 3; resolves with the topic's error code.
 */
async function createTopicOn(broker: Broker, name: string, partitions = 1): Promise<number> {
  const connection = await KafkaConnection.open(addressOf(broker), {
    clientId: 'cluster-audit-topic',
    requestTimeoutMs: 10_000,
  });
  try {
    const response = await connection.request<CreateTopicsResponse>(ApiKey.CreateTopics, 5, {
      topics: [
        { name, numPartitions: partitions, replicationFactor: 3, assignments: [], configs: [] },
      ],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    return response.topics[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
  } finally {
    connection.close();
  }
}

/** Every audit line in one partition of the topic, read from its leader, in offset order. */
async function linesIn(admin: AdminClient, partition: number): Promise<AuditLine[]> {
  const lines: AuditLine[] = [];
  let offset = 0n;
  for (;;) {
    const fetched = await admin.fetch(AUDIT_TOPIC, partition, offset, 0, 1024 * 1024);
    const bytes = fetched.records ?? Buffer.alloc(0);
    if (bytes.length === 0) return lines;
    let position = 0;
    while (
      position + BATCH_HEADER_BYTES <= bytes.length &&
      position + batchSizeBytes(bytes, position) <= bytes.length
    ) {
      const batch = decodeBatchSync(bytes, position);
      for (const record of batch.records) {
        lines.push(JSON.parse(record.value!.toString()) as AuditLine);
      }
      offset = BigInt(batch.baseOffset + batch.lastOffsetDelta + 1);
      position += batchSizeBytes(bytes, position);
    }
    if (offset >= fetched.highWatermark) return lines;
  }
}

test('every broker’s audit lines reach the audit topic through its partition’s leader, in order', async () => {
  const brokers = await startMembers();
  const admin = new AdminClient({
    bootstrapServer: addressOf(brokers[0]!),
    clientId: 'cluster-audit-topic',
    requestTimeoutMs: 10_000,
  });
  after(() => admin.close());
  // In cluster mode the topic must exist: one partition per broker, every broker a replica, so
  // the leaders are spread and most brokers write through another one.
  // (Until broker 1 sees all three registered, replication factor 3 is refused.)
  const created: number[] = [ErrorCode.NONE, ErrorCode.TOPIC_ALREADY_EXISTS];
  await waitFor(
    async () => created.includes(await createTopicOn(brokers[0]!, AUDIT_TOPIC, BROKERS)),
    `${AUDIT_TOPIC} created`,
    { timeoutMs: 30_000 },
  );

  for (const [index, broker] of brokers.entries()) {
    for (const round of [1, 2]) {
      const name = `from-broker-${index + 1}-${round}`;
      assert.equal(await createTopicOn(broker, name), ErrorCode.NONE, `CreateTopics ${name}`);
    }
  }

  for (let brokerId = 1; brokerId <= BROKERS; brokerId++) {
    const partition = brokerId % BROKERS;
    const expected = [1, 2].map((round) => `from-broker-${brokerId}-${round}`);
    let created: string[] = [];
    await waitFor(
      async () => {
        const lines = await linesIn(admin, partition);
        created = lines
          .filter((line) => line.api === 'CreateTopics' && line.outcome === 'success')
          .map((line) => line.resource?.name ?? '')
          .filter((name) => name.startsWith('from-broker-'));
        return expected.every((name) => created.includes(name));
      },
      `broker ${brokerId}'s lines in ${AUDIT_TOPIC}-${partition}`,
      { timeoutMs: 30_000 },
    );
    assert.deepEqual(created, expected, `only broker ${brokerId}'s lines, in its order`);
  }
});
