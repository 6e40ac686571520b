// The transaction coordinator over in-memory ports: a transaction caught between PrepareCommit
// and its markers is completed by the next coordinator that loads the state, the group's offsets
// partition included (and offsets an older Brook held in the state record);
// timeouts abort under a bumped epoch; out-of-range timeouts are refused; markers that take longer
// than transaction.markers.timeout.ms leave the transaction prepared.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  type TransactionCoordinatorPorts,
  TransactionCoordinator,
} from '../../src/coordinator/txn/transaction-coordinator.js';
import {
  decodeTransactionValue,
  encodeTransactionKey,
  encodeTransactionValue,
  type PendingOffset,
} from '../../src/coordinator/txn/transaction-log.js';
import { buildKeyValueBatch, readKeyValueRecords } from '../../src/record/key-value-batch.js';
import { ErrorCode } from '../../src/protocol/errors.js';

interface FakeWorld {
  stateLog: Map<number, Buffer[]>;
  markers: { topic: string; partition: number; type: number; producerEpoch: number }[];
  committedOffsets: { groupId: string; offsets: readonly PendingOffset[] }[];
  failMarkers: boolean;
  now: number;
  nextProducerId: number;
}

function portsOver(world: FakeWorld): TransactionCoordinatorPorts {
  return {
    stateTopic: {
      partitionCount: 3,
      async append(partition, batch) {
        const list = world.stateLog.get(partition) ?? [];
        list.push(batch);
        world.stateLog.set(partition, list);
      },
      async *readAll(partition) {
        yield* world.stateLog.get(partition) ?? [];
      },
    },
    producerIds: { generate: async () => world.nextProducerId++ },
    partitionExists: () => true,
    offsetsPartitionOf: (groupId) => ({ topic: '__consumer_offsets', partition: groupId.length }),
    async writeMarkers(markers) {
      if (world.failMarkers) throw new Error('injected marker failure');
      for (const { topic, partition } of markers.partitions) {
        world.markers.push({
          topic,
          partition,
          type: markers.committed ? 1 : 0,
          producerEpoch: markers.producerEpoch,
        });
      }
    },
    async commitOffsets(groupId, offsets) {
      world.committedOffsets.push({ groupId, offsets });
      return ErrorCode.NONE;
    },
    clock: () => world.now,
  };
}

const config = {
  transactionMaxTimeoutMs: 900_000,
  abortTimedOutTransactionCleanupIntervalMs: 60_000,
};

function newWorld(): FakeWorld {
  return {
    stateLog: new Map(),
    markers: [],
    committedOffsets: [],
    failMarkers: false,
    now: 1_000_000,
    nextProducerId: 100,
  };
}

test('a commit interrupted after PrepareCommit is completed, its group offsets partition too, by the next coordinator', async () => {
  const world = newWorld();
  const first = new TransactionCoordinator(portsOver(world), config);
  await first.start();
  const { producerId, producerEpoch } = await first.initProducerId({
    transactionalId: 't1',
    transactionTimeoutMs: 60_000,
    producerId: -1,
    producerEpoch: -1,
  });
  const ids = { transactionalId: 't1', producerId, producerEpoch };
  await first.addPartitions({ ...ids, topics: [{ name: 'out', partitions: [0, 1] }] });
  assert.equal(await first.addOffsets({ ...ids, groupId: 'g' }), ErrorCode.NONE);

  world.failMarkers = true;
  const failed = await first.endTxn({ ...ids, committed: true });
  assert.notEqual(failed.errorCode, ErrorCode.NONE);
  assert.equal(first.describe('t1').state, 'PrepareCommit');
  first.close();

  world.failMarkers = false;
  const second = new TransactionCoordinator(portsOver(world), config);
  await second.start();
  assert.equal(second.describe('t1').state, 'CompleteCommit');
  assert.deepEqual(
    world.markers.map((marker) => [marker.topic, marker.partition, marker.type]).sort(),
    [
      ['__consumer_offsets', 1, 1],
      ['out', 0, 1],
      ['out', 1, 1],
    ],
  );
  // The producer's retry of EndTxn is answered as done.
  assert.equal((await second.endTxn({ ...ids, committed: true })).errorCode, ErrorCode.NONE);
  second.close();
});

test('an expired transaction is aborted under a bumped epoch, fencing its producer', async () => {
  const world = newWorld();
  const coordinator = new TransactionCoordinator(portsOver(world), config);
  await coordinator.start();
  const { producerId, producerEpoch } = await coordinator.initProducerId({
    transactionalId: 't2',
    transactionTimeoutMs: 5_000,
    producerId: -1,
    producerEpoch: -1,
  });
  const ids = { transactionalId: 't2', producerId, producerEpoch };
  await coordinator.addPartitions({ ...ids, topics: [{ name: 'out', partitions: [0] }] });
  world.now += 4_000;
  await coordinator.abortTimedOut();
  assert.equal(coordinator.describe('t2').state, 'Ongoing');
  world.now += 2_000;
  await coordinator.abortTimedOut();
  assert.equal(coordinator.describe('t2').state, 'CompleteAbort');
  assert.deepEqual(world.markers, [
    { topic: 'out', partition: 0, type: 0, producerEpoch: producerEpoch + 1 },
  ]);
  assert.equal(
    (await coordinator.endTxn({ ...ids, committed: true })).errorCode,
    ErrorCode.PRODUCER_FENCED,
  );
  // KIP-360: the fenced producer may recover with its last epoch and gets a newer one.
  const recovered = await coordinator.initProducerId({
    transactionalId: 't2',
    transactionTimeoutMs: 5_000,
    producerId,
    producerEpoch,
  });
  assert.equal(recovered.errorCode, ErrorCode.NONE);
  assert.equal(recovered.producerEpoch, producerEpoch + 2);
  coordinator.close();
});

