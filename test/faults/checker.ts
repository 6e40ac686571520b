// Judges a recorded history (history.ts) against what a Kafka-compatible broker promises:
//
//   lost             an acknowledged record (or one written in a committed transaction) is
//                    missing from a complete read, or its offset holds another record
//   duplicated       one record id at two offsets (idempotence), or one input transformed into
//                    two committed outputs (exactly-once)
//   reordered        a consumer saw offsets go backwards, or one producer's records landed in a
//                    partition out of the order it sent them
//   aborted-visible  a read_committed consumer saw a record of an aborted transaction
//   diverged         two reads of one offset returned different records
//
// Every violation names the record id and the offsets involved, so a failing scenario says
// exactly what went wrong and where; nothing here depends on timing.

import { type HistoryEvent, type Isolation, type Position, UNKNOWN_OFFSET } from './history.js';

export type ViolationKind = 'lost' | 'duplicated' | 'reordered' | 'aborted-visible' | 'diverged';

export interface Violation {
  readonly kind: ViolationKind;
  readonly id: string;
  readonly message: string;
}

export interface CheckOptions {
  /**
   * Producers were idempotent, so a record id read at two offsets is a duplicate and each
   * producer's records keep their send order. Without it, retries may legitimately write a record
   * twice or out of order, and only each consumer's offsets are checked for order.
   */
  readonly idempotent: boolean;
  /**
   * A consume-transform-produce loop read `inputTopic` and wrote each input once, in a
   * transaction, to `outputTopic` (its sends carry `source`): every acknowledged input must show
   * up exactly once among the committed outputs of a complete read.
   */
  readonly exactlyOnce?: { readonly inputTopic: string; readonly outputTopic: string };
  /**
   * A consumer group read `topic` through the faults, its members recorded as consumers whose
   * names start with `consumerPrefix` (one name per member and generation): every acknowledged
   * record must have been delivered to some member at least once.
   */
  readonly atLeastOnce?: { readonly topic: string; readonly consumerPrefix: string };
}

type Send = Extract<HistoryEvent, { type: 'send' }>;
type Read = Extract<HistoryEvent, { type: 'read' }>;

const where = (position: Position): string =>
  `${position.topic}-${position.partition}@${position.offset === UNKNOWN_OFFSET ? '?' : position.offset}`;
/** An acknowledgement that says where the record is (not an implicit one). */
const placed = (position: Position): boolean => position.offset !== UNKNOWN_OFFSET;
const partitionKey = (topic: string, partition: number): string => `${topic}-${partition}`;

