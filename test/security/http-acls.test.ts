// The HTTP side under authorizer.enabled: callers authenticate with HTTP Basic against the SCRAM
// credentials (none: User:ANONYMOUS), and the push API and the console's JSON routes check the
// same ACLs as the Kafka APIs they mirror. Real HTTP requests against a real broker.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { AclOperation, ResourceType } from '../../src/security/acl.js';
import { allowed } from '../helpers/acls.js';
import { listenerAddress } from '../helpers/sasl.js';

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

const users = { admin: 'admin-secret', alice: 'alice-secret', bob: 'bob-secret' } as const;
type User = keyof typeof users;

/** A broker with the authorizer on and users admin (super user), alice and bob; ACLs none yet. */
async function startSecuredBroker(
  t: { after(fn: () => Promise<void>): void },
  settings: Record<string, string> = {},
) {
  const logDirs = mkdtempSync(join(tmpdir(), 'brook-http-acls-'));
  const listeners = 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0';
  // The users are made before the authorizer is on, as `brook users create --log-dirs` would.
  const setup = await startBroker({ logDirs, listeners });
  const setupAdmin = new AdminClient({
    bootstrapServer: listenerAddress(setup, 'PLAINTEXT'),
    clientId: 'setup',
    requestTimeoutMs: 10_000,
  });
  for (const [user, password] of Object.entries(users)) {
    await setupAdmin.upsertUserScramCredential(user, 'SCRAM-SHA-256', password);
  }
  await setup.stop();
  const broker = await startBroker({
    logDirs,
    listeners,
    settings: {
      'authorizer.enabled': true,
      'super.users': 'User:admin',
      'http.listeners': 'http://127.0.0.1:0',
      'console.writes.enabled': true,
      ...settings,
    },
  });
  t.after(async () => {
    await broker.stop();
    rmSync(logDirs, { recursive: true, force: true });
  });
  const admin = new AdminClient({
    bootstrapServer: listenerAddress(broker, 'SASL_PLAINTEXT'),
    clientId: 'admin',
    requestTimeoutMs: 10_000,
    security: {
      sasl: { mechanism: 'SCRAM-SHA-256', username: 'admin', password: users.admin },
    },
  });
  for (const name of ['orders', 'secret']) {
    await admin.createTopic(
      { name, partitions: 1, replicationFactor: 1, configs: new Map() },
      10_000,
      false,
    );
  }
  const base = `http://127.0.0.1:${broker.httpListeners[0].port}`;
  const call = async (
    method: string,
    path: string,
    as: User | 'anonymous' | { user: string; password: string },
    body?: unknown,
  ): Promise<Answer> => {
    const headers: Record<string, string> = {};
    if (as !== 'anonymous') {
      const { user, password } = typeof as === 'string' ? { user: as, password: users[as] } : as;
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    }
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? null : JSON.parse(text),
    };
  };
  const allow = (
    principal: string,
    resourceType: ResourceType,
    resourceName: string,
    operation: AclOperation,
  ) => admin.createAcls([allowed(principal, resourceType, resourceName, operation)]);
  /** The status a WebSocket upgrade is answered with (101 when it opens). */
  const upgradeStatus = (path: string, as: User | { user: string; password: string }) =>
    new Promise<number>((resolve, reject) => {
      const { user, password } = typeof as === 'string' ? { user: as, password: users[as] } : as;
      const socket = new WebSocket(`ws://127.0.0.1:${broker.httpListeners[0].port}${path}`, {
        headers: {
          authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
        },
      });
      socket.on('open', () => {
        socket.close();
        resolve(101);
      });
      socket.on('unexpected-response', (_request, response) => {
        resolve(response.statusCode ?? 0);
        socket.terminate();
      });
      socket.on('error', (error) => reject(error));
    });
  return { broker, admin, call, allow, upgradeStatus, logDirs };
}

function endOffset(admin: AdminClient, topic: string): Promise<bigint> {
  return admin.listOffset({ topic, partition: 0, timestamp: -1n });
}

