// A record as consumers receive it, encoded as JSON. Every push transport sends the same JSON: an
// SSE event's data, an element of a WebSocket message's or a webhook body's `records`. It is
// built field by field (about half the cost of an object per record through JSON.stringify):
// as text, once, for WebSocket and webhook bodies; as bytes straight into one buffer per write
// for SSE, where a plain ASCII value is copied without becoming a string at all.
//
//   {"id":"0:12","topic":"orders","partition":0,"offset":12,"key":"k","value":"v",
//    "headers":{"h":"1"},"deliveryCount":1,"timestamp":1700000000000}
//
// Keys, values and header values are UTF-8 text (invalid sequences become U+FFFD, as
// Buffer.toString does) or base64 when the subscription says `valueEncoding: base64`.

import type { RecordHeader } from '../record/records.js';
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

/**
 * One record handed to a consumer: what settling it needs, and its JSON text. The text is built
 * when first asked for (WebSocket and webhook bodies); an SSE stream writes the record's bytes
 * straight into its event buffer instead (`sseEvents`). The record's key, value and headers are
 * held here, so the text stays what was delivered after the record is settled and dropped them.
 */
export class Delivery {
  readonly partition: number;
  readonly offset: number;
  readonly deliveryCount: number;
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: readonly RecordHeader[];
  private jsonText: string | null = null;

  constructor(
    record: TrackedRecord,
    /** The topic already encoded as a JSON string (it is the same for every record). */
    readonly topicJson: string,
    readonly encoding: ValueEncoding,
  ) {
    this.partition = record.partition;
    this.offset = record.offset;
    this.deliveryCount = record.deliveryCount;
    this.timestamp = record.timestamp;
    this.key = record.key;
    this.value = record.value;
    this.headers = record.headers;
  }

  /** `<partition>:<offset>`, the SSE event id. */
  get id(): string {
    return recordId(this.partition, this.offset);
  }

  /** The record as DeliveryFields, encoded. */
  get json(): string {
    if (this.jsonText === null) {
      const id = this.id;
      this.jsonText =
        `{"id":"${id}","topic":${this.topicJson},"partition":${this.partition},` +
        `"offset":${this.offset},"key":${textJson(this.key, this.encoding)},` +
        `"value":${textJson(this.value, this.encoding)},` +
        `"headers":${headersJson(this.headers, this.encoding)},` +
        `"deliveryCount":${this.deliveryCount},"timestamp":${this.timestamp}}`;
    }
    return this.jsonText;
  }
}

export type ValueEncoding = 'utf8' | 'base64';

/** `topicJson` is the topic already encoded as a JSON string (it is the same for every record). */
export function encodeDelivery(
  record: TrackedRecord,
  topicJson: string,
  encoding: ValueEncoding,
): Delivery {
  return new Delivery(record, topicJson, encoding);
}

/**
 * The deliveries as Server-Sent Events, one `record` event each (id, event, data: the record's
 * JSON), in one buffer: the text a stream writes with one socket write. Keys and values that are
 * printable ASCII without a quote or backslash (JSON as they are) are copied as bytes; others go
 * through the same text encoding as `json`, so the data is byte for byte what `json` gives.
 */
export function sseEvents(deliveries: readonly Delivery[]): Buffer {
  // Room for every event whose key and value are plain text; others grow the buffer.
  let capacity = 0;
  for (const delivery of deliveries)
    capacity +=
      256 +
      3 * delivery.topicJson.length +
      (delivery.key?.length ?? 0) +
      (delivery.value?.length ?? 0);
  const writer = new ByteWriter(capacity);
  // The text between the numbers is the same for every record of a partition (and the timestamp
  // for most of a batch): encoded once per call, then copied, the common cases (no key, no
  // headers) as one piece each; numbers are written as digits. No string is made per record.
  let topicJson: string | null = null;
  let partition = -1;
  let idStart: Uint8Array = pieces.none;
  let dataStart: Uint8Array = pieces.none;
  let topicField: Uint8Array = pieces.none;
  let timestamp = NaN;
  let timestampToEnd: Uint8Array = pieces.none;
  for (const delivery of deliveries) {
    if (delivery.topicJson !== topicJson || delivery.partition !== partition) {
      topicJson = delivery.topicJson;
      partition = delivery.partition;
      idStart = bytesOf(`id: ${partition}:`);
      dataStart = bytesOf(`\nevent: record\ndata: {"id":"${partition}:`);
      topicField = bytesOf(`","topic":${topicJson},"partition":${partition},"offset":`);
    }
    if (delivery.timestamp !== timestamp) {
      timestamp = delivery.timestamp;
      timestampToEnd = bytesOf(`,"timestamp":${timestamp}}\n\n`);
    }
    writer.bytes(idStart);
    const offsetStart = writer.integer(delivery.offset);
    const offsetEnd = offsetStart + writer.lastNumberLength;
    writer.bytes(dataStart);
    writer.copy(offsetStart, offsetEnd);
    writer.bytes(topicField);
    writer.copy(offsetStart, offsetEnd);
    if (delivery.key === null) writer.bytes(pieces.nullKey);
    else {
      writer.bytes(pieces.key);
      writer.text(delivery.key, delivery.encoding);
      writer.bytes(pieces.value);
    }
    writer.text(delivery.value, delivery.encoding);
    if (delivery.headers.length === 0) writer.bytes(pieces.noHeaders);
    else {
      writer.bytes(pieces.headers);
      writer.utf8(headersJson(delivery.headers, delivery.encoding));
      writer.bytes(pieces.deliveryCount);
    }
    writer.integer(delivery.deliveryCount);
    writer.bytes(timestampToEnd);
  }
  return writer.written();
}

