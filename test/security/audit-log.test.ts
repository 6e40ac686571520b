// The audit log (audit.log.file) against a real broker: a table of admin requests, each sent as a
// client sends it, must leave lines with the right API, resource, principal, listener, address
// and outcome; failed SASL exchanges (a wrong password, a bad token) leave one line each; and no
// password, salted password or token ever appears in the file.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import kafkajs from 'kafkajs';
import { type Broker, startBroker } from '../../src/broker.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import { type AuditEntry, AuditRequests } from '../../src/security/audit-log.js';
import { callBroker } from '../helpers/wire-client.js';
import { waitFor } from '../helpers/poll.js';
import {
  clientInitialResponse,
  makeSigningKey,
  signToken,
  testAudience,
  testIssuer,
  writeJwks,
} from './tokens.js';

const { Kafka, logLevel } = kafkajs;

interface AuditLine {
  time: string;
  principal: string;
  clientAddress: string;
  listener: string;
  clientId?: string | null;
  api: string;
  resource: { type: string; name: string } | null;
  outcome: 'success' | 'failure';
  error: string | null;
  details?: Record<string, unknown>;
}

let broker: Broker;
let directory: string;
let auditFile: string;
let plaintext: string;
let sasl: string;
const password = 'alice-password-never-logged';
const key = makeSigningKey('k1', 'RS256');

before(async () => {
  directory = mkdtempSync(join(tmpdir(), 'brook-audit-'));
  auditFile = join(directory, 'audit', 'audit.log');
  broker = await startBroker({
    logDirs: join(directory, 'logs'),
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    settings: {
      'audit.log.file': auditFile,
      'audit.log.topic': '_brook_audit',
      'sasl.enabled.mechanisms': 'PLAIN,SCRAM-SHA-256,OAUTHBEARER',
      'sasl.oauthbearer.jwks.endpoint.url': writeJwks(directory, [key]),
      'sasl.oauthbearer.expected.issuer': testIssuer,
      'sasl.oauthbearer.expected.audience': testAudience,
      'connection.failed.authentication.delay.ms': 0,
    },
  });
  const port = (name: string) => broker.listeners.find((listener) => listener.name === name)!.port;
  plaintext = `127.0.0.1:${port('PLAINTEXT')}`;
  sasl = `127.0.0.1:${port('SASL_PLAINTEXT')}`;
});

after(async () => {
  await broker?.stop();
  rmSync(directory, { recursive: true, force: true });
});

function auditLines(): AuditLine[] {
  if (!existsSync(auditFile)) return [];
  return readFileSync(auditFile, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditLine);
}

/** Waits for a line matching `predicate` among those written after `from` lines. */
async function lineAfter(
  from: number,
  predicate: (line: AuditLine) => boolean,
): Promise<AuditLine> {
  return waitFor(() => auditLines().slice(from).find(predicate), 'an audit line', {
    timeoutMs: 5000,
    intervalMs: 10,
  });
}

interface Row {
  readonly api: keyof typeof ApiKey;
  readonly version: number;
  readonly request: unknown;
  readonly resource: { type: string; name: string };
  readonly outcome: 'success' | 'failure';
  readonly error?: string;
}

