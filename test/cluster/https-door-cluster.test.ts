// The HTTP door over HTTPS in cluster mode: a broker that does not serve a subscription redirects
// (307) to the HTTPS listener of the one that does, not to a plain HTTP one, and GET
// /v1/subscriptions on any broker asks the others over HTTPS, trusting the CA of its own HTTPS
// listener (ssl.truststore.location), so the list is the whole cluster's. Two in-process brokers
// on one etcd, each with only an https:// address in http.listeners; certificates made fresh by
// openssl; real HTTPS requests.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { type Broker, startBroker } from '../../src/broker.js';
import { partitionForKey } from '../../src/client/partitioner.js';
import { startEtcd, uniquePrefix, waitFor } from '../helpers/etcd.js';
import { makeTestCertificates, type TestCertificates } from '../security/certificates.js';
import { type Json, createTopic } from '../share/push-helpers.js';

const etcd = await startEtcd();
let certificates: TestCertificates;
let certificateDirectory: string;

before(() => {
  certificateDirectory = mkdtempSync(join(tmpdir(), 'brook-https-door-'));
  certificates = makeTestCertificates(certificateDirectory);
});
after(() => rmSync(certificateDirectory, { recursive: true, force: true }));

const STATE_PARTITIONS = 2;

async function startHttpsBrokers(): Promise<Broker[]> {
  const prefix = uniquePrefix();
  const brokers: Broker[] = [];
  for (const id of [1, 2]) {
    const broker = await startBroker({
      settings: {
        'etcd.endpoints': etcd.endpoint,
        'etcd.prefix': prefix,
        'node.id': id,
        'broker.session.timeout.ms': 3000,
        'auto.leader.rebalance.enable': false,
        'offsets.topic.replication.factor': 1,
        'share.state.topic.num.partitions': STATE_PARTITIONS,
        'http.listeners': 'https://127.0.0.1:0',
        'ssl.keystore.location': certificates.serverKeystoreLocation,
        'ssl.truststore.location': certificates.caLocation,
      },
    });
    after(() => broker.stop());
    brokers.push(broker);
  }
  return brokers;
}

function httpsPortOf(broker: Broker): number {
  const [listener] = broker.httpListeners;
  assert.ok(listener, 'the broker has an HTTPS listener');
  return listener.port;
}

interface Answer {
  readonly status: number;
  readonly location: string | undefined;
  readonly body: Json;
}

/** One HTTPS request trusting the test CA; redirects are not followed. */
function httpsCall(url: string, method = 'GET', body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const request = httpsRequest(
      url,
      {
        method,
        ca: readFileSync(certificates.caLocation),
        agent: false,
        headers: text === undefined ? {} : { 'content-type': 'application/json' },
        timeout: 10_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: response.statusCode ?? 0,
            location: response.headers.location,
            body: raw === '' ? null : (JSON.parse(raw) as Json),
          });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${url}: no answer in 10 s`)));
    request.on('error', reject);
    request.end(text);
  });
}

test('over HTTPS, a subscription moved elsewhere is redirected to the HTTPS listener serving it, and the list is the whole cluster', async () => {
  const brokers = await startHttpsBrokers();
  const base = (index: number): string => `https://127.0.0.1:${httpsPortOf(brokers[index])}`;
  await createTopic(
    { bootstrapServers: brokers.map((broker) => broker.bootstrapServers).join(',') },
    'secure-tasks',
    2,
  );

  // One subscription per state partition, created through broker 1 (following its redirect).
  const names: string[] = [];
  for (let candidate = 0; names.length < STATE_PARTITIONS; candidate += 1) {
    const name = `secure-${candidate}`;
    const statePartition = partitionForKey(Buffer.from(name), STATE_PARTITIONS);
    if (
      names.some(
        (other) => partitionForKey(Buffer.from(other), STATE_PARTITIONS) === statePartition,
      )
    )
      continue;
    names.push(name);
    await waitFor(
      async () => {
        let answer = await httpsCall(`${base(0)}/v1/subscriptions/${name}`, 'PUT', {
          topic: 'secure-tasks',
        });
        if (answer.status === 307 && answer.location !== undefined)
          answer = await httpsCall(answer.location, 'PUT', { topic: 'secure-tasks' });
        return answer.status === 201 && answer;
      },
      `${name} created once its state partition is loaded`,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
  }

  // Who serves each: the broker that answers it 200 itself.
  const servedBy = new Map<string, number>();
  for (const name of names) {
    const owner = await waitFor(
      async () => {
        for (const index of [0, 1]) {
          const answer = await httpsCall(`${base(index)}/v1/subscriptions/${name}`);
          if (answer.status === 200) return index;
        }
        return undefined;
      },
      `a broker serving ${name}`,
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    servedBy.set(name, owner);
  }
  assert.deepEqual(
    new Set(servedBy.values()),
    new Set([0, 1]),
    'each broker serves one of the subscriptions (one state partition each)',
  );

  for (const name of names) {
    const owner = servedBy.get(name)!;
    const other = 1 - owner;
    // The other broker redirects to the owner's HTTPS listener, query kept.
    const redirected = await httpsCall(`${base(other)}/v1/subscriptions/${name}?x=1`);
    assert.equal(redirected.status, 307, JSON.stringify(redirected.body));
    assert.equal(redirected.location, `${base(owner)}/v1/subscriptions/${name}?x=1`);
    assert.equal(redirected.body.code, 'subscription-moved');
    // And the location answers over HTTPS with the subscription.
    const followed = await httpsCall(redirected.location!);
    assert.equal(followed.status, 200);
    assert.equal(followed.body.name, name);
  }

  // Each broker lists both, asking the other over HTTPS (its certificate checked against the CA).
  const expected = {
    subscriptions: [...names].sort(),
    servedBy: Object.fromEntries(
      [...servedBy]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, index]) => [name, index + 1]),
    ),
    unreachable: [],
    unavailable: [],
  };
  for (const index of [0, 1]) {
    const listed = await httpsCall(`${base(index)}/v1/subscriptions`);
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body, expected, `as broker ${index + 1} lists them over HTTPS`);
  }
});
