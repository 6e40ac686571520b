// ProducerStateManager on its own: the sequence and epoch rules of idempotent produce, the
// last stable offset and aborted-transaction index, coordinator-epoch fencing of markers, and
// undoing a failed append.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ErrorCode } from '../../src/protocol/errors.js';
import {
  ControlType,
  type ProducerBatch,
  ProducerStateManager,
  lastSequenceOf,
} from '../../src/replica/producer-state.js';

function batch(overrides: Partial<ProducerBatch>): ProducerBatch {
  return {
    producerId: 7,
    producerEpoch: 0,
    baseSequence: 0,
    lastOffsetDelta: 0,
    isTransactional: false,
    isControl: false,
    maxTimestamp: 0,
    ...overrides,
  };
}

function errorCodeOf(run: () => unknown): number {
  try {
    run();
  } catch (error) {
    return (error as { kafkaErrorCode: number }).kafkaErrorCode;
  }
  return ErrorCode.NONE;
}

test('a retried batch is recognised among the last five, a gap and an old epoch are refused', () => {
  const state = new ProducerStateManager();
  const none = new Map();
  for (let index = 0; index < 6; index += 1) {
    const next = batch({ baseSequence: index * 10, lastOffsetDelta: 9 });
    assert.equal(state.check(next, none), null);
    state.apply(next, index * 10, index * 10 + 9, Promise.resolve());
  }
  assert.deepEqual(
    state.check(batch({ baseSequence: 50, lastOffsetDelta: 9 }), none)?.duplicate.firstOffset,
    50,
  );
  assert.deepEqual(
    state.check(batch({ baseSequence: 10, lastOffsetDelta: 9 }), none)?.duplicate.firstOffset,
    10,
  );
  // The first batch fell out of the cache: no longer recognised, and out of order.
  assert.equal(
    errorCodeOf(() => state.check(batch({ baseSequence: 0, lastOffsetDelta: 9 }), none)),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  );
  assert.equal(
    errorCodeOf(() => state.check(batch({ baseSequence: 61 }), none)),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  );
  assert.equal(state.check(batch({ baseSequence: 60 }), none), null);
  assert.equal(
    errorCodeOf(() => state.check(batch({ producerEpoch: 1, baseSequence: 5 }), none)),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  );
  assert.equal(state.check(batch({ producerEpoch: 1, baseSequence: 0 }), none), null);
  state.apply(batch({ producerEpoch: 1 }), 60, 60, Promise.resolve());
  assert.equal(
    errorCodeOf(() => state.check(batch({ producerEpoch: 0, baseSequence: 60 }), none)),
    ErrorCode.INVALID_PRODUCER_EPOCH,
  );
  // An unknown producer may start anywhere (its state may have expired), as in Kafka 2.5+.
  assert.equal(state.check(batch({ producerId: 8, baseSequence: 1234 }), none), null);
});

test('sequences wrap from Int32 max to 0', () => {
  const state = new ProducerStateManager();
  const none = new Map();
  assert.equal(lastSequenceOf(0x7ffffffe, 3), 1);
  const first = batch({ baseSequence: 0x7ffffffd, lastOffsetDelta: 2 });
  state.apply(first, 0, 2, Promise.resolve());
  assert.equal(state.check(batch({ baseSequence: 0 }), none), null);
  assert.equal(
    errorCodeOf(() => state.check(batch({ baseSequence: 1 }), none)),
    ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
  );
});

test('an open transaction bounds the last stable offset; an abort marker enters the index', () => {
  const state = new ProducerStateManager();
  state.apply(batch({ isTransactional: true }), 10, 12, Promise.resolve());
  state.apply(batch({ producerId: 9, isTransactional: true }), 13, 13, Promise.resolve());
  assert.equal(state.firstUnstableOffset(), 10);
  state.applyMarker(
    batch({ isControl: true, isTransactional: true }),
    ControlType.ABORT,
    0,
    14,
    14,
    true,
  );
  assert.equal(state.firstUnstableOffset(), 13);
  state.applyMarker(
    batch({ producerId: 9, isControl: true, isTransactional: true }),
    ControlType.COMMIT,
    0,
    15,
    15,
    true,
  );
  assert.equal(state.firstUnstableOffset(), Infinity);
  assert.deepEqual(
    state
      .abortedTransactions(0, 100)
      .map((entry) => [entry.producerId, entry.firstOffset, entry.lastOffset]),
    [[7, 10, 14]],
  );
  assert.deepEqual(state.abortedTransactions(15, 100), []);
  assert.deepEqual(
    state.abortedTransactions(0, 10),
    [],
    'a transaction starting at the upper bound is outside the range',
  );
});

