// A record as consumers receive it, encoded as JSON text once per delivery. Every push transport
// sends the same text: an SSE event's data, an element of a WebSocket message's or a webhook
// body's `records`. Encoding it here, field by field, costs about half of building an object per
// record and handing it to JSON.stringify, and no transport encodes a record twice.
//
//   {"id":"0:12","topic":"orders","partition":0,"offset":12,"key":"k","value":"v",
//    "headers":{"h":"1"},"deliveryCount":1,"timestamp":1700000000000}
//
// Keys, values and header values are UTF-8 text (invalid sequences become U+FFFD, as
// Buffer.toString does) or base64 when the subscription says `valueEncoding: base64`.

import type { TrackedRecord } from './share-partition.js';

/** The JSON shape of a delivered record (the OpenAPI document's `Record`). */
export interface DeliveryFields {
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: string | null;
  readonly value: string | null;
  readonly headers: Record<string, string | null>;
  readonly deliveryCount: number;
  readonly timestamp: number;
}

/** One record handed to a consumer: what settling it needs, and its JSON text. */
export interface Delivery {
  /** `<partition>:<offset>`, the SSE event id. */
  readonly id: string;
  readonly partition: number;
  readonly offset: number;
  readonly deliveryCount: number;
  /** The record as DeliveryFields, encoded. */
  readonly json: string;
}

export type ValueEncoding = 'utf8' | 'base64';

/** `topicJson` is the topic already encoded as a JSON string (it is the same for every record). */
export function encodeDelivery(
  record: TrackedRecord,
  topicJson: string,
  encoding: ValueEncoding,
): Delivery {
  const id = recordId(record.partition, record.offset);
  const json =
    `{"id":"${id}","topic":${topicJson},"partition":${record.partition},` +
    `"offset":${record.offset},"key":${textJson(record.key, encoding)},` +
    `"value":${textJson(record.value, encoding)},"headers":${headersJson(record, encoding)},` +
    `"deliveryCount":${record.deliveryCount},"timestamp":${record.timestamp}}`;
  return {
    id,
    partition: record.partition,
    offset: record.offset,
    deliveryCount: record.deliveryCount,
    json,
  };
}

/** The deliveries as a JSON array of records. */
export function deliveriesJson(deliveries: readonly Delivery[]): string {
  let text = '[';
  for (let index = 0; index < deliveries.length; index += 1)
    text += index === 0 ? deliveries[index].json : `,${deliveries[index].json}`;
  return `${text}]`;
}

export function recordId(partition: number, offset: number): string {
  return `${partition}:${offset}`;
}

export function parseRecordId(id: string): { partition: number; offset: number } | null {
  const match = /^(\d{1,9}):(\d{1,16})$/.exec(id);
  if (match === null) return null;
  return { partition: Number(match[1]), offset: Number(match[2]) };
}

function textJson(bytes: Buffer | null, encoding: ValueEncoding): string {
  if (bytes === null) return 'null';
  // base64 needs no escaping.
  if (encoding === 'base64') return `"${bytes.toString('base64')}"`;
  return JSON.stringify(bytes.toString('utf8'));
}

function headersJson(record: TrackedRecord, encoding: ValueEncoding): string {
  if (record.headers.length === 0) return '{}';
  // Through an object, so a repeated header name keeps its last value, as it always has.
  const headers: Record<string, string | null> = {};
  for (const header of record.headers)
    headers[header.key] =
      header.value === null
        ? null
        : header.value.toString(encoding === 'base64' ? 'base64' : 'utf8');
  return JSON.stringify(headers);
}
