// What the authorizer costs a produce request with 1,000 ACLs defined (issue 11: at most 5% more
// CPU per produce request). Two in-process brokers, one with authorizer.enabled=false and one with
// it on and 1,000 ACLs (literal and prefixed topic ACLs of many users, group ACLs, and the
// producer's own prefixed Write ACL among them), take the same produce requests (one 1 KiB record,
// acks=1, 64 in flight) in alternating rounds; the process's CPU time per request is compared.
// The authorizer's own check is also timed alone, as the share of a produce request it is.
//
//   npm run bench:acl        (BENCH_QUICK=1 for a short smoke run)

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Broker, startBroker } from '../src/broker.js';
import { AdminClient } from '../src/client/admin-client.js';
import { KafkaConnection } from '../src/client/kafka-connection.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import type { ProduceResponse } from '../src/protocol/generated/produce.js';
import { buildBatch } from '../src/record/records.js';
import { authorizeRequests } from '../src/handlers/shared/authorization.js';
import type { AnyHandler } from '../src/handlers/registry.js';
import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  Authorizer,
  MemoryAclStore,
  PatternType,
  ResourceType,
} from '../src/security/index.js';

const quick = process.env.BENCH_QUICK === '1';
const requestsPerRound = quick ? 2_000 : 20_000;
const rounds = quick ? 2 : 6;
const inFlight = 64;
const aclCount = 1_000;

/** 1,000 ACLs, the producer's (User:ANONYMOUS Write on the prefix "bench") among them. */
function thousandAcls(): AclBinding[] {
  const acls: AclBinding[] = [];
  const allow = (overrides: Partial<AclBinding>): AclBinding => ({
    resourceType: ResourceType.TOPIC,
    resourceName: 'x',
    patternType: PatternType.LITERAL,
    principal: 'User:x',
    host: '*',
    operation: AclOperation.READ,
    permissionType: AclPermissionType.ALLOW,
    ...overrides,
  });
  acls.push(
    allow({
      resourceName: 'bench',
      patternType: PatternType.PREFIXED,
      principal: 'User:ANONYMOUS',
      operation: AclOperation.WRITE,
    }),
  );
  for (let index = 0; acls.length < aclCount; index++) {
    const user = `User:user-${index % 97}`;
    const kind = index % 4;
    if (kind === 0) acls.push(allow({ resourceName: `topic-${index}`, principal: user }));
    else if (kind === 1) {
      acls.push(
        allow({
          resourceName: `tenant-${index}.`,
          patternType: PatternType.PREFIXED,
          principal: user,
          operation: AclOperation.WRITE,
        }),
      );
    } else if (kind === 2) {
      acls.push(
        allow({
          resourceType: ResourceType.GROUP,
          resourceName: `group-${index}`,
          principal: user,
        }),
      );
    } else {
      acls.push(
        allow({
          resourceName: `topic-${index}`,
          principal: user,
          permissionType: AclPermissionType.DENY,
          operation: AclOperation.WRITE,
        }),
      );
    }
  }
  return acls;
}

async function createBenchTopic(broker: Broker): Promise<AdminClient> {
  const admin = new AdminClient({
    bootstrapServer: `127.0.0.1:${broker.listeners[0].port}`,
    clientId: 'bench',
    requestTimeoutMs: 30_000,
  });
  await admin.createTopic(
    { name: 'bench', partitions: 1, replicationFactor: -1, configs: new Map() },
    30_000,
    false,
  );
  return admin;
}

