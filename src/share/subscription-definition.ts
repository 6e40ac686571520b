// What a shared subscription is asked to be (the body of PUT /v1/subscriptions/{name}), with the
// broker's defaults filled in. Stored as JSON in __share_group_state under the subscription's
// key, so a restart brings back the same subscription.

export interface WebhookDefinition {
  readonly url: string;
  /** HMAC-SHA256 key for the signature header; unsigned without one. */
  readonly secret: string | null;
  /** Requests in flight at once. */
  readonly concurrency: number;
  /** Records per request. */
  readonly batchSize: number;
  /** A request not answered in this time counts as failed. */
  readonly timeoutMs: number;
  /** The first retry's pause; each later one doubles it (with jitter), up to maxRetryBackoffMs. */
  readonly retryBackoffMs: number;
  readonly maxRetryBackoffMs: number;
}

export interface SubscriptionDefinition {
  readonly name: string;
  readonly topic: string;
  readonly start: 'earliest' | 'latest';
  readonly maxDeliveries: number;
  readonly deadLetterTopic: string;
  readonly ackTimeoutMs: number;
  /** Unacknowledged records one consumer may hold. */
  readonly maxInFlight: number;
  /** Records older than this are never delivered; null: only a record's ttl.ms header counts. */
  readonly messageTtlMs: number | null;
  /** Expired records go to the dead-letter topic (reason `expired`), not only counted. */
  readonly deadLetterExpired: boolean;
  /** `key`: records of one key are delivered one at a time, in offset order. */
  readonly ordering: 'none' | 'key';
  /** How keys and values are carried in JSON. */
  readonly valueEncoding: 'utf8' | 'base64';
  readonly webhook: WebhookDefinition | null;
}

/** The body of a PUT, after schema validation; every field but topic optional. */
export interface SubscriptionRequest {
  readonly topic: string;
  readonly start?: 'earliest' | 'latest';
  readonly maxDeliveries?: number;
  readonly deadLetterTopic?: string;
  readonly ackTimeoutMs?: number;
  readonly maxInFlight?: number;
  readonly messageTtlMs?: number | null;
  readonly deadLetterExpired?: boolean;
  readonly ordering?: 'none' | 'key';
  readonly valueEncoding?: 'utf8' | 'base64';
  readonly webhook?: {
    readonly url: string;
    readonly secret?: string;
    readonly concurrency?: number;
    readonly batchSize?: number;
    readonly timeoutMs?: number;
    readonly retryBackoffMs?: number;
    readonly maxRetryBackoffMs?: number;
  } | null;
}

export interface SubscriptionDefaults {
  readonly shareRecordLockDurationMs: number;
  readonly shareDeliveryCountLimit: number;
}

export const DEFAULT_MAX_IN_FLIGHT = 100;

export function resolveDefinition(
  name: string,
  request: SubscriptionRequest,
  defaults: SubscriptionDefaults,
): SubscriptionDefinition {
  const webhook = request.webhook ?? null;
  return {
    name,
    topic: request.topic,
    start: request.start ?? 'earliest',
    maxDeliveries: request.maxDeliveries ?? defaults.shareDeliveryCountLimit,
    deadLetterTopic: request.deadLetterTopic ?? `${request.topic}.dlq`,
    ackTimeoutMs: request.ackTimeoutMs ?? defaults.shareRecordLockDurationMs,
    maxInFlight: request.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
    messageTtlMs: request.messageTtlMs ?? null,
    deadLetterExpired: request.deadLetterExpired ?? false,
    ordering: request.ordering ?? 'none',
    valueEncoding: request.valueEncoding ?? 'utf8',
    webhook:
      webhook === null
        ? null
        : {
            url: webhook.url,
            secret: webhook.secret ?? null,
            concurrency: webhook.concurrency ?? 4,
            batchSize: webhook.batchSize ?? 100,
            timeoutMs: webhook.timeoutMs ?? 10_000,
            retryBackoffMs: webhook.retryBackoffMs ?? 500,
            maxRetryBackoffMs: webhook.maxRetryBackoffMs ?? 60_000,
          },
  };
}