test('a failed append is undone: its batches and markers leave no trace in producer state', () => {
  const state = new ProducerStateManager();
  const none = new Map();
  state.apply(batch({ baseSequence: 0, lastOffsetDelta: 4 }), 0, 4, Promise.resolve());
  state.acknowledge(4);
  state.apply(batch({ baseSequence: 5, lastOffsetDelta: 4 }), 5, 9, Promise.resolve());
  state.apply(batch({ producerId: 8, isTransactional: true }), 10, 10, Promise.resolve());
  assert.deepEqual(
    state.entriesBefore(5).map((entry) => entry.producerId),
    [7],
  );
  state.revertFrom(5);
  assert.equal(
    state.check(batch({ baseSequence: 5, lastOffsetDelta: 4 }), none),
    null,
    'the retry is new again, not a duplicate',
  );
  assert.equal(state.entries.has(8), false);
  assert.equal(state.firstUnstableOffset(), Infinity);
});

test('idle producers without an open transaction expire; unacknowledged state never does', () => {
  const state = new ProducerStateManager();
  state.apply(batch({ producerId: 1, maxTimestamp: 1_000 }), 0, 0, Promise.resolve());
  state.apply(
    batch({ producerId: 2, maxTimestamp: 1_000, isTransactional: true }),
    1,
    1,
    Promise.resolve(),
  );
  assert.equal(state.removeExpired(10_000, 5_000), 0, 'appends not yet acknowledged');
  state.acknowledge(1);
  assert.equal(state.removeExpired(5_999, 5_000), 0);
  assert.equal(state.removeExpired(6_000, 5_000), 1);
  assert.deepEqual([...state.entries.keys()], [2], 'a producer with an open transaction stays');
});

test('a marker older than the coordinator epoch of the last one is refused with TRANSACTION_COORDINATOR_FENCED; a failed marker takes its epoch back with it', () => {
  const state = new ProducerStateManager();
  const marker = batch({ isControl: true, isTransactional: true });
  assert.equal(
    errorCodeOf(() => state.checkMarker(marker, 3)),
    ErrorCode.NONE,
    'a new producer',
  );
  state.apply(batch({ isTransactional: true }), 0, 0, Promise.resolve());
  state.applyMarker(marker, ControlType.COMMIT, 5, 1, 1, true);
  state.acknowledge(1);
  assert.equal(
    errorCodeOf(() => state.checkMarker(marker, 4)),
    ErrorCode.TRANSACTION_COORDINATOR_FENCED,
  );
  assert.equal(
    errorCodeOf(() => state.checkMarker(marker, 5)),
    ErrorCode.NONE,
    'the same one',
  );
  assert.equal(
    errorCodeOf(() => state.checkMarker(marker, 6)),
    ErrorCode.NONE,
    'a newer one',
  );
  // A marker of epoch 6 whose write fails leaves the partition at epoch 5.
  state.applyMarker(marker, ControlType.ABORT, 6, 2, 2, true);
  assert.equal(
    errorCodeOf(() => state.checkMarker(marker, 5)),
    ErrorCode.TRANSACTION_COORDINATOR_FENCED,
  );
  state.revertFrom(2);
  assert.equal(
    errorCodeOf(() => state.checkMarker(marker, 5)),
    ErrorCode.NONE,
  );
  // An older producer epoch is still refused first, as INVALID_PRODUCER_EPOCH.
  state.apply(batch({ producerEpoch: 1, isTransactional: true }), 2, 2, Promise.resolve());
  assert.equal(
    errorCodeOf(() => state.checkMarker(batch({ isControl: true }), 4)),
    ErrorCode.INVALID_PRODUCER_EPOCH,
  );
});
