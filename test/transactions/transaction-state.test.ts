// A transaction's state changes only through transitionTransaction, which follows Kafka's state
// machine and refuses the rest; the copy it returns shares nothing mutable with the original.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  transitionTransaction,
  type TransactionMetadata,
  type TransactionState,
} from '../../src/coordinator/txn/transaction-log.js';

function metadataIn(state: TransactionState): TransactionMetadata {
  return {
    transactionalId: 'payments',
    producerId: 7,
    producerEpoch: 3,
    lastProducerEpoch: -1,
    transactionTimeoutMs: 60_000,
    state,
    partitions: new Map([['orders', new Set([0, 1])]]),
    pendingOffsets: new Map(),
    groups: new Set(['billing']),
    transactionStartTimeMs: 1_000,
    lastUpdateTimeMs: 2_000,
  };
}

test('a transaction goes through Ongoing, Prepare* and Complete* and back', () => {
  const path: TransactionState[] = [
    'Empty',
    'Ongoing',
    'PrepareCommit',
    'CompleteCommit',
    'Ongoing',
    'PrepareAbort',
    'CompleteAbort',
    'Empty',
  ];
  let metadata = metadataIn(path[0]);
  for (const state of path.slice(1)) {
    metadata = transitionTransaction(metadata, state);
    assert.equal(metadata.state, state);
  }
});

test('a transition the state machine lacks is refused as a broken invariant', () => {
  const refused: [TransactionState, TransactionState][] = [
    ['Empty', 'PrepareCommit'],
    ['Ongoing', 'CompleteCommit'],
    ['PrepareCommit', 'PrepareAbort'],
    ['PrepareAbort', 'CompleteCommit'],
    ['PrepareCommit', 'Ongoing'],
    ['Ongoing', 'Empty'],
  ];
  for (const [from, to] of refused) {
    assert.throws(
      () => transitionTransaction(metadataIn(from), to),
      new RegExp(`invariant violated: transaction payments cannot go from ${from} to ${to}`),
    );
  }
});

test('the transitioned copy shares no partitions, groups or offsets with the original', () => {
  const original = metadataIn('Ongoing');
  const next = transitionTransaction(original, 'Ongoing');
  next.partitions.get('orders')!.add(9);
  next.groups.add('other');
  next.pendingOffsets.set('billing', []);
  assert.deepEqual([...original.partitions.get('orders')!], [0, 1]);
  assert.deepEqual([...original.groups], ['billing']);
  assert.equal(original.pendingOffsets.size, 0);
});
