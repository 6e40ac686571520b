// The checker itself: hand-made histories that must pass, and ones that must fail with the
// violation named precisely (record id, offsets). A checker that never fails proves nothing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkHistory, describeViolations, type Violation } from './checker.js';
import { type HistoryEvent, type Isolation, UNKNOWN_OFFSET } from './history.js';

const topic = 'events';

function send(
  producer: string,
  id: string,
  sequence: number,
  extra: { partition?: number; transaction?: string; source?: string; topic?: string } = {},
): HistoryEvent {
  return {
    type: 'send',
    producer,
    id,
    topic: extra.topic ?? topic,
    partition: extra.partition ?? 0,
    sequence,
    ...(extra.transaction === undefined ? {} : { transaction: extra.transaction }),
    ...(extra.source === undefined ? {} : { source: extra.source }),
  };
}

function ack(
  producer: string,
  id: string,
  offset: number,
  partition = 0,
  on = topic,
): HistoryEvent {
  return { type: 'ack', producer, id, topic: on, partition, offset };
}

function read(
  consumer: string,
  id: string,
  offset: number,
  options: { partition?: number; isolation?: Isolation; topic?: string } = {},
): HistoryEvent {
  return {
    type: 'read',
    consumer,
    id,
    topic: options.topic ?? topic,
    partition: options.partition ?? 0,
    offset,
    isolation: options.isolation ?? 'read_committed',
  };
}

function complete(
  consumer: string,
  endOffsets: Record<number, number>,
  on = topic,
  isolation: Isolation = 'read_committed',
): HistoryEvent {
  return { type: 'read-complete', consumer, topic: on, isolation, endOffsets };
}

/** Three records from one producer, acknowledged and read back in order. */
function healthy(): HistoryEvent[] {
  return [
    send('p1', 'p1-0', 0),
    send('p1', 'p1-1', 1),
    send('p1', 'p1-2', 2),
    ack('p1', 'p1-0', 0),
    ack('p1', 'p1-1', 1),
    ack('p1', 'p1-2', 2),
    read('verify', 'p1-0', 0),
    read('verify', 'p1-1', 1),
    read('verify', 'p1-2', 2),
    complete('verify', { 0: 3 }),
  ];
}

function only(violations: Violation[], kind: Violation['kind']): Violation {
  assert.equal(violations.length, 1, describeViolations(violations));
  assert.equal(violations[0].kind, kind, describeViolations(violations));
  return violations[0];
}

test('a history where everything acknowledged is read once, in order, passes', () => {
  assert.deepEqual(checkHistory(healthy(), { idempotent: true }), []);
});

test('a failed send that never shows up is not a loss', () => {
  const events = [
    ...healthy(),
    send('p1', 'p1-3', 3),
    { type: 'fail', producer: 'p1', id: 'p1-3', error: 'timeout' } as const,
  ];
  assert.deepEqual(checkHistory(events, { idempotent: true }), []);
});

test('an acknowledged record missing from a complete read is reported lost, with its offset', () => {
  const events = healthy().filter((event) => !(event.type === 'read' && event.id === 'p1-1'));
  const violation = only(checkHistory(events, { idempotent: true }), 'lost');
  assert.equal(violation.id, 'p1-1');
  assert.match(violation.message, /acknowledged at events-0@1/);
});

test('an acknowledgement without an offset counts: read anywhere it passes, unread it is lost', () => {
  const implicit = healthy().map((event) =>
    event.type === 'ack' && event.id === 'p1-1' ? ack('p1', 'p1-1', UNKNOWN_OFFSET) : event,
  );
  assert.deepEqual(checkHistory(implicit, { idempotent: true }), []);
  const unread = implicit.filter((event) => !(event.type === 'read' && event.id === 'p1-1'));
  const violation = only(checkHistory(unread, { idempotent: true }), 'lost');
  assert.equal(violation.id, 'p1-1');
  assert.match(violation.message, /acknowledged at events-0@\?, not read by verify /);
});

test('a read that is not complete cannot prove a loss', () => {
  const events = healthy().filter(
    (event) => event.type !== 'read-complete' && !(event.type === 'read' && event.id === 'p1-2'),
  );
  assert.deepEqual(checkHistory(events, { idempotent: true }), []);
});

test('an acknowledged offset holding another record is reported lost', () => {
  const events = healthy().map((event) =>
    event.type === 'read' && event.id === 'p1-1' ? read('verify', 'stranger', 1) : event,
  );
  const violations = checkHistory(events, { idempotent: true });
  assert.ok(violations.some((violation) => violation.kind === 'lost' && violation.id === 'p1-1'));
  assert.match(describeViolations(violations), /events-0@1, but verify read stranger there/);
});