test('each admin API leaves one line per resource with principal, address, listener, API, resource and outcome', async () => {
  const rows: Row[] = [
    {
      api: 'CreateTopics',
      version: 5,
      request: {
        topics: [
          {
            name: 'audited',
            numPartitions: 2,
            replicationFactor: 1,
            assignments: [],
            configs: [{ name: 'retention.ms', value: '60000' }],
          },
        ],
        timeoutMs: 10_000,
        validateOnly: false,
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'success',
    },
    {
      api: 'CreateTopics',
      version: 5,
      request: {
        topics: [
          { name: 'audited', numPartitions: 1, replicationFactor: 1, assignments: [], configs: [] },
        ],
        timeoutMs: 10_000,
        validateOnly: false,
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'failure',
      error: 'TOPIC_ALREADY_EXISTS',
    },
    {
      api: 'CreatePartitions',
      version: 2,
      request: {
        topics: [{ name: 'audited', count: 3, assignments: null }],
        timeoutMs: 10_000,
        validateOnly: false,
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'success',
    },
    {
      api: 'IncrementalAlterConfigs',
      version: 1,
      request: {
        resources: [
          {
            resourceType: 2,
            resourceName: 'audited',
            configs: [{ name: 'retention.ms', configOperation: 0, value: '120000' }],
          },
        ],
        validateOnly: false,
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'success',
    },
    {
      api: 'AlterConfigs',
      version: 1,
      request: {
        resources: [
          {
            resourceType: 2,
            resourceName: 'audited',
            configs: [{ name: 'cleanup.policy', value: 'delete' }],
          },
        ],
        validateOnly: false,
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'success',
    },
    {
      api: 'AlterClientQuotas',
      version: 1,
      request: {
        entries: [
          {
            entity: [{ entityType: 'client-id', entityName: 'noisy' }],
            ops: [{ key: 'producer_byte_rate', value: 1_048_576, remove: false }],
          },
        ],
        validateOnly: false,
      },
      resource: { type: 'client-quota', name: 'client-id=noisy' },
      outcome: 'success',
    },
    {
      api: 'OffsetCommit',
      version: 8,
      request: {
        groupId: 'audited-group',
        generationIdOrMemberEpoch: -1,
        memberId: '',
        groupInstanceId: null,
        topics: [
          {
            name: 'audited',
            partitions: [
              {
                partitionIndex: 0,
                committedOffset: 0n,
                committedLeaderEpoch: -1,
                committedMetadata: null,
              },
            ],
          },
        ],
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'success',
    },
    {
      api: 'OffsetDelete',
      version: 0,
      request: {
        groupId: 'audited-group',
        topics: [{ name: 'audited', partitions: [{ partitionIndex: 0 }] }],
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'success',
    },
    {
      api: 'DeleteGroups',
      version: 2,
      request: { groupsNames: ['audited-group'] },
      resource: { type: 'group', name: 'audited-group' },
      outcome: 'success',
    },
    {
      api: 'DeleteRecords',
      version: 2,
      request: {
        topics: [{ name: 'audited', partitions: [{ partitionIndex: 0, offset: 0n }] }],
        timeoutMs: 10_000,
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'success',
    },
    {
      api: 'ElectLeaders',
      version: 2,
      request: {
        electionType: 0,
        topicPartitions: [{ topic: 'audited', partitions: [0] }],
        timeoutMs: 10_000,
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'failure',
      error: 'ELECTION_NOT_NEEDED',
    },
    {
      api: 'AlterPartitionReassignments',
      version: 0,
      request: {
        timeoutMs: 10_000,
        topics: [{ name: 'audited', partitions: [{ partitionIndex: 0, replicas: [99] }] }],
      },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'failure',
    },
    {
      api: 'DeleteTopics',
      version: 4,
      request: { topicNames: ['audited'], timeoutMs: 10_000 },
      resource: { type: 'topic', name: 'audited' },
      outcome: 'success',
    },
  ];
  for (const row of rows) {
    const from = auditLines().length;
    await callBroker(plaintext, ApiKey[row.api], row.version, row.request);
    const line = await lineAfter(from, (candidate) => candidate.api === row.api);
    assert.deepEqual(line.resource, row.resource, row.api);
    assert.equal(line.outcome, row.outcome, `${row.api}: ${JSON.stringify(line)}`);
    if (row.error !== undefined) assert.equal(line.error, row.error, row.api);
    if (row.outcome === 'success') assert.equal(line.error, null, row.api);
    assert.equal(line.principal, 'User:ANONYMOUS', row.api);
    assert.equal(line.listener, 'PLAINTEXT', row.api);
    assert.match(line.clientAddress, /^127\.0\.0\.1:\d+$/, row.api);
    assert.equal(line.clientId, 'brook-test', row.api);
    assert.ok(!Number.isNaN(Date.parse(line.time)), row.api);
  }
  const created = auditLines().find((line) => line.api === 'CreateTopics')!;
  assert.deepEqual(created.details?.configs, { 'retention.ms': '60000' });

  // Requests that change nothing are not admin actions.
  const before = auditLines().length;
  await callBroker(plaintext, ApiKey.Metadata, 1, { topics: null });
  await callBroker(plaintext, ApiKey.DescribeConfigs, 1, {
    resources: [{ resourceType: 4, resourceName: '1', configurationKeys: null }],
    includeSynonyms: false,
  });
  assert.equal(auditLines().length, before);
});

test('an authenticated principal is recorded, and user changes never write a password or salted key', async () => {
  const admin = new AdminClient({
    bootstrapServer: plaintext,
    clientId: 'audit-admin',
    requestTimeoutMs: 10_000,
  });
  const from = auditLines().length;
  await admin.upsertUserScramCredential('alice', 'SCRAM-SHA-256', password);
  const line = await lineAfter(from, (candidate) => candidate.api === 'AlterUserScramCredentials');
  assert.deepEqual(line.resource, { type: 'user', name: 'alice' });
  assert.deepEqual(line.details, { upserted: ['SCRAM-SHA-256'], deleted: [] });

  // A topic created through kafkajs, authenticated as alice over SASL: her principal is recorded.
  const kafka = new Kafka({
    clientId: 'audit-kafkajs',
    brokers: [sasl],
    logLevel: logLevel.NOTHING,
    sasl: { mechanism: 'scram-sha-256', username: 'alice', password },
  });
  const kafkaAdmin = kafka.admin();
  await kafkaAdmin.connect();
  const beforeCreate = auditLines().length;
  await kafkaAdmin.createTopics({ topics: [{ topic: 'made-by-alice', numPartitions: 1 }] });
  await kafkaAdmin.disconnect();
  const created = await lineAfter(beforeCreate, (candidate) => candidate.api === 'CreateTopics');
  assert.equal(created.principal, 'User:alice');
  assert.equal(created.listener, 'SASL_PLAINTEXT');
  assert.deepEqual(created.resource, { type: 'topic', name: 'made-by-alice' });
  assert.equal(created.clientId, 'audit-kafkajs');
});

test('each failed authentication leaves one line, with neither the password nor the token', async () => {
  const from = auditLines().length;
  await assert.rejects(
    KafkaConnection.open(sasl, {
      clientId: 'wrong-password',
      sasl: { mechanism: 'PLAIN', username: 'alice', password: 'not-her-password' },
      requestTimeoutMs: 10_000,
    }),
  );
  const failedPlain = await lineAfter(from, (line) => line.api === 'SaslAuthenticate');
  assert.equal(failedPlain.outcome, 'failure');
  assert.equal(failedPlain.listener, 'SASL_PLAINTEXT');
  assert.match(failedPlain.error ?? '', /PLAIN/);

  const expired = signToken(key, { expiresInSeconds: -600 }).token;
  const kafka = new Kafka({
    clientId: 'bad-token',
    brokers: [sasl],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    sasl: { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: expired }) },
  });
  const producer = kafka.producer();
  const beforeToken = auditLines().length;
  await assert.rejects(producer.connect());
  await producer.disconnect();
  const failedToken = await lineAfter(beforeToken, (line) => line.api === 'SaslAuthenticate');
  assert.match(failedToken.error ?? '', /OAUTHBEARER.*expired/);
  assert.ok(clientInitialResponse(expired).length > 0);

  const text = readFileSync(auditFile, 'utf8');
  for (const secret of [password, 'not-her-password', expired, expired.split('.')[2]]) {
    assert.ok(!text.includes(secret), 'a secret reached the audit log');
  }
  // The salted password and salt AlterUserScramCredentials carried are bytes; neither their
  // base64 nor hex form may appear either: the line holds mechanism names only.
  assert.doesNotMatch(text, /saltedPassword|"salt"/);
});

test('a response refused authorization leaves a line naming the error, whatever the API (the authorizer needs no audit code of its own)', () => {
  const recorded: AuditEntry[] = [];
  const requests = new AuditRequests({ record: (entry) => recorded.push(entry) });
  const context = {
    principal: 'User:mallory',
    remoteAddress: '10.0.0.9',
    remotePort: 40000,
    listenerName: 'SASL_SSL',
    clientId: 'probe',
    apiKey: ApiKey.Produce,
  };
  requests.requestAnswered(
    context,
    {},
    {
      responses: [
        {
          name: 'orders',
          partitionResponses: [
            { index: 0, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
            { index: 1, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED },
          ],
        },
      ],
    },
  );
  requests.requestAnswered(
    { ...context, apiKey: ApiKey.Fetch },
    {},
    { errorCode: 0, responses: [] },
  );
  assert.deepEqual(recorded, [
    {
      principal: 'User:mallory',
      clientAddress: '10.0.0.9:40000',
      listener: 'SASL_SSL',
      clientId: 'probe',
      api: 'Produce',
      resource: null,
      outcome: 'failure',
      error: 'TOPIC_AUTHORIZATION_FAILED',
    },
  ]);
});

test('audit.log.topic gets the same lines as the file, readable by any consumer', async () => {
  const from = auditLines().length;
  await callBroker(plaintext, ApiKey.DeleteGroups, 2, { groupsNames: ['no-such-group'] });
  const inFile = await lineAfter(from, (line) => line.api === 'DeleteGroups');
  const kafka = new Kafka({
    clientId: 'audit-reader',
    brokers: [plaintext],
    logLevel: logLevel.NOTHING,
  });
  const consumer = kafka.consumer({ groupId: 'audit-reader' });
  await consumer.connect();
  await consumer.subscribe({ topic: '_brook_audit', fromBeginning: true });
  const read: AuditLine[] = [];
  void consumer.run({
    eachMessage: async ({ message }) => {
      read.push(JSON.parse(message.value!.toString()) as AuditLine);
    },
  });
  try {
    await waitFor(
      () => read.some((line) => line.time === inFile.time && line.api === 'DeleteGroups'),
      'the lines on the topic',
      {
        timeoutMs: 30_000,
      },
    );
  } finally {
    await consumer.disconnect();
  }
  const onTopic = read.find((line) => line.time === inFile.time && line.api === 'DeleteGroups');
  assert.deepEqual(onTopic, inFile, 'the topic holds the very line the file holds');
});

test('a topic created from the web console leaves the same audit line as one from a Kafka client', async (t) => {
  const consoleDirectory = mkdtempSync(join(tmpdir(), 'brook-audit-console-'));
  const consoleAuditFile = join(consoleDirectory, 'audit.log');
  const consoleBroker = await startBroker({
    logDirs: join(consoleDirectory, 'logs'),
    settings: {
      'audit.log.file': consoleAuditFile,
      'http.listeners': 'http://127.0.0.1:0',
      'console.writes.enabled': true,
    },
  });
  t.after(async () => {
    await consoleBroker.stop();
    rmSync(consoleDirectory, { recursive: true, force: true });
  });
  const response = await fetch(
    `http://127.0.0.1:${consoleBroker.httpListeners[0].port}/ui/api/topics`,
    { method: 'POST', body: JSON.stringify({ name: 'made-in-console', partitions: 2 }) },
  );
  assert.equal(response.status, 200, await response.text());
  const line = await waitFor(
    () =>
      existsSync(consoleAuditFile)
        ? readFileSync(consoleAuditFile, 'utf8')
            .split('\n')
            .filter((text) => text !== '')
            .map((text) => JSON.parse(text) as AuditLine)
            .find((entry) => entry.api === 'CreateTopics')
        : undefined,
    "the console's CreateTopics line",
    { timeoutMs: 5000, intervalMs: 10 },
  );
  assert.deepEqual(
    {
      listener: line.listener,
      clientId: line.clientId,
      resource: line.resource,
      outcome: line.outcome,
      partitions: line.details?.partitions,
    },
    {
      listener: 'HTTP',
      clientId: 'brook-console',
      resource: { type: 'topic', name: 'made-in-console' },
      outcome: 'success',
      partitions: 2,
    },
  );
});
