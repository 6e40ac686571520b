// ACLs in cluster mode: kept in etcd, so an ACL created through one broker is enforced by every
// broker, and deleted through another it stops applying on all.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import type { DescribeConfigsResponse } from '../../src/protocol/generated/describe-configs.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { AclOperation, PatternType, ResourceType } from '../../src/security/index.js';
import { allowed } from '../helpers/acls.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';

const etcd = await startEtcd();

test('an ACL created on one broker is enforced on every broker, and deleted on another it goes from all', async () => {
  const prefix = uniquePrefix();
  const members: { broker: Broker; admin: AdminClient; sasl: string }[] = [];
  for (let nodeId = 1; nodeId <= 3; nodeId++) {
    const broker = await startBroker({
      listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
      settings: {
        'etcd.endpoints': etcd.endpoint,
        'etcd.prefix': prefix,
        'node.id': nodeId,
        'broker.session.timeout.ms': 2000,
        'authorizer.enabled': true,
        // Brokers replicate over the plaintext listener as ANONYMOUS.
        'super.users': 'User:ANONYMOUS',
      },
    });
    after(() => broker.stop());
    const portOf = (name: string) => broker.listeners.find((listener) => listener.name === name)!;
    members.push({
      broker,
      admin: new AdminClient({
        bootstrapServer: `127.0.0.1:${portOf('PLAINTEXT').port}`,
        clientId: 'cluster-acls',
        requestTimeoutMs: 10_000,
      }),
      sasl: `127.0.0.1:${portOf('SASL_PLAINTEXT').port}`,
    });
  }
  await members[0].admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'alice-secret');

  /** Whether alice may describe the broker configs of the broker at `address` (Cluster DescribeConfigs). */
  const allowedAt = async (address: string): Promise<boolean> => {
    const connection = await KafkaConnection.open(address, {
      clientId: 'cluster-acls',
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'alice', password: 'alice-secret' },
      requestTimeoutMs: 10_000,
    });
    try {
      const response = await connection.request<DescribeConfigsResponse>(
        ApiKey.DescribeConfigs,
        4,
        {
          resources: [
            { resourceType: 4, resourceName: '', configurationKeys: ['log.retention.ms'] },
          ],
        },
      );
      return response.results[0].errorCode !== ErrorCode.CLUSTER_AUTHORIZATION_FAILED;
    } finally {
      connection.close();
    }
  };
  // The user is in etcd too; wait until every broker knows it before asking about ACLs.
  for (const member of members) {
    await waitFor(
      () =>
        allowedAt(member.sasl).then(
          () => true,
          () => false,
        ),
      'alice authenticates on every broker',
    );
    assert.equal(await allowedAt(member.sasl), false);
  }

  const binding = allowed(
    'User:alice',
    ResourceType.CLUSTER,
    'kafka-cluster',
    AclOperation.DESCRIBE_CONFIGS,
  );
  await members[0].admin.createAcls([binding]);
  for (const member of members) {
    await waitFor(
      () => allowedAt(member.sasl),
      `the ACL applies on broker ${member.broker.nodeId}`,
    );
  }
  assert.deepEqual(
    await members[2].admin.describeAcls({ ...binding, patternType: PatternType.ANY }),
    [binding],
  );

  const deleted = await members[1].admin.deleteAcls([{ ...binding }]);
  assert.equal(deleted.length, 1);
  for (const member of members) {
    await waitFor(
      async () => !(await allowedAt(member.sasl)),
      `the ACL is gone on broker ${member.broker.nodeId}`,
    );
  }
});
