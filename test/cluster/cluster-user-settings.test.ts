// Users and client quotas in cluster mode: kept in etcd, so a SCRAM user created or a quota altered
// through one broker holds on every broker, and a user deleted through another is refused on all.

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { KafkaClientError, KafkaConnection } from '../../src/client/kafka-connection.js';
import type { SaslCredentials } from '../../src/client/sasl-client.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';

const etcd = await startEtcd();

interface Member {
  broker: Broker;
  admin: AdminClient;
  /** host:port of its SASL_PLAINTEXT listener. */
  sasl: string;
}

async function startMembers(count: number): Promise<Member[]> {
  const prefix = uniquePrefix();
  const members: Member[] = [];
  for (let nodeId = 1; nodeId <= count; nodeId++) {
    const broker = await startBroker({
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      settings: {
        'etcd.endpoints': etcd.endpoint,
        'etcd.prefix': prefix,
        'node.id': nodeId,
        'broker.session.timeout.ms': 2000,
        'connection.failed.authentication.delay.ms': 0,
      },
    });
    after(() => broker.stop());
    const portOf = (name: string) => broker.listeners.find((listener) => listener.name === name)!;
    const admin = new AdminClient({
      bootstrapServer: `127.0.0.1:${portOf('PLAINTEXT').port}`,
      clientId: 'cluster-user-settings',
      requestTimeoutMs: 10_000,
    });
    members.push({ broker, admin, sasl: `127.0.0.1:${portOf('SASL_PLAINTEXT').port}` });
  }
  return members;
}

/** Resolves true when `credentials` authenticate at `address`, false when refused as such. */
async function authenticates(address: string, credentials: SaslCredentials): Promise<boolean> {
  let connection: KafkaConnection | undefined;
  try {
    connection = await KafkaConnection.open(address, {
      clientId: 'cluster-user-settings',
      sasl: credentials,
      requestTimeoutMs: 10_000,
    });
    const metadata = await connection.request<MetadataResponse>(ApiKey.Metadata, 12, {
      topics: [],
      allowAutoTopicCreation: false,
      includeTopicAuthorizedOperations: false,
    });
    return metadata.brokers.length > 0;
  } catch (error) {
    if (
      error instanceof KafkaClientError &&
      error.kafkaErrorCode === ErrorCode.SASL_AUTHENTICATION_FAILED
    ) {
      return false;
    }
    throw error;
  } finally {
    connection?.close();
  }
}

describe('users and client quotas in cluster mode', () => {
  test('a SCRAM user created on one broker authenticates on every broker; deleted on another, it is refused on all', async () => {
    const members = await startMembers(3);
    const alice = {
      mechanism: 'SCRAM-SHA-256',
      username: 'alice',
      password: 'alice-secret',
    } as const;
    for (const member of members) assert.equal(await authenticates(member.sasl, alice), false);

    await members[0]!.admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');
    for (const member of members) {
      await waitFor(
        () => authenticates(member.sasl, alice),
        `alice to authenticate on broker ${member.broker.nodeId}`,
      );
      // PLAIN checks the same salted credential.
      assert.equal(await authenticates(member.sasl, { ...alice, mechanism: 'PLAIN' }), true);
      const described = await member.admin.describeUserScramCredentials(['alice']);
      assert.deepEqual(
        described.map((user) => user.user),
        ['alice'],
        `broker ${member.broker.nodeId} describes alice`,
      );
    }

    await members[2]!.admin.deleteUserScramCredential('alice', 'SCRAM-SHA-256');
    for (const member of members) {
      await waitFor(
        async () => !(await authenticates(member.sasl, alice)),
        `alice refused on broker ${member.broker.nodeId}`,
      );
    }
  });

  test('a client quota altered on one broker is applied by every broker; removed through another, it is gone from all', async () => {
    const members = await startMembers(2);
    const entity = [{ entityType: 'user', entityName: 'bulk' }];
    await members[1]!.admin.alterClientQuotas(entity, new Map([['producer_byte_rate', 2048]]));

    const quotasOn = async (member: Member): Promise<Record<string, number>> => {
      const entries = await member.admin.describeClientQuotas(
        [{ entityType: 'user', matchType: 0, match: 'bulk' }],
        true,
      );
      return Object.fromEntries(
        entries.flatMap((entry) => entry.values.map(({ key, value }) => [key, value])),
      );
    };
    for (const member of members) {
      await waitFor(
        async () => (await quotasOn(member)).producer_byte_rate === 2048,
        `broker ${member.broker.nodeId} to describe the quota`,
      );
    }

    // Removed through the other broker: gone on both.
    await members[0]!.admin.alterClientQuotas(entity, new Map([['producer_byte_rate', null]]));
    for (const member of members) {
      await waitFor(
        async () => (await quotasOn(member)).producer_byte_rate === undefined,
        `broker ${member.broker.nodeId} to drop the quota`,
      );
    }
  });
});