test('a transaction timeout above transaction.max.timeout.ms is refused', async () => {
  const world = newWorld();
  const coordinator = new TransactionCoordinator(portsOver(world), {
    ...config,
    transactionMaxTimeoutMs: 10_000,
  });
  await coordinator.start();
  const result = await coordinator.initProducerId({
    transactionalId: 't3',
    transactionTimeoutMs: 10_001,
    producerId: -1,
    producerEpoch: -1,
  });
  assert.equal(result.errorCode, ErrorCode.INVALID_TRANSACTION_TIMEOUT);
  const idempotent = await coordinator.initProducerId({
    transactionalId: null,
    transactionTimeoutMs: 10_001,
    producerId: -1,
    producerEpoch: -1,
  });
  assert.equal(idempotent.errorCode, ErrorCode.NONE);
  coordinator.close();
});

test('offsets an older Brook held in a PrepareCommit record reach every group at once, before CompleteCommit', async () => {
  const world = newWorld();
  const first = new TransactionCoordinator(portsOver(world), config);
  await first.start();
  const { producerId, producerEpoch } = await first.initProducerId({
    transactionalId: 't4',
    transactionTimeoutMs: 60_000,
    producerId: -1,
    producerEpoch: -1,
  });
  const ids = { transactionalId: 't4', producerId, producerEpoch };
  await first.addPartitions({ ...ids, topics: [{ name: 'out', partitions: [0] }] });
  world.failMarkers = true;
  assert.notEqual((await first.endTxn({ ...ids, committed: true })).errorCode, ErrorCode.NONE);
  first.close();
  world.failMarkers = false;
  // The Prepare* record as an older Brook wrote it: the offsets in the state itself.
  const [partition, records] = [...world.stateLog].find(([, list]) => list.length > 0)!;
  const [{ value }] = [...readKeyValueRecords(records.at(-1)!)];
  const prepared = decodeTransactionValue('t4', value!)!;
  assert.equal(prepared.state, 'PrepareCommit');
  const offset = (index: number) => ({
    topic: 'in',
    partition: index,
    offset: 7n,
    leaderEpoch: -1,
    metadata: '',
  });
  prepared.pendingOffsets = new Map([
    ['g1', [offset(0)]],
    ['g2', [offset(1)]],
  ]);
  records.push(
    buildKeyValueBatch(
      [{ key: encodeTransactionKey('t4'), value: encodeTransactionValue(prepared) }],
      world.now,
    ),
  );
  world.stateLog.set(partition, records);

  const ports = portsOver(world);
  const started: string[] = [];
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const second = new TransactionCoordinator(
    {
      ...ports,
      async commitOffsets(groupId, offsets) {
        started.push(groupId);
        await gate;
        return ports.commitOffsets(groupId, offsets);
      },
    },
    config,
  );
  const loading = second.start();
  // Both groups' commits are in flight together, before either has finished.
  for (let turn = 0; turn < 1_000 && started.length < 2; turn += 1)
    await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(started.sort(), ['g1', 'g2']);
  assert.equal(second.describe('t4').state, 'PrepareCommit');
  release();
  await loading;
  for (let turn = 0; turn < 1_000 && second.describe('t4').state !== 'CompleteCommit'; turn += 1)
    await new Promise((resolve) => setImmediate(resolve));
  assert.equal(second.describe('t4').state, 'CompleteCommit');
  assert.deepEqual(world.committedOffsets.map((entry) => entry.groupId).sort(), ['g1', 'g2']);
  second.close();
});

test(
  'markers not all written within transaction.markers.timeout.ms answer EndTxn COORDINATOR_NOT_AVAILABLE and leave the transaction prepared',
  { timeout: 10_000 },
  async () => {
    const world = newWorld();
    const ports = portsOver(world);
    // The partitions' leaders never take the markers: the write ends only when its signal aborts.
    let writeSignal: AbortSignal | undefined;
    ports.writeMarkers = (_markers, signal) => {
      writeSignal = signal;
      return new Promise((_resolve, reject) => {
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    };
    const coordinator = new TransactionCoordinator(ports, {
      ...config,
      transactionMarkersTimeoutMs: 300,
    });
    await coordinator.start();
    const { producerId, producerEpoch } = await coordinator.initProducerId({
      transactionalId: 't5',
      transactionTimeoutMs: 60_000,
      producerId: -1,
      producerEpoch: -1,
    });
    const ids = { transactionalId: 't5', producerId, producerEpoch };
    await coordinator.addPartitions({ ...ids, topics: [{ name: 'out', partitions: [0] }] });
    // Within the test's 10 s, far below the 20 s default: the setting bounds the wait. (The
    // timeout's timer does not hold the event loop open; a broker's sockets do, this interval here.)
    const keepAlive = setInterval(() => undefined, 1_000);
    const answer = await coordinator.endTxn({ ...ids, committed: true }).finally(() => {
      clearInterval(keepAlive);
    });
    assert.equal(answer.errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
    assert.ok(writeSignal?.aborted, 'the marker write was given up');
    assert.equal(coordinator.describe('t5').state, 'PrepareCommit');
    coordinator.close();
  },
);