test('HTTP produce needs Topic Write for the Basic-authenticated principal; anonymous and wrong passwords are refused, and nothing is written', async (t) => {
  const auditDirectory = mkdtempSync(join(tmpdir(), 'brook-http-audit-'));
  t.after(async () => rmSync(auditDirectory, { recursive: true, force: true }));
  const auditFile = join(auditDirectory, 'audit.log');
  const { admin, call, allow } = await startSecuredBroker(t, { 'audit.log.file': auditFile });
  await allow('User:alice', ResourceType.TOPIC, 'orders', AclOperation.WRITE);
  const records = { records: [{ value: 'one' }] };

  const anonymous = await call('POST', '/v1/topics/orders/records', 'anonymous', records);
  assert.equal(anonymous.status, 403, JSON.stringify(anonymous.body));
  assert.equal(anonymous.body.code, 'forbidden');
  assert.match(anonymous.body.detail, /User:ANONYMOUS may not write to topic orders/);

  const wrong = await call(
    'POST',
    '/v1/topics/orders/records',
    { user: 'alice', password: 'wrong' },
    records,
  );
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic realm="brook"/);
  assert.equal(wrong.body.error, 'invalid user name or password');
  const unknown = await call(
    'POST',
    '/v1/topics/orders/records',
    { user: 'mallory', password: 'x' },
    records,
  );
  assert.deepEqual(unknown.body, wrong.body, 'an unknown user reads as a wrong password');

  assert.equal((await call('POST', '/v1/topics/secret/records', 'alice', records)).status, 403);
  assert.equal((await call('POST', '/v1/topics/orders/records', 'bob', records)).status, 403);
  assert.equal(await endOffset(admin, 'orders'), 0n);
  assert.equal(await endOffset(admin, 'secret'), 0n);

  const allowed = await call('POST', '/v1/topics/orders/records', 'alice', records);
  assert.equal(allowed.status, 200, JSON.stringify(allowed.body));
  // Again, answered from the remembered verification.
  assert.equal((await call('POST', '/v1/topics/orders/records', 'alice', records)).status, 200);
  assert.equal(await endOffset(admin, 'orders'), 2n);
  assert.equal(await endOffset(admin, 'secret'), 0n);

  // A changed password takes effect at the next request.
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', 'new-secret');
  assert.equal((await call('POST', '/v1/topics/orders/records', 'alice', records)).status, 401);
  const renewed = await call(
    'POST',
    '/v1/topics/orders/records',
    { user: 'alice', password: 'new-secret' },
    records,
  );
  assert.equal(renewed.status, 200);

  // Each refusal is an audit line, never with the password.
  const audit = readFileSync(auditFile, 'utf8');
  const lines = audit
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.listener === 'HTTP');
  assert.ok(
    lines.some(
      (line) =>
        line.principal === 'User:ANONYMOUS' &&
        line.error === 'TOPIC_AUTHORIZATION_FAILED' &&
        JSON.stringify(line.resource) === JSON.stringify({ type: 'topic', name: 'orders' }),
    ),
    audit,
  );
  assert.ok(
    lines.some(
      (line) =>
        line.principal === 'User:alice' &&
        line.api === 'HttpBasicAuthentication' &&
        line.error === 'invalid user name or password',
    ),
    audit,
  );
  assert.doesNotMatch(audit, /alice-secret|new-secret|wrong/);
});