test('a record read at two offsets is duplicated under idempotence, tolerated without it', () => {
  const events = [...healthy()];
  events.splice(events.length - 1, 0, read('verify', 'p1-1', 3));
  events[events.length - 1] = complete('verify', { 0: 4 });
  const violation = only(checkHistory(events, { idempotent: true }), 'duplicated');
  assert.equal(violation.id, 'p1-1');
  assert.match(violation.message, /events-0@1 and events-0@3/);
  assert.deepEqual(checkHistory(events, { idempotent: false }), []);
});

test('one record acknowledged at two offsets is duplicated', () => {
  const events = [...healthy(), ack('p1', 'p1-2', 7)];
  const violations = checkHistory(events, { idempotent: true });
  assert.ok(
    violations.some((violation) => violation.kind === 'duplicated' && violation.id === 'p1-2'),
  );
});

test('offsets going backwards for one consumer are reported reordered', () => {
  const events = [
    ...healthy().slice(0, 6),
    read('verify', 'p1-0', 0),
    read('verify', 'p1-2', 2),
    read('verify', 'p1-1', 1),
    complete('verify', { 0: 3 }),
  ];
  const violations = checkHistory(events, { idempotent: true });
  assert.ok(violations.length >= 1, 'a reordered read must fail');
  const reordered = violations.find((violation) => violation.kind === 'reordered');
  assert.ok(reordered, describeViolations(violations));
  assert.equal(reordered.id, 'p1-1');
  assert.match(reordered.message, /read events-0@1 after events-0@2/);
});

test("a producer's records acknowledged out of the order it sent them are reported reordered", () => {
  const events: HistoryEvent[] = [
    send('p1', 'p1-0', 0),
    send('p1', 'p1-1', 1),
    ack('p1', 'p1-1', 0),
    ack('p1', 'p1-0', 1),
    read('verify', 'p1-1', 0),
    read('verify', 'p1-0', 1),
    complete('verify', { 0: 2 }),
  ];
  const violations = checkHistory(events, { idempotent: true });
  const kinds = new Set(violations.map((violation) => violation.kind));
  assert.deepEqual([...kinds], ['reordered'], describeViolations(violations));
  assert.ok(
    violations.some((violation) =>
      /acknowledged at events-0@0, not after events-0@1/.test(violation.message),
    ),
  );
  assert.ok(
    violations.some((violation) => /read it at events-0@1 after p1-1/.test(violation.message)),
  );
});

test('two producers interleaving in one partition is not a reorder', () => {
  const events: HistoryEvent[] = [
    send('p1', 'p1-0', 0),
    send('p2', 'p2-0', 0),
    send('p1', 'p1-1', 1),
    ack('p2', 'p2-0', 0),
    ack('p1', 'p1-0', 1),
    ack('p1', 'p1-1', 2),
    read('verify', 'p2-0', 0),
    read('verify', 'p1-0', 1),
    read('verify', 'p1-1', 2),
    complete('verify', { 0: 3 }),
  ];
  assert.deepEqual(checkHistory(events, { idempotent: true }), []);
});

function transactional(outcome: 'commit' | 'abort'): HistoryEvent[] {
  return [
    send('tx', 't-0', 0, { transaction: 'tx#1' }),
    send('tx', 't-1', 1, { transaction: 'tx#1' }),
    ack('tx', 't-0', 0),
    ack('tx', 't-1', 1),
    { type: 'transaction', producer: 'tx', transaction: 'tx#1', outcome },
  ];
}

test('read_committed showing a record of an aborted transaction is reported aborted-visible', () => {
  const events = [
    ...transactional('abort'),
    read('verify', 't-0', 0),
    read('verify', 't-1', 1),
    complete('verify', { 0: 3 }),
  ];
  const violations = checkHistory(events, { idempotent: true });
  assert.equal(violations.length, 2, describeViolations(violations));
  assert.ok(violations.every((violation) => violation.kind === 'aborted-visible'));
  assert.match(
    violations[0].message,
    /t-0: verify \(read_committed\) read it at events-0@0, written in aborted transaction tx#1/,
  );
});

test('read_uncommitted may show aborted records, and aborted records are not losses', () => {
  const visible = [
    ...transactional('abort'),
    read('dirty', 't-0', 0, { isolation: 'read_uncommitted' }),
    read('dirty', 't-1', 1, { isolation: 'read_uncommitted' }),
    complete('dirty', { 0: 3 }, topic, 'read_uncommitted'),
  ];
  assert.deepEqual(checkHistory(visible, { idempotent: true }), []);
  const hidden = [...transactional('abort'), complete('verify', { 0: 3 })];
  assert.deepEqual(checkHistory(hidden, { idempotent: true }), []);
});

