// Shared pieces of the push delivery tests: a broker with an HTTP door, a small client for the
// /v1 API over real HTTP (fetch), a Server-Sent Events reader that parses the stream as a browser
// would, and kafkajs to create topics, produce and read dead-letter topics.

import assert from 'node:assert/strict';
import { Kafka, logLevel, type IHeaders } from 'kafkajs';

import { type Broker, type StartBrokerOptions, startBroker } from '../../src/broker.js';
import { waitFor } from '../helpers/poll.js';

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1';

/** A JSON answer as the tests read it: any shape, checked by the assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface DeliveredRecord {
  id: string;
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string | null>;
  deliveryCount: number;
  timestamp: number;
}

export async function startPushBroker(options: StartBrokerOptions = {}): Promise<Broker> {
  return startBroker({
    ...options,
    settings: { 'http.listeners': 'http://127.0.0.1:0', ...options.settings },
  });
}

/** What the Kafka helpers need of a broker (in-process or a child process). */
export interface KafkaAddress {
  readonly bootstrapServers: string;
}

export function kafka(broker: KafkaAddress): Kafka {
  return new Kafka({
    brokers: broker.bootstrapServers.split(','),
    clientId: 'push-test',
    logLevel: logLevel.NOTHING,
    retry: { retries: 5, initialRetryTime: 100 },
  });
}

export async function createTopic(
  broker: KafkaAddress,
  topic: string,
  numPartitions = 1,
): Promise<void> {
  const admin = kafka(broker).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/** Produces with kafkajs (acks=all); `timestamp` (ms since the epoch) sets a record's CreateTime. */
export async function produce(
  broker: KafkaAddress,
  topic: string,
  messages: ReadonlyArray<{
    key?: string;
    value: string;
    headers?: IHeaders;
    partition?: number;
    timestamp?: string;
  }>,
): Promise<void> {
  const producer = kafka(broker).producer();
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages: [...messages] });
  } finally {
    await producer.disconnect();
  }
}

/** Reads a whole topic (a dead-letter topic) with a kafkajs consumer until `count` records came. */
export async function readTopic(
  broker: KafkaAddress,
  topic: string,
  count: number,
): Promise<Array<{ key: string | null; value: string | null; headers: Record<string, string> }>> {
  const consumer = kafka(broker).consumer({ groupId: `reader-${topic}-${Math.random()}` });
  const read: Array<{ key: string | null; value: string | null; headers: Record<string, string> }> =
    [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(message.headers ?? {}))
          headers[name] = String(value);
        read.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? null,
          headers,
        });
      },
    });
    await waitFor(
      () => read.length >= count,
      () => `${count} records in ${topic}, read ${read.length}`,
    );
  } finally {
    await consumer.disconnect();
  }
  return read;
}

/** The /v1 API over real HTTP. */
export class PushClient {
  readonly base: string;

  /** An in-process broker, or the base URL (http://host:port) of one in a child process. */
  constructor(broker: Broker | string) {
    if (typeof broker === 'string') {
      this.base = broker;
      return;
    }
    const [listener] = broker.httpListeners;
    assert.ok(listener, 'the broker has an HTTP listener');
    this.base = `http://127.0.0.1:${listener.port}`;
  }

  async request(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json; contentType: string }> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    const contentType = response.headers.get('content-type') ?? '';
    return {
      status: response.status,
      contentType,
      body: text.length > 0 && contentType.includes('json') ? JSON.parse(text) : text,
    };
  }

  async subscribe(name: string, definition: Record<string, unknown>): Promise<Json> {
    const answer = await this.request('PUT', `/v1/subscriptions/${name}`, definition);
    assert.ok(answer.status === 201 || answer.status === 200, JSON.stringify(answer.body));
    return answer.body;
  }

  async stats(name: string): Promise<Record<string, number>> {
    const answer = await this.request('GET', `/v1/subscriptions/${name}`);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body.stats;
  }

  async acks(name: string, body: Record<string, unknown>): Promise<Json> {
    const answer = await this.request('POST', `/v1/subscriptions/${name}/acks`, body);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body;
  }

  events(name: string, query = '', lastEventId?: string): SseReader {
    return new SseReader(
      `${this.base}/v1/subscriptions/${name}/events${query}`,
      lastEventId === undefined ? {} : { 'last-event-id': lastEventId },
    );
  }
}

/** An SSE stream read with fetch and parsed by the text/event-stream rules (data, id, event). */
export class SseReader {
  readonly records: DeliveredRecord[] = [];
  /** When each record event was received (Date.now()). */
  readonly receivedAtMs: number[] = [];
  consumer: string | null = null;
  lastEventId: string | null = null;
  status = 0;
  private readonly controller = new AbortController();
  readonly done: Promise<void>;

  constructor(url: string, headers: Record<string, string>) {
    this.done = this.read(url, headers).catch(() => undefined);
  }

  private async read(url: string, headers: Record<string, string>): Promise<void> {
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: this.controller.signal,
    });
    this.status = response.status;
    if (response.body === null) return;
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let event = 'message';
        let data = '';
        let id: string | null = null;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data += data.length > 0 ? `\n${value}` : value;
          else if (field === 'id') id = value;
        }
        if (id !== null) this.lastEventId = id;
        if (event === 'consumer')
          this.consumer = (JSON.parse(data) as { consumer: string }).consumer;
        if (event === 'record') {
          this.records.push(JSON.parse(data) as DeliveredRecord);
          this.receivedAtMs.push(Date.now());
        }
      }
    }
  }

  async waitForRecords(count: number, what = ''): Promise<DeliveredRecord[]> {
    await waitFor(
      () => this.records.length >= count,
      () =>
        `${count} SSE records ${what}, have ${this.records.map((record) => `${record.id}#${record.deliveryCount}`).join(' ')}`,
    );
    return this.records;
  }

  close(): Promise<void> {
    this.controller.abort();
    return this.done;
  }
}