test('subscriptions need Group Read on their name and Topic Read on their topic; listing shows what Group Describe allows', async (t) => {
  const { call, allow, upgradeStatus } = await startSecuredBroker(t);
  const put = () => call('PUT', '/v1/subscriptions/orders-sub', 'alice', { topic: 'orders' });
  assert.equal((await put()).status, 403);
  await allow('User:alice', ResourceType.GROUP, 'orders-sub', AclOperation.READ);
  assert.equal((await put()).status, 403, 'Group Read alone is not enough');
  await allow('User:alice', ResourceType.TOPIC, 'orders', AclOperation.READ);
  const created = await put();
  assert.equal(created.status, 201, JSON.stringify(created.body));

  assert.deepEqual((await call('GET', '/v1/subscriptions', 'alice')).body.subscriptions, [
    'orders-sub',
  ]);
  assert.deepEqual((await call('GET', '/v1/subscriptions', 'bob')).body.subscriptions, []);
  assert.equal((await call('GET', '/v1/subscriptions/orders-sub', 'bob')).status, 403);
  assert.equal((await call('GET', '/v1/subscriptions/orders-sub', 'alice')).status, 200);
  const acks = { ack: ['0:0'] };
  assert.equal((await call('POST', '/v1/subscriptions/orders-sub/acks', 'bob', acks)).status, 403);
  const events = await call('GET', '/v1/subscriptions/orders-sub/events', 'anonymous');
  assert.equal(events.status, 403);
  assert.equal(await upgradeStatus('/v1/subscriptions/orders-sub/ws', 'bob'), 403);
  assert.equal(
    await upgradeStatus('/v1/subscriptions/orders-sub/ws', { user: 'bob', password: 'wrong' }),
    401,
  );
  assert.equal(await upgradeStatus('/v1/subscriptions/orders-sub/ws', 'alice'), 101);

  assert.equal((await call('DELETE', '/v1/subscriptions/orders-sub', 'alice')).status, 403);
  await allow('User:alice', ResourceType.GROUP, 'orders-sub', AclOperation.DELETE);
  assert.equal((await call('DELETE', '/v1/subscriptions/orders-sub', 'alice')).status, 204);
});

test('the console lists, browses and changes only what the caller ACLs allow', async (t) => {
  const { admin, call, allow } = await startSecuredBroker(t);
  await allow('User:alice', ResourceType.TOPIC, 'orders', AclOperation.READ);
  await allow('User:alice', ResourceType.TOPIC, 'orders', AclOperation.WRITE);

  const names = async (as: User | 'anonymous') =>
    ((await call('GET', '/ui/api/topics', as)).body as { name: string }[]).map(
      (topic) => topic.name,
    );
  assert.deepEqual(await names('anonymous'), []);
  assert.deepEqual(await names('alice'), ['orders']);
  assert.deepEqual(await names('admin'), [
    '__consumer_offsets',
    '__share_group_state',
    '__transaction_state',
    'orders',
    'secret',
  ]);

  const produce = (topic: string) =>
    call('POST', '/ui/api/produce', 'alice', { topic, value: 'from the console' });
  assert.equal((await produce('orders')).status, 200);
  const refused = await produce('secret');
  assert.equal(refused.status, 403);
  assert.equal(refused.body.title, 'TOPIC_AUTHORIZATION_FAILED');
  assert.equal(await endOffset(admin, 'secret'), 0n);

  const browse = (as: User) => call('GET', '/ui/api/messages?topic=orders&partition=0', as);
  assert.equal((await browse('alice')).body.records.length, 1);
  assert.equal((await browse('bob')).status, 403);
  assert.equal((await call('GET', '/ui/api/history', 'alice')).status, 403);

  const create = (as: User) => call('POST', '/ui/api/topics', as, { name: 'made-here' });
  assert.equal((await create('alice')).status, 403);
  assert.equal((await create('admin')).status, 200);
  const remove = (as: User) => call('POST', '/ui/api/topics/delete', as, { name: 'orders' });
  assert.equal((await remove('alice')).status, 403);
  assert.deepEqual(await names('alice'), ['orders']);
});

test('without authorizer.enabled the HTTP side is open and ignores credentials, as before', async (t) => {
  const broker: Broker = await startBroker({
    settings: { 'http.listeners': 'http://127.0.0.1:0', 'auto.create.topics.enable': true },
  });
  t.after(() => broker.stop());
  const answer = await fetch(
    `http://127.0.0.1:${broker.httpListeners[0].port}/v1/topics/open/records`,
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from('nobody:nothing').toString('base64')}`,
      },
      body: JSON.stringify({ records: [{ value: 'x' }] }),
    },
  );
  assert.notEqual(answer.status, 401);
  assert.notEqual(answer.status, 403);
});