test('a committed transaction missing from a complete read is reported lost', () => {
  const events = [
    ...transactional('commit'),
    read('verify', 't-0', 0),
    complete('verify', { 0: 3 }),
  ];
  const violation = only(checkHistory(events, { idempotent: true }), 'lost');
  assert.equal(violation.id, 't-1');
});

test('an input transformed into two committed outputs breaks exactly-once', () => {
  const exactlyOnce = { inputTopic: 'in', outputTopic: 'out' };
  const base: HistoryEvent[] = [
    send('p1', 'in-0', 0, { topic: 'in' }),
    ack('p1', 'in-0', 0, 0, 'in'),
    send('tx', 'out-in-0#1', 0, { topic: 'out', transaction: 'tx#1', source: 'in-0' }),
    ack('tx', 'out-in-0#1', 0, 0, 'out'),
    { type: 'transaction', producer: 'tx', transaction: 'tx#1', outcome: 'commit' },
    send('tx', 'out-in-0#2', 1, { topic: 'out', transaction: 'tx#2', source: 'in-0' }),
    ack('tx', 'out-in-0#2', 2, 0, 'out'),
  ];
  const once = [
    ...base,
    { type: 'transaction', producer: 'tx', transaction: 'tx#2', outcome: 'abort' } as const,
    read('verify', 'out-in-0#1', 0, { topic: 'out' }),
    complete('verify', { 0: 4 }, 'out'),
  ];
  assert.deepEqual(checkHistory(once, { idempotent: true, exactlyOnce }), []);

  const twice = [
    ...base,
    { type: 'transaction', producer: 'tx', transaction: 'tx#2', outcome: 'commit' } as const,
    read('verify', 'out-in-0#1', 0, { topic: 'out' }),
    read('verify', 'out-in-0#2', 2, { topic: 'out' }),
    complete('verify', { 0: 4 }, 'out'),
  ];
  const violation = only(checkHistory(twice, { idempotent: true, exactlyOnce }), 'duplicated');
  assert.equal(violation.id, 'in-0');
  assert.match(violation.message, /out-in-0#1 at out-0@0, out-in-0#2 at out-0@2/);

  const never = [
    ...base,
    { type: 'transaction', producer: 'tx', transaction: 'tx#2', outcome: 'abort' } as const,
    { type: 'transaction', producer: 'tx', transaction: 'tx#1', outcome: 'abort' } as const,
    complete('verify', { 0: 4 }, 'out'),
  ];
  const lost = only(checkHistory(never, { idempotent: true, exactlyOnce }), 'lost');
  const dirtyOnly = [
    ...base,
    { type: 'transaction', producer: 'tx', transaction: 'tx#2', outcome: 'commit' } as const,
    read('dirty', 'out-in-0#1', 0, { topic: 'out', isolation: 'read_uncommitted' }),
    read('dirty', 'out-in-0#2', 2, { topic: 'out', isolation: 'read_uncommitted' }),
    complete('dirty', { 0: 4 }, 'out', 'read_uncommitted'),
  ];
  assert.deepEqual(checkHistory(dirtyOnly, { idempotent: true, exactlyOnce }), []);
  assert.equal(lost.id, 'in-0');
  assert.match(lost.message, /input acknowledged at in-0@0 has no committed output/);
});

test('two consumers reading different records at one offset are reported diverged', () => {
  const events = [...healthy(), read('other', 'stranger', 2)];
  const violations = checkHistory(events, { idempotent: true });
  assert.ok(
    violations.some(
      (violation) => violation.kind === 'diverged' && /events-0@2/.test(violation.message),
    ),
  );
});

test('a record acknowledged but never delivered to any member of a group is reported lost', () => {
  const atLeastOnce = { topic, consumerPrefix: 'group/' };
  const events = [
    ...healthy(),
    read('group/a/1', 'p1-0', 0),
    read('group/a/1', 'p1-1', 1),
    // A rebalance: the other member starts again from the committed offset.
    read('group/b/2', 'p1-1', 1),
  ];
  const violation = only(checkHistory(events, { idempotent: true, atLeastOnce }), 'lost');
  assert.equal(violation.id, 'p1-2');
  assert.match(
    violation.message,
    /acknowledged at events-0@2, never delivered to a member of group\//,
  );
  events.push(read('group/b/2', 'p1-2', 2));
  assert.deepEqual(checkHistory(events, { idempotent: true, atLeastOnce }), []);
});
