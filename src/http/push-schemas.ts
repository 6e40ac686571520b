// The JSON shapes of the push delivery API, written once as schema data: the door validates
// request bodies against them and serves them as components of /v1/openapi.json.

import type { JsonSchema } from './json-schema.js';
import { shareErrorCodes } from '../share/share-errors.js';

const nameSchema: JsonSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 249,
  pattern: '^[A-Za-z0-9._-]+$',
};

const recordIdPattern = '^[0-9]{1,9}:[0-9]{1,16}(-[0-9]{1,16})?$';

const textOrNull: JsonSchema = { type: 'string', nullable: true };

export const pushSchemas = {
  ProduceRecord: {
    type: 'object',
    additionalProperties: false,
    properties: {
      key: textOrNull,
      value: textOrNull,
      headers: { type: 'object', additionalProperties: textOrNull },
      partition: { type: 'integer', minimum: 0 },
      timestamp: { type: 'integer', minimum: 0 },
    },
  },
  ProduceRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['records'],
    properties: {
      records: {
        type: 'array',
        minItems: 1,
        maxItems: 10000,
        items: { $ref: '#/components/schemas/ProduceRecord' },
      },
      valueEncoding: {
        type: 'string',
        enum: ['utf8', 'base64'],
        description: 'How keys, values and header values are written: UTF-8 text or base64.',
      },
    },
  },
  ProduceResponse: {
    type: 'object',
    required: ['offsets'],
    properties: {
      offsets: {
        type: 'array',
        items: {
          type: 'object',
          required: ['partition', 'offset'],
          properties: { partition: { type: 'integer' }, offset: { type: 'integer' } },
        },
      },
    },
  },
  Webhook: {
    type: 'object',
    additionalProperties: false,
    required: ['url'],
    properties: {
      url: { type: 'string', pattern: '^https?://', maxLength: 2048 },
      secret: { type: 'string', minLength: 1, maxLength: 1024 },
      concurrency: { type: 'integer', minimum: 1, maximum: 64 },
      batchSize: { type: 'integer', minimum: 1, maximum: 10000 },
      timeoutMs: { type: 'integer', minimum: 1, maximum: 600000 },
      retryBackoffMs: { type: 'integer', minimum: 1, maximum: 3600000 },
      maxRetryBackoffMs: { type: 'integer', minimum: 1, maximum: 86400000 },
    },
  },
  SubscriptionRequest: {
    type: 'object',
    additionalProperties: false,
    required: ['topic'],
    properties: {
      topic: nameSchema,
      start: { type: 'string', enum: ['earliest', 'latest'] },
      maxDeliveries: { type: 'integer', minimum: 1, maximum: 1000 },
      deadLetterTopic: nameSchema,
      ackTimeoutMs: { type: 'integer', minimum: 1, maximum: 86400000 },
      maxInFlight: { type: 'integer', minimum: 1, maximum: 100000 },
      messageTtlMs: { type: 'integer', minimum: 1, nullable: true },
      deadLetterExpired: { type: 'boolean' },
      ordering: { type: 'string', enum: ['none', 'key'] },
      valueEncoding: { type: 'string', enum: ['utf8', 'base64'] },
      webhook: { $ref: '#/components/schemas/Webhook' },
    },
  },
  Subscription: {
    type: 'object',
    required: ['name', 'topic', 'stats'],
    properties: {
      name: { type: 'string' },
      topic: { type: 'string' },
      start: { type: 'string' },
      maxDeliveries: { type: 'integer' },
      deadLetterTopic: { type: 'string' },
      ackTimeoutMs: { type: 'integer' },
      maxInFlight: { type: 'integer' },
      messageTtlMs: { type: 'integer', nullable: true },
      deadLetterExpired: { type: 'boolean' },
      ordering: { type: 'string' },
      valueEncoding: { type: 'string' },
      webhook: {
        type: 'object',
        nullable: true,
        description: 'The webhook, its secret left out.',
      },
      stats: {
        type: 'object',
        required: ['available', 'inFlight', 'acknowledged', 'deadLettered', 'expired', 'lag'],
        properties: {
          available: { type: 'integer' },
          inFlight: { type: 'integer' },
          delayed: { type: 'integer' },
          acknowledged: { type: 'integer' },
          deadLettered: { type: 'integer' },
          expired: { type: 'integer' },
          lag: { type: 'integer' },
          consumers: { type: 'integer' },
        },
      },
    },
  },
  SubscriptionList: {
    type: 'object',
    required: ['subscriptions'],
    properties: { subscriptions: { type: 'array', items: { type: 'string' } } },
  },
  Record: {
    type: 'object',
    description: 'A delivered record: the SSE event data, an item of a webhook body.',
    required: ['id', 'topic', 'partition', 'offset', 'deliveryCount', 'timestamp'],
    properties: {
      id: { type: 'string', description: '<partition>:<offset>, the SSE event id' },
      topic: { type: 'string' },
      partition: { type: 'integer' },
      offset: { type: 'integer' },
      key: textOrNull,
      value: textOrNull,
      headers: { type: 'object', additionalProperties: textOrNull },
      deliveryCount: { type: 'integer', minimum: 1 },
      timestamp: { type: 'integer' },
    },
  },
  WebhookCall: {
    type: 'object',
    required: ['subscription', 'records'],
    properties: {
      subscription: { type: 'string' },
      records: { type: 'array', items: { $ref: '#/components/schemas/Record' } },
    },
  },
  AckRequest: {
    type: 'object',
    additionalProperties: false,
    properties: {
      consumer: {
        type: 'string',
        minLength: 1,
        maxLength: 200,
        description: 'When given, only records this consumer holds are settled.',
      },
      ack: { type: 'array', maxItems: 10000, items: { type: 'string', pattern: recordIdPattern } },
      release: {
        type: 'array',
        maxItems: 10000,
        items: { type: 'string', pattern: recordIdPattern },
      },
      nack: {
        type: 'array',
        maxItems: 10000,
        items: {
          anyOf: [
            { type: 'string', pattern: recordIdPattern },
            {
              type: 'object',
              additionalProperties: false,
              required: ['id'],
              properties: {
                id: { type: 'string', pattern: recordIdPattern },
                delayMs: { type: 'integer', minimum: 0, maximum: 86400000 },
              },
            },
          ],
        },
      },
      reject: {
        type: 'array',
        maxItems: 10000,
        items: {
          anyOf: [
            { type: 'string', pattern: recordIdPattern },
            {
              type: 'object',
              additionalProperties: false,
              required: ['id'],
              properties: {
                id: { type: 'string', pattern: recordIdPattern },
                reason: { type: 'string', maxLength: 4096 },
              },
            },
          ],
        },
      },
    },
  },
  AckResponse: {
    type: 'object',
    required: ['acknowledged', 'released', 'rejected', 'errors'],
    properties: {
      acknowledged: { type: 'integer' },
      released: { type: 'integer' },
      rejected: { type: 'integer' },
      errors: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'code'],
          properties: {
            id: { type: 'string' },
            code: {
              type: 'string',
              enum: ['unknown-record', 'not-acquired', 'not-holder', 'settled'],
              description:
                'unknown-record: not read yet, or no such partition; not-acquired: nobody holds it; not-holder: another consumer holds it; settled: already acknowledged or dead-lettered',
            },
          },
        },
      },
    },
  },
  Problem: {
    type: 'object',
    description: 'An error (RFC 9457 problem document) with a stable code.',
    required: ['type', 'title', 'status', 'code', 'detail'],
    properties: {
      type: { type: 'string' },
      title: { type: 'string' },
      status: { type: 'integer' },
      code: { type: 'string', enum: Object.keys(shareErrorCodes) },
      detail: { type: 'string' },
      errors: { type: 'array', items: { type: 'object' } },
    },
  },
} as const satisfies Record<string, JsonSchema>;

export type PushSchemaName = keyof typeof pushSchemas;
