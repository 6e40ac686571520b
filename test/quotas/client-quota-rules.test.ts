// The arithmetic and precedence of client quotas, on a fake clock: exact figures, no broker.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import type { RequestContext } from '../../src/handlers/registry.js';
import { ApiKey } from '../../src/protocol/generated/index.js';
import {
  ClientQuotas,
  type StoredClientQuota,
  quotaUserOf,
} from '../../src/quota/client-quotas.js';
import { EntityType, type QuotaEntity } from '../../src/quota/quota-entity.js';
import { SampledRate } from '../../src/quota/sampled-rate.js';

function entity(user?: string | null, clientId?: string | null): QuotaEntity {
  const result = new Map<EntityType, string | null>();
  if (user !== undefined) result.set(EntityType.USER, user);
  if (clientId !== undefined) result.set(EntityType.CLIENT_ID, clientId);
  return result;
}

function memoryStore(): {
  stored: StoredClientQuota[];
  clientQuotas(): StoredClientQuota[];
  setClientQuotas(q: readonly StoredClientQuota[]): Promise<void>;
} {
  const store = {
    stored: [] as StoredClientQuota[],
    clientQuotas: () => store.stored,
    setClientQuotas: async (quotas: readonly StoredClientQuota[]) => {
      store.stored = [...quotas];
    },
  };
  return store;
}

function context(principal: string, clientId: string | null, apiKey: number): RequestContext {
  return {
    connectionId: 1,
    listenerName: 'PLAINTEXT',
    remoteAddress: '127.0.0.1',
    remotePort: 1,
    clientId,
    apiKey,
    apiVersion: 0,
    correlationId: 0,
    principal,
    signal: new AbortController().signal,
  };
}

test('a sampled rate divides by at least n-1 windows and throttles until the time covers the total', () => {
  const rate = new SampledRate({ windowCount: 11, windowMs: 1000 });
  rate.record(2000, 0);
  // 2000 over the minimum 10 s: 200/s.
  assert.equal(rate.perSecond(0), 200);
  assert.equal(rate.throttleTimeMs(200, 0), 0);
  // Against 100/s, 2000 needs 20 s, and none has elapsed yet.
  assert.equal(rate.throttleTimeMs(100, 0), 20_000);
  // A sample older than 11 windows is forgotten.
  assert.equal(rate.perSecond(11_000), 0);
  // Past the padding this is Kafka's formula: 1100 over 10.5 s against 100/s is 104.76/s,
  // 4.76% over for 10.5 s: 500 ms.
  const steady = new SampledRate({ windowCount: 11, windowMs: 1000 });
  for (let second = 0; second <= 10; second++) steady.record(100, second * 1000);
  assert.equal(steady.throttleTimeMs(100, 10_500), 500);
});

test("quotas apply in Kafka's precedence, first match per key, and are shared as Kafka shares them", async () => {
  const quotas = new ClientQuotas(memoryStore(), { windowCount: 11, windowMs: 1000 }, () => 0);
  await quotas.alter([
    { entity: entity(undefined, null), changes: [{ key: 'producer_byte_rate', value: 1 }] },
    { entity: entity(undefined, 'app'), changes: [{ key: 'producer_byte_rate', value: 2 }] },
    { entity: entity(null), changes: [{ key: 'producer_byte_rate', value: 3 }] },
    { entity: entity(null, null), changes: [{ key: 'producer_byte_rate', value: 4 }] },
    { entity: entity('alice'), changes: [{ key: 'producer_byte_rate', value: 5 }] },
    { entity: entity('alice', 'app'), changes: [{ key: 'consumer_byte_rate', value: 6 }] },
  ]);
  // alice/app: no user+client producer quota, no user+<default> one: user=alice.
  assert.deepEqual(quotas.quotaFor('producer_byte_rate', 'alice', 'app'), {
    bound: 5,
    budget: 'alice\u0000',
  });
  assert.deepEqual(quotas.quotaFor('consumer_byte_rate', 'alice', 'app'), {
    bound: 6,
    budget: 'alice\u0000app',
  });
  // bob/app: user=<default>,client-id=<default> comes before user=<default> alone.
  assert.deepEqual(quotas.quotaFor('producer_byte_rate', 'bob', 'app'), {
    bound: 4,
    budget: 'bob\u0000app',
  });
  await quotas.alter([
    { entity: entity(null, null), changes: [{ key: 'producer_byte_rate', value: null }] },
  ]);
  assert.deepEqual(quotas.quotaFor('producer_byte_rate', 'bob', 'app'), {
    bound: 3,
    budget: 'bob\u0000',
  });
  await quotas.alter([
    { entity: entity(null), changes: [{ key: 'producer_byte_rate', value: null }] },
  ]);
  // No user quota left for bob: client-id=app, then client-id=<default>.
  assert.deepEqual(quotas.quotaFor('producer_byte_rate', 'bob', 'app'), {
    bound: 2,
    budget: '\u0000app',
  });
  assert.deepEqual(quotas.quotaFor('producer_byte_rate', 'bob', 'other'), {
    bound: 1,
    budget: '\u0000other',
  });
  assert.equal(quotas.quotaFor('request_percentage', 'bob', 'other'), undefined);
});

test('produce is charged its request bytes, fetch its response bytes, and a follower fetch nothing', async () => {
  const quotas = new ClientQuotas(memoryStore(), { windowCount: 11, windowMs: 1000 }, () => 0);
  await quotas.alter([
    {
      entity: entity('ANONYMOUS'),
      changes: [
        { key: 'producer_byte_rate', value: 100 },
        { key: 'consumer_byte_rate', value: 100 },
      ],
    },
  ]);
  const usage = (apiKey: number, request: unknown = {}) => ({
    context: context('User:ANONYMOUS', 'c', apiKey),
    request,
    response: {},
    requestBytes: 2000,
    responseBytes: 3000,
    handlerMs: 0,
  });
  // 2000 bytes against 100/s need 20 s: capped at the 11 windows the rate looks back over.
  assert.equal(quotas.requestStarted(context('User:ANONYMOUS', 'c', ApiKey.Produce), 2000), 11_000);
  assert.equal(quotas.requestAnswered(usage(ApiKey.Fetch, { replicaId: 2 })), 0);
  // 3000 bytes: capped at the 11 windows too.
  assert.equal(quotas.requestAnswered(usage(ApiKey.Fetch, { replicaId: -1 })), 11_000);
  assert.equal(quotaUserOf({ principal: 'User:alice' }), 'alice');
});
