// The JSON shapes of the push delivery API, written once as schema data: the door validates
// request bodies against them and serves them as components of /v1/openapi.json.
//
// A few builders below say the recurring shapes once: a request object refuses properties it does
// not name (closed), a response object does not (clients ignore what they do not know); bounds
// are inclusive, as JSON Schema's minimum and maximum are.

import type { JsonSchema } from './json-schema.js';
import { shareErrorCodes } from '../share/share-errors.js';

const string: JsonSchema = { type: 'string' };
const integer: JsonSchema = { type: 'integer' };
const boolean: JsonSchema = { type: 'boolean' };
const textOrNull: JsonSchema = { type: 'string', nullable: true };

/** An integer in [minimum, maximum]; without a maximum, at least `minimum`. */
function integerIn(minimum: number, maximum?: number): JsonSchema {
  return maximum === undefined
    ? { type: 'integer', minimum }
    : { type: 'integer', minimum, maximum };
}

function oneOf(...values: readonly string[]): JsonSchema {
  return { type: 'string', enum: values };
}

function arrayOf(items: JsonSchema, maxItems?: number): JsonSchema {
  return maxItems === undefined ? { type: 'array', items } : { type: 'array', maxItems, items };
}

function reference(component: string): JsonSchema {
  return { $ref: `#/components/schemas/${component}` };
}

interface ObjectOptions {
  readonly required?: readonly string[];
  readonly description?: string;
}

/** A request object: a property it does not name is refused. */
function closedObject(properties: Record<string, JsonSchema>, options: ObjectOptions = {}) {
  return objectSchema(properties, options, false);
}

/** A response object: clients ignore properties they do not know. */
function object(properties: Record<string, JsonSchema>, options: ObjectOptions = {}) {
  return objectSchema(properties, options, true);
}

function objectSchema(
  properties: Record<string, JsonSchema>,
  { required, description }: ObjectOptions,
  open: boolean,
): JsonSchema {
  return {
    type: 'object',
    ...(description === undefined ? {} : { description }),
    ...(open ? {} : { additionalProperties: false }),
    ...(required === undefined ? {} : { required }),
    properties,
  };
}

const nameSchema: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 249,
  pattern: '^[A-Za-z0-9._-]+$',
};

const headersSchema: JsonSchema = { type: 'object', additionalProperties: textOrNull };

const recordId: JsonSchema = {
  type: 'string',
  pattern: '^[0-9]{1,9}:[0-9]{1,16}(-[0-9]{1,16})?$',
};

/** How many records one ack request or one produce request may name. */
const RECORDS_PER_REQUEST_MAX = 10000;

/** Record ids to settle; with `detail`, an item may also be an object: the id and that detail. */
function settlementList(detail?: Record<string, JsonSchema>): JsonSchema {
  const items =
    detail === undefined
      ? recordId
      : { anyOf: [recordId, closedObject({ id: recordId, ...detail }, { required: ['id'] })] };
  return arrayOf(items, RECORDS_PER_REQUEST_MAX);
}

