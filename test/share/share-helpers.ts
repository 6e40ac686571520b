// What the share-group tests share: a broker with share groups on, producing numbered values,
// fetching until enough records came, and acknowledging records as accepted.

import { type Broker, type StartBrokerOptions, startBroker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';
import { produce } from './push-helpers.js';
import { Acknowledge, type ShareConsumer, type ShareRecord } from './share-consumer.js';

export function startShareBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  return startBroker({
    ...options,
    settings: { 'group.share.enable': 'true', ...options.settings },
  });
}

export async function produceValues(broker: Broker, topic: string, count: number, from = 0) {
  await produce(
    broker,
    topic,
    Array.from({ length: count }, (_, index) => ({ value: `v${from + index}` })),
  );
}

/** Fetches until `count` records came (a share fetch may answer fewer than are available). */
export async function fetchRecords(
  consumer: ShareConsumer,
  count: number,
  options: { maxRecords?: number } = {},
): Promise<ShareRecord[]> {
  const records: ShareRecord[] = [];
  await waitFor(
    async () => {
      records.push(...(await consumer.fetch({ maxWaitMs: 200, ...options })));
      return records.length >= count;
    },
    () => `${count} records fetched, got ${records.length}`,
  );
  return records;
}

export const accepted = (records: readonly ShareRecord[]) =>
  records.map(({ partition, offset }) => ({ partition, offset, type: Acknowledge.accept }));
