// Settling held records (ack, release, nack, reject), the same for POST /acks and a WebSocket's
// ack messages. Every id is checked before any is applied, so a bad one refuses the whole request
// and changes nothing; per-record outcomes (not held, already settled) are answered per id. The
// answer comes once the new states are durable in __share_group_state.

import { ShareError } from '../share/share-errors.js';
import { type Subscription, parseRecordId } from '../share/subscription.js';

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

export async function settleAcks(subscription: Subscription, body: AckBody): Promise<AckAnswer> {
  const consumer = body.consumer ?? null;
  const errors: Array<{ id: string; code: string }> = [];
  const counts = { acknowledged: 0, released: 0, rejected: 0 };
  // Every id is checked before any is applied: a bad one refuses the whole request.
  const expanded = new Map<string, string[]>();
  for (const items of [body.ack, body.release, body.nack, body.reject]) {
    for (const item of items ?? []) {
      const text = typeof item === 'string' ? item : item.id;
      if (!expanded.has(text)) expanded.set(text, expandIds(text));
    }
  }
  const each = (
    items: ReadonlyArray<string | { id: string }> | undefined,
    counter: keyof typeof counts,
    apply: (id: string, item: string | { id: string }) => string,
  ): void => {
    for (const item of items ?? []) {
      for (const id of expanded.get(typeof item === 'string' ? item : item.id) ?? []) {
        const outcome = apply(id, item);
        if (outcome === 'ok') counts[counter] += 1;
        else errors.push({ id, code: outcome });
      }
    }
  };
  each(body.ack, 'acknowledged', (id) => subscription.acknowledge(id, consumer));
  each(body.release, 'released', (id) => subscription.release(id, consumer));
  each(body.nack, 'released', (id, item) =>
    subscription.release(
      id,
      consumer,
      typeof item === 'string' ? 0 : ((item as { delayMs?: number }).delayMs ?? 0),
    ),
  );
  each(body.reject, 'rejected', (id, item) =>
    subscription.reject(
      id,
      consumer,
      typeof item === 'string' ? null : ((item as { reason?: string }).reason ?? null),
    ),
  );
  await subscription.durable();
  return { ...counts, errors };
}

/** "0:12" or "0:12-20" as the ids it names. */
function expandIds(text: string): string[] {
  const range = /^(\d+):(\d+)-(\d+)$/.exec(text);
  if (range === null) {
    if (parseRecordId(text) === null)
      throw new ShareError('invalid-record-id', `${text} is not <partition>:<offset>`);
    return [text];
  }
  const first = Number(range[2]);
  const last = Number(range[3]);
  if (last < first || last - first >= 10000)
    throw new ShareError(
      'invalid-record-id',
      `${text}: a range runs forward over at most 10000 offsets`,
    );
  const ids: string[] = [];
  for (let offset = first; offset <= last; offset += 1) ids.push(`${range[1]}:${offset}`);
  return ids;
}