export const pushSchemas = {
  ProduceRecord: closedObject({
    key: textOrNull,
    value: textOrNull,
    headers: headersSchema,
    partition: integerIn(0),
    timestamp: integerIn(0),
  }),
  ProduceRequest: closedObject(
    {
      records: {
        type: 'array',
        minItems: 1,
        maxItems: RECORDS_PER_REQUEST_MAX,
        items: reference('ProduceRecord'),
      },
      valueEncoding: {
        ...oneOf('utf8', 'base64'),
        description: 'How keys, values and header values are written: UTF-8 text or base64.',
      },
    },
    { required: ['records'] },
  ),
  ProduceResponse: object(
    {
      offsets: arrayOf(
        object({ partition: integer, offset: integer }, { required: ['partition', 'offset'] }),
      ),
    },
    { required: ['offsets'] },
  ),
  Webhook: closedObject(
    {
      url: { type: 'string', pattern: '^https?://', maxLength: 2048 },
      secret: { type: 'string', minLength: 1, maxLength: 1024 },
      concurrency: integerIn(1, 64),
      batchSize: integerIn(1, 10000),
      timeoutMs: integerIn(1, 600000),
      retryBackoffMs: integerIn(1, 3600000),
      maxRetryBackoffMs: integerIn(1, 86400000),
    },
    { required: ['url'] },
  ),
  SubscriptionRequest: closedObject(
    {
      topic: nameSchema,
      start: oneOf('earliest', 'latest'),
      maxDeliveries: integerIn(1, 1000),
      deadLetterTopic: nameSchema,
      ackTimeoutMs: integerIn(1, 86400000),
      maxInFlight: integerIn(1, 100000),
      messageTtlMs: { ...integerIn(1), nullable: true },
      deadLetterExpired: boolean,
      ordering: oneOf('none', 'key'),
      valueEncoding: oneOf('utf8', 'base64'),
      webhook: reference('Webhook'),
    },
    { required: ['topic'] },
  ),
  Subscription: object(
    {
      name: string,
      topic: string,
      start: string,
      maxDeliveries: integer,
      deadLetterTopic: string,
      ackTimeoutMs: integer,
      maxInFlight: integer,
      messageTtlMs: { type: 'integer', nullable: true },
      deadLetterExpired: boolean,
      ordering: string,
      valueEncoding: string,
      webhook: { type: 'object', nullable: true, description: 'The webhook, its secret left out.' },
      webhookStatus: {
        ...object(
          {
            state: oneOf('delivering', 'unreachable'),
            since: {
              type: 'integer',
              nullable: true,
              description: 'since when (ms since the epoch) the receiver has not been reached',
            },
            lastError: { type: 'string', nullable: true },
          },
          {
            required: ['state', 'since', 'lastError'],
            description:
              'Whether the webhook receiver answers (null without a webhook); while unreachable, its records wait and no delivery is counted',
          },
        ),
        nullable: true,
      },
      stats: object(
        {
          available: integer,
          inFlight: integer,
          delayed: integer,
          acknowledged: integer,
          deadLettered: integer,
          expired: integer,
          lag: integer,
          consumers: integer,
        },
        { required: ['available', 'inFlight', 'acknowledged', 'deadLettered', 'expired', 'lag'] },
      ),
    },
    { required: ['name', 'topic', 'stats'] },
  ),
  SubscriptionList: object(
    {
      subscriptions: arrayOf(string),
      servedBy: {
        type: 'object',
        description: 'cluster mode: subscription name → the id of the broker serving it',
        additionalProperties: integer,
      },
      unreachable: {
        ...arrayOf(integer),
        description: 'cluster mode: brokers that did not answer; their subscriptions are missing',
      },
      unavailable: {
        ...arrayOf(integer),
        description:
          'cluster mode: __share_group_state partitions without a leader ready; their subscriptions are missing',
      },
    },
    { required: ['subscriptions'] },
  ),
  Record: object(
    {
      id: { type: 'string', description: '<partition>:<offset>, the SSE event id' },
      topic: string,
      partition: integer,
      offset: integer,
      key: textOrNull,
      value: textOrNull,
      headers: headersSchema,
      deliveryCount: integerIn(1),
      timestamp: integer,
    },
    {
      description: 'A delivered record: the SSE event data, an item of a webhook body.',
      required: ['id', 'topic', 'partition', 'offset', 'deliveryCount', 'timestamp'],
    },
  ),
  WebhookCall: object(
    { subscription: string, records: arrayOf(reference('Record')) },
    { required: ['subscription', 'records'] },
  ),
  AckRequest: closedObject({
    consumer: {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      description: 'When given, only records this consumer holds are settled.',
    },
    ack: settlementList(),
    release: settlementList(),
    nack: settlementList({ delayMs: integerIn(0, 86400000) }),
    reject: settlementList({ reason: { type: 'string', maxLength: 4096 } }),
  }),
  AckResponse: object(
    {
      acknowledged: integer,
      released: integer,
      rejected: integer,
      errors: arrayOf(
        object(
          {
            id: string,
            code: {
              ...oneOf('unknown-record', 'not-acquired', 'not-holder', 'settled'),
              description:
                'unknown-record: not read yet, or no such partition; not-acquired: nobody holds it; not-holder: another consumer holds it; settled: already acknowledged or dead-lettered',
            },
          },
          { required: ['id', 'code'] },
        ),
      ),
    },
    { required: ['acknowledged', 'released', 'rejected', 'errors'] },
  ),
  Problem: object(
    {
      type: string,
      title: string,
      status: integer,
      code: oneOf(...Object.keys(shareErrorCodes)),
      detail: string,
      errors: arrayOf({ type: 'object' }),
    },
    {
      description: 'An error (RFC 9457 problem document) with a stable code.',
      required: ['type', 'title', 'status', 'code', 'detail'],
    },
  ),
} as const satisfies Record<string, JsonSchema>;

export type PushSchemaName = keyof typeof pushSchemas;
