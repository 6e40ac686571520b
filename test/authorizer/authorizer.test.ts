import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type AclBinding,
  AclOperation,
  AclPermissionType,
  Authorizer,
  type AuthorizerSettings,
  MemoryAclStore,
  PatternType,
  ResourceType,
  bindingMatchesFilter,
  invalidBindingReason,
  parseSuperUsers,
} from '../../src/security/index.js';

const alice = { principal: 'User:alice', remoteAddress: '10.0.0.1' };
const bob = { principal: 'User:bob', remoteAddress: '10.0.0.2' };
const anonymous = { principal: 'User:ANONYMOUS', remoteAddress: '::ffff:10.0.0.3' };

function binding(overrides: Partial<AclBinding>): AclBinding {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: 'orders',
    patternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: AclOperation.READ,
    permissionType: AclPermissionType.ALLOW,
    ...overrides,
  };
}

async function authorizerWith(
  bindings: AclBinding[],
  settings: Partial<AuthorizerSettings> = {},
): Promise<{ authorizer: Authorizer; store: MemoryAclStore }> {
  const store = new MemoryAclStore();
  const authorizer = new Authorizer(
    { superUsers: [], allowEveryoneIfNoAclFound: false, ...settings },
    store,
  );
  await store.add(bindings);
  return { authorizer, store };
}

const { TOPIC, GROUP, CLUSTER } = ResourceType;
const { READ, WRITE, DESCRIBE, ALTER, DELETE, ALTER_CONFIGS, DESCRIBE_CONFIGS, ALL, CREATE } =
  AclOperation;

test('without ACLs nothing is allowed unless allow.everyone.if.no.acl.found', async () => {
  const closed = await authorizerWith([]);
  assert.equal(closed.authorizer.authorize(alice, READ, TOPIC, 'orders'), false);
  const open = await authorizerWith([], { allowEveryoneIfNoAclFound: true });
  assert.equal(open.authorizer.authorize(alice, READ, TOPIC, 'orders'), true);
  // Once an ACL names the resource, the default no longer applies to anyone else.
  const named = await authorizerWith([binding({})], { allowEveryoneIfNoAclFound: true });
  assert.equal(named.authorizer.authorize(alice, READ, TOPIC, 'orders'), true);
  assert.equal(named.authorizer.authorize(bob, READ, TOPIC, 'orders'), false);
  assert.equal(named.authorizer.authorize(bob, READ, TOPIC, 'payments'), true);
});

test('a super user is allowed everything; super.users is split on semicolons', async () => {
  assert.deepEqual(parseSuperUsers('User:admin; User:ANONYMOUS;'), [
    'User:admin',
    'User:ANONYMOUS',
  ]);
  const { authorizer } = await authorizerWith(
    [
      binding({
        principal: 'User:ANONYMOUS',
        permissionType: AclPermissionType.DENY,
        operation: ALL,
      }),
    ],
    { superUsers: parseSuperUsers('User:admin;User:ANONYMOUS') },
  );
  assert.equal(authorizer.authorize(anonymous, WRITE, TOPIC, 'orders'), true);
  assert.equal(authorizer.authorize(alice, WRITE, TOPIC, 'orders'), false);
});

test('a matching DENY wins over any ALLOW, wherever each comes from', async () => {
  const { authorizer } = await authorizerWith([
    binding({ operation: ALL }),
    binding({
      resourceName: 'ord',
      patternType: PatternType.PREFIXED,
      operation: WRITE,
      permissionType: AclPermissionType.DENY,
    }),
  ]);
  assert.equal(authorizer.authorize(alice, READ, TOPIC, 'orders'), true);
  assert.equal(authorizer.authorize(alice, WRITE, TOPIC, 'orders'), false);
});

test('Read, Write, Delete and Alter imply Describe; AlterConfigs implies DescribeConfigs; a DENY implies nothing', async () => {
  for (const operation of [READ, WRITE, DELETE, ALTER]) {
    const { authorizer } = await authorizerWith([binding({ operation })]);
    assert.equal(authorizer.authorize(alice, DESCRIBE, TOPIC, 'orders'), true, `${operation}`);
  }
  const configs = await authorizerWith([binding({ operation: ALTER_CONFIGS })]);
  assert.equal(configs.authorizer.authorize(alice, DESCRIBE_CONFIGS, TOPIC, 'orders'), true);
  assert.equal(configs.authorizer.authorize(alice, DESCRIBE, TOPIC, 'orders'), false);
  const create = await authorizerWith([binding({ operation: CREATE })]);
  assert.equal(create.authorizer.authorize(alice, DESCRIBE, TOPIC, 'orders'), false);
  const denied = await authorizerWith([
    binding({ operation: DESCRIBE }),
    binding({ operation: READ, permissionType: AclPermissionType.DENY }),
  ]);
  assert.equal(denied.authorizer.authorize(alice, DESCRIBE, TOPIC, 'orders'), true);
});

