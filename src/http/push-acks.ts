// Settling held records (ack, release, nack, reject), the same for POST /acks and a WebSocket's
// ack messages. Every id is checked before any is applied, so a bad one refuses the whole request
// and changes nothing; per-record outcomes (not held, already settled) are answered per id. The
// answer comes once the new states are durable in __share_group_state.

import { parseRecordId, recordId } from '../share/delivery.js';
import { ShareError } from '../share/share-errors.js';
import type { SettleOutcome, Subscription } from '../share/subscription.js';

export interface AckBody {
  readonly consumer?: string;
  readonly ack?: readonly string[];
  readonly release?: readonly string[];
  readonly nack?: ReadonlyArray<string | { id: string; delayMs?: number }>;
  readonly reject?: ReadonlyArray<string | { id: string; reason?: string }>;
}

export interface AckAnswer {
  readonly acknowledged: number;
  readonly released: number;
  readonly rejected: number;
  readonly errors: ReadonlyArray<{ id: string; code: string }>;
}

/** The offsets an id names: "0:12" is 12 to 12, "0:12-20" is 12 to 20. */
interface OffsetRange {
  readonly partition: number;
  readonly firstOffset: number;
  readonly lastOffset: number;
}

const maxRangeOffsets = 10000;

export async function settleAcks(subscription: Subscription, body: AckBody): Promise<AckAnswer> {
  const consumer = body.consumer ?? null;
  const errors: Array<{ id: string; code: string }> = [];
  const counts = { acknowledged: 0, released: 0, rejected: 0 };
  // Every id is checked before any is applied: a bad one refuses the whole request.
  const ranges = new Map<string, OffsetRange>();
  for (const items of [body.ack, body.release, body.nack, body.reject]) {
    for (const item of items ?? []) {
      const text = typeof item === 'string' ? item : item.id;
      if (!ranges.has(text)) ranges.set(text, parseRange(text));
    }
  }
  const each = <Item extends string | { id: string }>(
    items: readonly Item[] | undefined,
    counter: keyof typeof counts,
    apply: (partition: number, offset: number, item: Item) => SettleOutcome,
  ): void => {
    for (const item of items ?? []) {
      const range = ranges.get(typeof item === 'string' ? item : item.id);
      if (range === undefined) continue;
      const { partition, firstOffset, lastOffset } = range;
      for (let offset = firstOffset; offset <= lastOffset; offset += 1) {
        const outcome = apply(partition, offset, item);
        if (outcome === 'ok') counts[counter] += 1;
        else errors.push({ id: recordId(partition, offset), code: outcome });
      }
    }
  };
  // Acknowledgements a range at a time (the common case: a consumer acks what it processed).
  for (const item of body.ack ?? []) {
    const range = ranges.get(item);
    if (range === undefined) continue;
    const { acknowledged, refused } = subscription.acknowledgeRange(
      range.partition,
      range.firstOffset,
      range.lastOffset,
      consumer,
    );
    counts.acknowledged += acknowledged;
    for (const [offset, code] of refused)
      errors.push({ id: recordId(range.partition, offset), code });
  }
  each(body.release, 'released', (partition, offset) =>
    subscription.release(partition, offset, consumer),
  );
  each(body.nack, 'released', (partition, offset, item) =>
    subscription.release(
      partition,
      offset,
      consumer,
      typeof item === 'string' ? 0 : (item.delayMs ?? 0),
    ),
  );
  each(body.reject, 'rejected', (partition, offset, item) =>
    subscription.reject(
      partition,
      offset,
      consumer,
      typeof item === 'string' ? null : (item.reason ?? null),
    ),
  );
  await subscription.durable();
  return { ...counts, errors };
}

/** "0:12" or "0:12-20" as the offsets it names. */
function parseRange(text: string): OffsetRange {
  const range = /^(\d+):(\d+)-(\d+)$/.exec(text);
  if (range === null) {
    const parsed = parseRecordId(text);
    if (parsed === null)
      throw new ShareError('invalid-record-id', `${text} is not <partition>:<offset>`);
    return { partition: parsed.partition, firstOffset: parsed.offset, lastOffset: parsed.offset };
  }
  const firstOffset = Number(range[2]);
  const lastOffset = Number(range[3]);
  if (lastOffset < firstOffset || lastOffset - firstOffset >= maxRangeOffsets)
    throw new ShareError(
      'invalid-record-id',
      `${text}: a range runs forward over at most ${maxRangeOffsets} offsets`,
    );
  return { partition: Number(range[1]), firstOffset, lastOffset };
}
