// Webhook delivery: the broker POSTs batches of a subscription's records to a URL. It is one
// consumer of the subscription (id `webhook`) whose credits are concurrency × batchSize, so at
// most `concurrency` requests are in flight and the broker holds no more than that many batches.
//
//   POST <url>  {"subscription":"s","records":[<Record>...]}
//   brook-signature: t=<ms since epoch>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// A 2xx answer acknowledges every record of the batch. Anything else (another status, a refused
// connection, no answer within timeoutMs) releases them with a pause that doubles with each
// delivery (retryBackoffMs × 2^(deliveryCount-1), at most maxRetryBackoffMs, the upper half of it
// drawn at random so retries of many records spread out). Each retry is a delivery: after
// maxDeliveries the record goes to the dead-letter topic with the last failure as its error.
// A receiver that is down for an hour makes records wait in the topic, not in memory.

import { createHmac } from 'node:crypto';

import type { WebhookDefinition } from './subscription-definition.js';
import { type Delivery, deliveriesJson } from './delivery.js';
import type { ConsumerSink, Subscription } from './subscription.js';

export const WEBHOOK_CONSUMER_ID = 'webhook';

export class WebhookDispatcher {
  private readonly queue: Delivery[] = [];
  private inFlight = 0;
  private readonly requests = new Set<AbortController>();
  private detach: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly subscription: Subscription,
    private readonly webhook: WebhookDefinition,
    private readonly log: (message: string, error: unknown) => void,
    private readonly random: () => number = Math.random,
  ) {}

  start(): void {
    const sink: ConsumerSink = {
      maxInFlight: this.webhook.concurrency * this.webhook.batchSize,
      writable: true,
      deliver: (records) => {
        this.queue.push(...records);
        this.pump();
      },
    };
    this.detach = this.subscription.attach(WEBHOOK_CONSUMER_ID, sink);
  }

  /** Aborts requests in flight; their records stay held until their lock expires (or a restart). */
  stop(): void {
    this.stopped = true;
    this.detach?.();
    for (const controller of this.requests) controller.abort();
    this.requests.clear();
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < this.webhook.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.webhook.batchSize);
      this.inFlight += 1;
      this.post(batch).finally(() => {
        this.inFlight -= 1;
        this.pump();
      });
    }
  }

  private async post(records: readonly Delivery[]): Promise<void> {
    const body = `{"subscription":${JSON.stringify(this.subscription.name)},"records":${deliveriesJson(records)}}`;
    const timestampMs = Date.now();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'brook-subscription': this.subscription.name,
    };
    if (this.webhook.secret !== null) {
      const signature = createHmac('sha256', this.webhook.secret)
        .update(`${timestampMs}.${body}`)
        .digest('hex');
      headers['brook-signature'] = `t=${timestampMs},v1=${signature}`;
    }
    const controller = new AbortController();
    this.requests.add(controller);
    const timer = setTimeout(() => controller.abort(), this.webhook.timeoutMs);
    let failure: string | null;
    try {
      const response = await fetch(this.webhook.url, {
        method: 'POST',
        headers,
        body,
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      failure = response.ok ? null : `the webhook answered HTTP ${response.status}`;
    } catch (error) {
      failure = controller.signal.aborted
        ? `the webhook did not answer within ${this.webhook.timeoutMs} ms`
        : `the webhook request failed: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`;
    } finally {
      clearTimeout(timer);
      this.requests.delete(controller);
    }
    if (this.stopped) return;
    for (const record of records) {
      if (failure === null) {
        this.subscription.acknowledge(record.partition, record.offset, WEBHOOK_CONSUMER_ID);
      } else {
        this.subscription.release(
          record.partition,
          record.offset,
          WEBHOOK_CONSUMER_ID,
          this.backoffMs(record.deliveryCount),
          failure,
        );
      }
    }
  }

  private backoffMs(deliveryCount: number): number {
    const ceilingMs = Math.min(
      this.webhook.maxRetryBackoffMs,
      this.webhook.retryBackoffMs * 2 ** Math.min(30, Math.max(0, deliveryCount - 1)),
    );
    return Math.round(ceilingMs / 2 + (this.random() * ceilingMs) / 2);
  }
}