export function checkHistory(events: readonly HistoryEvent[], options: CheckOptions): Violation[] {
  const violations: Violation[] = [];
  const report = (kind: ViolationKind, id: string, message: string): void => {
    violations.push({ kind, id, message: `${kind}: ${id}: ${message}` });
  };

  const sends = new Map<string, Send>();
  const acks = new Map<string, Position[]>();
  const outcomes = new Map<string, 'commit' | 'abort' | 'unknown'>();
  const readsByConsumer = new Map<string, Read[]>();
  const complete = new Map<string, Map<string, Readonly<Record<number, number>>>>();
  const isolationOf = new Map<string, Isolation>();
  for (const event of events) {
    if (event.type === 'send') sends.set(event.id, event);
    else if (event.type === 'ack') {
      const positions = acks.get(event.id) ?? [];
      positions.push({ topic: event.topic, partition: event.partition, offset: event.offset });
      acks.set(event.id, positions);
    } else if (event.type === 'transaction') outcomes.set(event.transaction, event.outcome);
    else if (event.type === 'read') {
      const reads = readsByConsumer.get(event.consumer) ?? [];
      reads.push(event);
      readsByConsumer.set(event.consumer, reads);
    } else if (event.type === 'read-complete') {
      const topics = complete.get(event.consumer) ?? new Map();
      topics.set(event.topic, event.endOffsets);
      isolationOf.set(`${event.consumer}\u0000${event.topic}`, event.isolation);
      complete.set(event.consumer, topics);
    }
  }
  const transactionOf = (id: string): string | undefined => sends.get(id)?.transaction;
  /** Acknowledged means the broker promised to keep it: acked, and its transaction committed. */
  const promised = (id: string): boolean => {
    const transaction = transactionOf(id);
    return transaction === undefined || outcomes.get(transaction) === 'commit';
  };

  // One record acknowledged at two offsets was written twice.
  for (const [id, positions] of acks) {
    const distinct = new Set(positions.filter(placed).map(where));
    if (distinct.size > 1)
      report('duplicated', id, `acknowledged at ${[...distinct].join(' and ')}`);
  }

  // Whatever any consumer read at an offset, every other read of that offset must agree.
  const readAt = new Map<string, { id: string; consumer: string }>();
  for (const [consumer, reads] of readsByConsumer) {
    for (const read of reads) {
      const seen = readAt.get(where(read));
      if (seen === undefined) readAt.set(where(read), { id: read.id, consumer });
      else if (seen.id !== read.id)
        report(
          'diverged',
          read.id,
          `${consumer} read it at ${where(read)}, where ${seen.consumer} read ${seen.id}`,
        );
    }
  }

  // An acknowledged offset must hold the acknowledged record.
  for (const [id, positions] of acks) {
    if (!promised(id)) continue;
    for (const position of positions.filter(placed)) {
      const seen = readAt.get(where(position));
      if (seen !== undefined && seen.id !== id)
        report(
          'lost',
          id,
          `acknowledged at ${where(position)}, but ${seen.consumer} read ${seen.id} there`,
        );
    }
  }

  for (const [consumer, reads] of readsByConsumer) {
    checkConsumer(consumer, reads, complete.get(consumer), { sends, acks, promised, report });
  }

  // Each producer's acknowledged records keep the order it sent them in, per partition.
  const acknowledgedByProducer = new Map<string, { send: Send; position: Position }[]>();
  for (const [id, positions] of acks) {
    const send = sends.get(id);
    if (send === undefined || positions.length !== 1 || !placed(positions[0])) continue;
    const key = `${send.producer}\u0000${partitionKey(send.topic, positions[0].partition)}`;
    const list = acknowledgedByProducer.get(key) ?? [];
    list.push({ send, position: positions[0] });
    acknowledgedByProducer.set(key, list);
  }
  // Without idempotence a retried batch may land after a later one: Kafka allows that.
  for (const list of options.idempotent ? acknowledgedByProducer.values() : []) {
    list.sort((left, right) => left.send.sequence - right.send.sequence);
    for (let index = 1; index < list.length; index++) {
      const before = list[index - 1];
      const after = list[index];
      if (after.position.offset <= before.position.offset)
        report(
          'reordered',
          after.send.id,
          `${after.send.producer} sent it after ${before.send.id}, but it was acknowledged at ` +
            `${where(after.position)}, not after ${where(before.position)}`,
        );
    }
  }

  if (options.exactlyOnce) checkExactlyOnce(options.exactlyOnce, readsByConsumer, complete);
  if (options.atLeastOnce) {
    const { topic, consumerPrefix } = options.atLeastOnce;
    const delivered = new Set<string>();
    for (const [consumer, reads] of readsByConsumer)
      if (consumer.startsWith(consumerPrefix))
        for (const read of reads) if (read.topic === topic) delivered.add(read.id);
    for (const [id, positions] of acks)
      if (positions[0].topic === topic && promised(id) && !delivered.has(id))
        report(
          'lost',
          id,
          `acknowledged at ${where(positions[0])}, never delivered to a member of ${consumerPrefix}`,
        );
  }
  return violations;

  function checkExactlyOnce(
    topics: NonNullable<CheckOptions['exactlyOnce']>,
    allReads: Map<string, Read[]>,
    completeReads: Map<string, Map<string, Readonly<Record<number, number>>>>,
  ): void {
    for (const [consumer, topicsRead] of completeReads) {
      // Only a read_committed reader sees what was committed, and only what was committed.
      if (!topicsRead.has(topics.outputTopic)) continue;
      if (isolationOf.get(`${consumer}\u0000${topics.outputTopic}`) !== 'read_committed') continue;
      const reads = allReads.get(consumer) ?? [];
      const outputsOf = new Map<string, string[]>();
      for (const read of reads) {
        if (read.topic !== topics.outputTopic || read.isolation !== 'read_committed') continue;
        const source = sends.get(read.id)?.source;
        if (source === undefined) continue;
        outputsOf.set(source, [...(outputsOf.get(source) ?? []), `${read.id} at ${where(read)}`]);
      }
      for (const [source, outputs] of outputsOf)
        if (outputs.length > 1)
          report(
            'duplicated',
            source,
            `transformed more than once, ${consumer} read committed outputs ${outputs.join(', ')}`,
          );
      for (const [id, positions] of acks) {
        if (positions[0].topic !== topics.inputTopic || !promised(id)) continue;
        if (!outputsOf.has(id))
          report(
            'lost',
            id,
            `input acknowledged at ${where(positions[0])} has no committed output in ` +
              `${topics.outputTopic} (complete read by ${consumer})`,
          );
      }
    }
  }

  function checkConsumer(
    consumer: string,
    reads: readonly Read[],
    completeTopics: Map<string, Readonly<Record<number, number>>> | undefined,
    context: {
      sends: Map<string, Send>;
      acks: Map<string, Position[]>;
      promised: (id: string) => boolean;
      report: typeof report;
    },
  ): void {
    const lastOffset = new Map<string, Read>();
    const lastSequence = new Map<string, Send>();
    const positionsOfId = new Map<string, Read[]>();
    for (const read of reads) {
      const key = partitionKey(read.topic, read.partition);
      const previous = lastOffset.get(key);
      if (previous !== undefined && read.offset <= previous.offset)
        context.report(
          'reordered',
          read.id,
          `${consumer} read ${where(read)} after ${where(previous)} (${previous.id})`,
        );
      lastOffset.set(key, read);

      const send = context.sends.get(read.id);
      // A second copy of a record is a duplicate (or, without idempotence, a retry): not a reorder.
      const repeated = positionsOfId.has(read.id);
      if (send !== undefined && !repeated) {
        const producerKey = `${send.producer}\u0000${key}`;
        const before = lastSequence.get(producerKey);
        if (options.idempotent && before !== undefined && send.sequence < before.sequence)
          context.report(
            'reordered',
            read.id,
            `${consumer} read it at ${where(read)} after ${before.id}, which ${send.producer} ` +
              `sent later`,
          );
        lastSequence.set(producerKey, send);
        if (send.transaction !== undefined && read.isolation === 'read_committed') {
          if (outcomes.get(send.transaction) === 'abort')
            context.report(
              'aborted-visible',
              read.id,
              `${consumer} (read_committed) read it at ${where(read)}, written in aborted ` +
                `transaction ${send.transaction}`,
            );
        }
      }
      positionsOfId.set(read.id, [...(positionsOfId.get(read.id) ?? []), read]);
    }

    if (options.idempotent)
      for (const [id, positions] of positionsOfId)
        if (positions.length > 1)
          context.report(
            'duplicated',
            id,
            `${consumer} read it at ${positions.map((read) => where(read)).join(' and ')}`,
          );

    if (completeTopics === undefined) return;
    for (const [id, positions] of context.acks) {
      const position = positions[0];
      if (!completeTopics.has(position.topic) || !context.promised(id)) continue;
      if (positionsOfId.has(id)) continue;
      const endOffset = completeTopics.get(position.topic)![position.partition];
      context.report(
        'lost',
        id,
        `acknowledged at ${where(position)}, not read by ${consumer} ` +
          `(complete read to offset ${endOffset ?? 'unknown'})`,
      );
    }
  }
}

/** A failure message listing at most `limit` violations, by kind, for an assertion. */
export function describeViolations(violations: readonly Violation[], limit = 20): string {
  const counts = new Map<ViolationKind, number>();
  for (const violation of violations)
    counts.set(violation.kind, (counts.get(violation.kind) ?? 0) + 1);
  const summary = [...counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
  const shown = violations.slice(0, limit).map((violation) => `  ${violation.message}`);
  const more = violations.length > limit ? [`  ... and ${violations.length - limit} more`] : [];
  return [`${violations.length} violations (${summary}):`, ...shown, ...more].join('\n');
}