const directory = mkdtempSync(join(tmpdir(), 'brook-acl-bench-'));
try {
  const off = await startBroker({
    logDirs: join(directory, 'off'),
    listeners: 'PLAINTEXT://127.0.0.1:0',
  });
  // The ACLs are written while ANONYMOUS is a super user, then the broker restarts without super
  // users, so the producer (User:ANONYMOUS) goes through the index like any principal.
  const setup = await startBroker({
    logDirs: join(directory, 'on'),
    listeners: 'PLAINTEXT://127.0.0.1:0',
    settings: { 'authorizer.enabled': true, 'super.users': 'User:ANONYMOUS' },
  });
  const setupAdmin = await createBenchTopic(setup);
  await setupAdmin.createAcls(thousandAcls());
  setupAdmin.close();
  await setup.stop();
  const on = await startBroker({
    logDirs: join(directory, 'on'),
    listeners: 'PLAINTEXT://127.0.0.1:0',
    settings: { 'authorizer.enabled': true },
  });
  try {
    (await createBenchTopic(off)).close();
    const offConnection = await KafkaConnection.open(`127.0.0.1:${off.listeners[0].port}`, {
      clientId: 'bench-producer',
      requestTimeoutMs: 30_000,
    });
    const onConnection = await KafkaConnection.open(`127.0.0.1:${on.listeners[0].port}`, {
      clientId: 'bench-producer',
      requestTimeoutMs: 30_000,
    });
    const batch = await buildBatch({ records: [{ key: null, value: Buffer.alloc(1024, 1) }] });
    const request = {
      transactionalId: null,
      acks: 1,
      timeoutMs: 30_000,
      topicData: [{ name: 'bench', partitionData: [{ index: 0, records: batch }] }],
    };
    /** CPU microseconds (user + system) of this process per produce request. */
    const round = async (connection: KafkaConnection): Promise<number> => {
      const before = process.cpuUsage();
      let sent = 0;
      const worker = async () => {
        while (sent < requestsPerRound) {
          sent++;
          const response = await connection.request<ProduceResponse>(ApiKey.Produce, 9, request);
          const errorCode = response.responses[0].partitionResponses[0].errorCode;
          if (errorCode !== 0) throw new Error(`produce failed with error ${errorCode}`);
        }
      };
      await Promise.all(Array.from({ length: inFlight }, worker));
      const used = process.cpuUsage(before);
      return (used.user + used.system) / requestsPerRound;
    };
    await round(offConnection);
    await round(onConnection);
    const offFigures: number[] = [];
    const onFigures: number[] = [];
    // Alternating which goes first, so neither gains from following the other.
    for (let index = 0; index < rounds; index++) {
      if (index % 2 === 0) {
        offFigures.push(await round(offConnection));
        onFigures.push(await round(onConnection));
      } else {
        onFigures.push(await round(onConnection));
        offFigures.push(await round(offConnection));
      }
    }
    offConnection.close();
    onConnection.close();
    const median = (values: number[]) =>
      [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const offCpu = median(offFigures);
    const onCpu = median(onFigures);

    // The check alone, as the Produce guard makes it: one per topic of the request.
    const authorizer = new Authorizer(
      { superUsers: [], allowEveryoneIfNoAclFound: false },
      new MemoryAclStore(thousandAcls()),
    );
    const subject = { principal: 'User:ANONYMOUS', remoteAddress: '127.0.0.1' };
    const checks = 1_000_000;
    const checkStart = process.cpuUsage();
    for (let index = 0; index < checks; index++) {
      if (!authorizer.authorize(subject, AclOperation.WRITE, ResourceType.TOPIC, 'bench'))
        throw new Error('denied');
    }
    const checkUsed = process.cpuUsage(checkStart);
    const checkCpu = (checkUsed.user + checkUsed.system) / checks;

    // The whole authorization layer as a produce request meets it: the guard wrapped around a
    // handler that does nothing, against that handler alone.
    const bare: AnyHandler = {
      apiKey: ApiKey.Produce,
      minVersion: 0,
      maxVersion: 11,
      handle: () => 0,
    };
    const guarded = authorizeRequests(bare, {
      authorizer,
      topicNameById: () => undefined,
      topicExists: () => true,
    });
    const context = {
      ...subject,
      connectionId: 1,
      listenerName: 'PLAINTEXT',
      remotePort: 1,
      clientId: 'bench',
      apiKey: ApiKey.Produce,
      apiVersion: 9,
      correlationId: 1,
      signal: new AbortController().signal,
    };
    const layerCpu = (handler: AnyHandler): number => {
      const started = process.cpuUsage();
      for (let index = 0; index < checks; index++) handler.handle(request, context);
      const used = process.cpuUsage(started);
      return (used.user + used.system) / checks;
    };
    layerCpu(guarded);
    const guardCpu = layerCpu(guarded) - layerCpu(bare);

    console.log(
      `produce requests: ${rounds} rounds of ${requestsPerRound}, 1 KiB record, acks=1, ${inFlight} in flight`,
    );
    console.log(
      `CPU per produce request, authorizer off:             ${offCpu.toFixed(1)} µs (rounds: ${offFigures.map((v) => v.toFixed(1)).join(', ')})`,
    );
    console.log(
      `CPU per produce request, authorizer on, 1,000 ACLs:  ${onCpu.toFixed(1)} µs (rounds: ${onFigures.map((v) => v.toFixed(1)).join(', ')})`,
    );
    console.log(`ratio on/off: ${(onCpu / offCpu).toFixed(3)} (issue 11: at most 1.05)`);
    console.log(
      `the authorization layer per produce request (guard + check): ${(guardCpu * 1000).toFixed(0)} ns = ${((guardCpu / offCpu) * 100).toFixed(2)}% of a produce request's CPU`,
    );
    console.log(
      `one authorization check with 1,000 ACLs: ${(checkCpu * 1000).toFixed(0)} ns = ${((checkCpu / offCpu) * 100).toFixed(2)}% of a produce request's CPU`,
    );
  } finally {
    await on.stop();
    await off.stop();
  }
} finally {
  rmSync(directory, { recursive: true, force: true });
}