test('names match literally, through the literal wildcard, or by prefix; principals and hosts through *', async () => {
  const { authorizer } = await authorizerWith([
    binding({ resourceName: 'tenant-a.', patternType: PatternType.PREFIXED }),
    binding({ resourceType: GROUP, resourceName: '*', principal: 'User:*' }),
    binding({ resourceName: 'pinned', host: '10.0.0.2', principal: 'User:bob' }),
    binding({ resourceName: 'pinned', host: '10.0.0.3', principal: 'User:ANONYMOUS' }),
  ]);
  assert.equal(authorizer.authorize(alice, READ, TOPIC, 'tenant-a.orders'), true);
  assert.equal(authorizer.authorize(alice, READ, TOPIC, 'tenant-a'), false);
  assert.equal(authorizer.authorize(alice, READ, TOPIC, 'tenant-b.orders'), false);
  assert.equal(authorizer.authorize(bob, READ, GROUP, 'any-group'), true);
  assert.equal(authorizer.authorize(anonymous, READ, GROUP, 'any-group'), true);
  assert.equal(authorizer.authorize(bob, READ, TOPIC, 'pinned'), true);
  assert.equal(
    authorizer.authorize({ ...bob, remoteAddress: '10.9.9.9' }, READ, TOPIC, 'pinned'),
    false,
  );
  // IPv4 clients of a dual-stack socket are matched by their IPv4 address, as Kafka names them.
  assert.equal(authorizer.authorize(anonymous, READ, TOPIC, 'pinned'), true);
});

test('the index follows the store: a removed ACL stops applying at once', async () => {
  const { authorizer, store } = await authorizerWith([binding({})]);
  assert.equal(authorizer.authorize(alice, READ, TOPIC, 'orders'), true);
  const removed = await store.remove([
    {
      resourceType: ResourceType.ANY,
      resourceName: 'orders',
      patternType: PatternType.MATCH,
      principal: null,
      host: null,
      operation: AclOperation.ANY,
      permissionType: AclPermissionType.ANY,
    },
  ]);
  assert.equal(removed[0].length, 1);
  assert.equal(authorizer.authorize(alice, READ, TOPIC, 'orders'), false);
});

test('IdempotentWrite falls back to Write on any topic (KIP-679)', async () => {
  const { authorizer } = await authorizerWith([
    binding({ resourceName: 'logs-', patternType: PatternType.PREFIXED, operation: WRITE }),
  ]);
  assert.equal(authorizer.authorizeAny(alice, WRITE, TOPIC), true);
  assert.equal(authorizer.authorizeAny(bob, WRITE, TOPIC), false);
  assert.equal(
    authorizer.authorize(alice, AclOperation.IDEMPOTENT_WRITE, CLUSTER, 'kafka-cluster'),
    false,
  );
});

test('filters: MATCH finds every ACL that applies to a name; ANY matches every pattern', () => {
  const literal = binding({});
  const wildcard = binding({ resourceName: '*' });
  const prefixed = binding({ resourceName: 'ord', patternType: PatternType.PREFIXED });
  const other = binding({ resourceName: 'payments' });
  const filter = {
    resourceType: TOPIC,
    resourceName: 'orders',
    patternType: PatternType.MATCH,
    principal: null,
    host: null,
    operation: AclOperation.ANY,
    permissionType: AclPermissionType.ANY,
  };
  assert.deepEqual(
    [literal, wildcard, prefixed, other].map((candidate) =>
      bindingMatchesFilter(candidate, filter),
    ),
    [true, true, true, false],
  );
  assert.deepEqual(
    [literal, wildcard, prefixed, other].map((candidate) =>
      bindingMatchesFilter(candidate, {
        ...filter,
        patternType: PatternType.ANY,
        resourceName: null,
      }),
    ),
    [true, true, true, true],
  );
  assert.deepEqual(
    [literal, prefixed].map((candidate) =>
      bindingMatchesFilter(candidate, {
        ...filter,
        patternType: PatternType.PREFIXED,
        resourceName: 'ord',
      }),
    ),
    [false, true],
  );
});

test('an ACL must be concrete: no ANY, MATCH or unknown codes, a Type:name principal, kafka-cluster for the cluster', () => {
  assert.equal(invalidBindingReason(binding({})), null);
  assert.match(invalidBindingReason(binding({ patternType: PatternType.MATCH }))!, /filters/);
  assert.match(invalidBindingReason(binding({ operation: AclOperation.ANY }))!, /filters/);
  assert.match(invalidBindingReason(binding({ principal: 'alice' }))!, /Type:name/);
  assert.match(
    invalidBindingReason(binding({ resourceType: CLUSTER, resourceName: 'other' }))!,
    /kafka-cluster/,
  );
  assert.match(invalidBindingReason(binding({ resourceType: ResourceType.ANY }))!, /cannot carry/);
});