function bytesOf(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'));
}

/** The fixed text of an SSE record event between its fields. */
const pieces = {
  none: new Uint8Array(0),
  key: bytesOf(',"key":'),
  nullKey: bytesOf(',"key":null,"value":'),
  value: bytesOf(',"value":'),
  headers: bytesOf(',"headers":'),
  noHeaders: bytesOf(',"headers":{},"deliveryCount":'),
  deliveryCount: bytesOf(',"deliveryCount":'),
  null: bytesOf('null'),
};

/** Appends bytes, whole numbers and text to one growing buffer. */
class ByteWriter {
  private buffer: Buffer;
  private length = 0;
  /** How many bytes the last `integer` wrote. */
  lastNumberLength = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(Math.max(capacity, 64));
  }

  bytes(piece: Uint8Array): void {
    this.reserve(piece.length);
    this.buffer.set(piece, this.length);
    this.length += piece.length;
  }

  /**
   * A whole number in decimal, as JSON writes it (one not at least 0 and safe: as
   * JSON.stringify writes it); answers where it starts, for `copy`.
   */
  integer(value: number): number {
    const start = this.length;
    if (!(value >= 0 && Number.isSafeInteger(value))) {
      this.utf8(JSON.stringify(value));
      this.lastNumberLength = this.length - start;
      return start;
    }
    this.reserve(16);
    const buffer = this.buffer;
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits += 1;
    let rest = value;
    for (let position = start + digits - 1; position >= start; position -= 1) {
      const next = Math.floor(rest / 10);
      buffer[position] = 0x30 + rest - next * 10;
      rest = next;
    }
    this.length += digits;
    this.lastNumberLength = digits;
    return start;
  }

  /** Bytes written before, from `start` to `end` (a few: a loop, not a native call), again. */
  copy(start: number, end: number): void {
    const count = end - start;
    this.reserve(count);
    const buffer = this.buffer;
    for (let index = 0; index < count; index += 1)
      buffer[this.length + index] = buffer[start + index];
    this.length += count;
  }

  utf8(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
  }

  /**
   * A key or value as its JSON string (or null), as `textJson` gives it: printable ASCII without
   * a quote or backslash is copied as it is, anything else goes through `textJson`.
   */
  text(bytes: Buffer | null, encoding: ValueEncoding): void {
    if (bytes === null) {
      this.bytes(pieces.null);
      return;
    }
    if (encoding === 'utf8' && isPlainJsonText(bytes)) {
      this.reserve(bytes.length + 2);
      this.buffer[this.length] = 0x22;
      this.buffer.set(bytes, this.length + 1);
      this.buffer[this.length + 1 + bytes.length] = 0x22;
      this.length += bytes.length + 2;
      return;
    }
    this.utf8(textJson(bytes, encoding));
  }

  written(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}

/** Printable ASCII without `"` or `\\`: the bytes are their own JSON string's content. */
function isPlainJsonText(bytes: Buffer): boolean {
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index];
    if (byte < 0x20 || byte > 0x7e || byte === 0x22 || byte === 0x5c) return false;
  }
  return true;
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

function headersJson(headers: readonly RecordHeader[], encoding: ValueEncoding): string {
  if (headers.length === 0) return '{}';
  // Through an object, so a repeated header name keeps its last value, as it always has.
  const object: Record<string, string | null> = {};
  for (const header of headers)
    object[header.key] =
      header.value === null
        ? null
        : header.value.toString(encoding === 'base64' ? 'base64' : 'utf8');
  return JSON.stringify(object);
}
