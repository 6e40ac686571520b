// Webhook delivery: the broker POSTs batches of a subscription's records to a URL. It is one
// consumer of the subscription (id `webhook`) whose credits are concurrency × batchSize, so at
// most `concurrency` requests are in flight and it holds at most that many batches' records.
//
//   POST <url>  {"subscription":"s","records":[<Record>...]}
//   brook-signature: t=<ms since epoch>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
// What becomes of a request:
//
// - A 2xx answer acknowledges every record of the batch.
// - Another answer (redirects are not followed: the signed records go to the configured URL and
//   nowhere else), or no answer within timeoutMs on a connection the receiver accepted, is a
//   failed delivery: the records are released with a pause that doubles with each delivery
//   (retryBackoffMs × 2^(deliveryCount-1), at most maxRetryBackoffMs, the upper half of it drawn
//   at random so retries of many records spread out), and after maxDeliveries a record goes to
//   the dead-letter topic with the last failure as its error. A timeout counts because the
//   receiver is up and was given the batch: one that hangs on a poison record must let that
//   record reach the dead-letter topic, not stall the subscription for ever. The price: a
//   receiver slower than timeoutMs burns deliveries (give it a longer timeoutMs).
// - No HTTP answer at all (connection refused, host unreachable, DNS or TLS failure, the
//   connection reset or closed before an answer, no connection within timeoutMs) means the
//   receiver is unreachable, and that is no delivery. The batch goes back into the queue, in the
//   order its records came; the dispatcher stops taking records (its sink is not writable) and
//   sends one request at a time, the oldest batch, after a pause that doubles from
//   retryBackoffMs up to maxRetryBackoffMs (upper half random). The first answer of any kind, or
//   a timeout on an accepted connection, ends the outage: `concurrency` requests at a time again,
//   and new records are taken. GET /v1/subscriptions/{name} shows the outage (`status()`).
//   A request that fails or times out on a kept-alive connection is first sent again at once on
//   a new one: the receiver may only have closed that connection as idle, or its host vanished
//   without closing it; a hung receiver is told from those on a connection of its own.
//
// During an outage the records it holds stay held, their locks renewed (Subscription.renew) every
// third of the subscription's ackTimeoutMs, rather than given back: taking a record is what counts
// a delivery in the subscription's model, so a release would cost one when they are taken again;
// held, they keep their order in the queue and the count the receiver will see, and resending them
// is the probe (no empty request the receiver would have to know about). The rest of the topic
// waits in the log, not in memory: while a receiver is down for an hour the broker holds at most
// concurrency × batchSize records for it, and other consumers of the subscription (SSE, WebSocket)
// may take the rest meanwhile. Held records are not offered to anyone else and their message TTL
// does not apply while held. Two limits: a receiver that resets the connection on every request
// carrying some record (say it crashes on it) looks down, not failing, and that record waits (the
// status shows the webhook unreachable); and held records are persisted as available, so a broker
// restart during an outage counts one more delivery for them when they are taken again.

import { createHmac } from 'node:crypto';
import { Agent as HttpAgent, type ClientRequest, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

import type { WebhookDefinition } from './subscription-definition.js';
import { type Delivery, deliveriesJson } from './delivery.js';
import type { ConsumerSink, Subscription } from './subscription.js';

export const WEBHOOK_CONSUMER_ID = 'webhook';

/** Whether the receiver answers, for GET /v1/subscriptions/{name}. */
export interface WebhookStatus {
  readonly state: 'delivering' | 'unreachable';
  /** Since when (ms since the epoch) the receiver has not been reached; null while delivering. */
  readonly since: number | null;
  /** Why the last request that failed failed (any kind of failure); null before the first. */
  readonly lastError: string | null;
}

/**
 * What became of one request. `reusedConnection`: it went on a kept-alive connection, which the
 * receiver may have closed, or its host lost, since the last answer on it.
 */
type Attempt =
  | { readonly outcome: 'answered'; readonly status: number }
  /** Connected and sent, no answer within timeoutMs. */
  | { readonly outcome: 'timed-out'; readonly reusedConnection: boolean }
  | {
      readonly outcome: 'unreachable';
      readonly reason: string;
      readonly reusedConnection: boolean;
    };

/** A record the dispatcher holds, numbered in the order it came, so a batch goes back in order. */
interface Held {
  readonly record: Delivery;
  readonly sequence: number;
}

/**
 * Owned by the share engine, one per subscription with a webhook; replaced (stop, then a new one
 * attaches) when the definition changes, and the subscription hands the new one what the old one
 * held. Across the await of a request the dispatcher may have been stopped: `post` checks first.
 */
export class WebhookDispatcher {
  /** Records not in flight, in sequence order. */
  private readonly queue: Held[] = [];
  private readonly inFlight = new Set<readonly Held[]>();
  private readonly requests = new Set<ClientRequest>();
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private nextSequence = 0;
  private detach: (() => void) | null = null;
  private stopped = false;
  /** Set while the receiver cannot be reached: one probe at a time, no new records. */
  private unreachableSinceMs: number | null = null;
  private probes = 0;
  private probeTimer: NodeJS.Timeout | null = null;
  /** The probe's pause is over: the next batch may go once nothing is in flight. */
  private probeDue = false;
  private renewTimer: NodeJS.Timeout | null = null;
  private lastError: string | null = null;

  constructor(
    private readonly subscription: Subscription,
    private readonly webhook: WebhookDefinition,
    private readonly log: (message: string, error: unknown) => void,
    private readonly random: () => number = Math.random,
  ) {
    this.url = new URL(webhook.url);
    const agentOptions = { keepAlive: true, maxSockets: webhook.concurrency };
    this.agent =
      this.url.protocol === 'https:' ? new HttpsAgent(agentOptions) : new HttpAgent(agentOptions);
  }

  start(): void {
    const reachable = (): boolean => this.unreachableSinceMs === null;
    const sink: ConsumerSink = {
      maxInFlight: this.webhook.concurrency * this.webhook.batchSize,
      get writable() {
        return reachable();
      },
      deliver: (records) => {
        for (const record of records) {
          this.nextSequence += 1;
          this.queue.push({ record, sequence: this.nextSequence });
        }
        this.pump();
      },
    };
    this.detach = this.subscription.attach(WEBHOOK_CONSUMER_ID, sink);
  }

  /** Aborts requests in flight; their records stay held until their lock expires (or a restart). */
  stop(): void {
    this.stopped = true;
    this.detach?.();
    this.clearTimers();
    for (const request of this.requests) request.destroy();
    this.requests.clear();
    this.agent.destroy();
  }

  status(): WebhookStatus {
    return {
      state: this.unreachableSinceMs === null ? 'delivering' : 'unreachable',
      since: this.unreachableSinceMs,
      lastError: this.lastError,
    };
  }

  private pump(): void {
    while (!this.stopped && this.queue.length > 0) {
      if (this.unreachableSinceMs === null) {
        if (this.inFlight.size >= this.webhook.concurrency) return;
      } else {
        if (!this.probeDue || this.inFlight.size > 0) return;
        this.probeDue = false;
      }
      const batch = this.queue.splice(0, this.webhook.batchSize);
      this.inFlight.add(batch);
      void this.post(batch).finally(() => this.pump());
    }
    // Nothing left to probe with (the held records were taken away): new records are taken
    // again, and the next batch finds out whether the receiver is back.
    if (this.probeDue && this.inFlight.size === 0) this.reached();
  }

  private async post(batch: readonly Held[]): Promise<void> {
    const records = batch.map((held) => held.record);
    const body = `{"subscription":${JSON.stringify(this.subscription.name)},"records":${deliveriesJson(records)}}`;
    const timestampMs = Date.now();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'brook-subscription': this.subscription.name,
    };
    if (this.webhook.secret !== null) {
      const signature = createHmac('sha256', this.webhook.secret)
        .update(`${timestampMs}.${body}`)
        .digest('hex');
      headers['brook-signature'] = `t=${timestampMs},v1=${signature}`;
    }
    let attempt = await this.send(headers, body, this.agent);
    // A receiver closes idle connections when it likes, and a connection to a host that went
    // away without a word stays silent: a failure on a kept-alive connection says nothing of the
    // receiver, so the batch goes again at once on a connection of its own.
    if (attempt.outcome !== 'answered' && attempt.reusedConnection && !this.stopped)
      attempt = await this.send(headers, body, false);
    this.inFlight.delete(batch);
    if (this.stopped) return;
    if (attempt.outcome === 'unreachable') {
      this.lastError = `the webhook could not be reached: ${attempt.reason}`;
      this.queue.push(...batch);
      this.queue.sort((a, b) => a.sequence - b.sequence);
      this.unreachable();
      return;
    }
    this.reached();
    const failure =
      attempt.outcome === 'timed-out'
        ? `the webhook did not answer within ${this.webhook.timeoutMs} ms`
        : attempt.status >= 200 && attempt.status < 300
          ? null
          : `the webhook answered HTTP ${attempt.status}`;
    if (failure !== null) this.lastError = failure;
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

  /**
   * One POST. Never rejects: an answer of any status, a timeout on an accepted connection, or
   * unreachable (with why). The one timer covers connecting and answering.
   */
  private send(
    headers: Record<string, string>,
    body: string,
    agent: HttpAgent | false,
  ): Promise<Attempt> {
    const secure = this.url.protocol === 'https:';
    return new Promise<Attempt>((resolve) => {
      let settled = false;
      let connected = false;
      const request = (secure ? httpsRequest : httpRequest)(this.url, {
        method: 'POST',
        headers,
        agent,
      });
      const finish = (attempt: Attempt): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.requests.delete(request);
        resolve(attempt);
      };
      const timer = setTimeout(() => {
        finish(
          connected
            ? { outcome: 'timed-out', reusedConnection: request.reusedSocket }
            : {
                outcome: 'unreachable',
                reason: `no connection within ${this.webhook.timeoutMs} ms`,
                reusedConnection: false,
              },
        );
        request.destroy();
      }, this.webhook.timeoutMs);
      this.requests.add(request);
      request.on('socket', (socket) => {
        // A kept-alive connection was accepted long ago; a new one counts once it is established.
        if (request.reusedSocket) connected = true;
        else
          socket.once(secure ? 'secureConnect' : 'connect', () => {
            connected = true;
          });
      });
      request.on('response', (response) => {
        // Read to the end, so the connection can carry the next request.
        response.on('error', () => undefined);
        response.resume();
        finish({ outcome: 'answered', status: response.statusCode ?? 0 });
      });
      request.on('error', (error) => {
        finish({
          outcome: 'unreachable',
          reason: error.message,
          reusedConnection: request.reusedSocket,
        });
      });
      request.end(body);
    });
  }

  /** A request found no receiver: hold what is held, take nothing new, probe after a pause. */
  private unreachable(): void {
    if (this.unreachableSinceMs === null) {
      this.unreachableSinceMs = Date.now();
      this.log(
        `subscription ${this.subscription.name}: webhook ${this.url.origin} unreachable; holding its records and retrying`,
        this.lastError,
      );
      this.renewHeld();
      const intervalMs = Math.max(1, Math.floor(this.subscription.definition.ackTimeoutMs / 3));
      this.renewTimer = setInterval(() => this.renewHeld(), intervalMs);
    }
    if (this.probeTimer !== null || this.probeDue) return;
    this.probes += 1;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = null;
      this.probeDue = true;
      this.pump();
    }, this.backoffMs(this.probes));
  }

  /** The receiver answered (or there is nothing left to probe with): deliver as usual again. */
  private reached(): void {
    if (this.unreachableSinceMs === null) return;
    this.unreachableSinceMs = null;
    this.probes = 0;
    this.probeDue = false;
    this.clearTimers();
    this.subscription.resume();
  }

  /** Keeps the locks of the records held through an outage; drops any no longer held here. */
  private renewHeld(): void {
    for (const batch of this.inFlight)
      for (const { record } of batch)
        this.subscription.renew(record.partition, record.offset, WEBHOOK_CONSUMER_ID);
    const kept = this.queue.filter(
      ({ record }) =>
        this.subscription.renew(record.partition, record.offset, WEBHOOK_CONSUMER_ID) === 'ok',
    );
    this.queue.splice(0, this.queue.length, ...kept);
  }

  private clearTimers(): void {
    if (this.probeTimer !== null) clearTimeout(this.probeTimer);
    if (this.renewTimer !== null) clearInterval(this.renewTimer);
    this.probeTimer = null;
    this.renewTimer = null;
  }

  /** The pause before a retry: `attempt` is the record's delivery count or the probe's number. */
  private backoffMs(attempt: number): number {
    const ceilingMs = Math.min(
      this.webhook.maxRetryBackoffMs,
      this.webhook.retryBackoffMs * 2 ** Math.min(30, Math.max(0, attempt - 1)),
    );
    return Math.round(ceilingMs / 2 + (this.random() * ceilingMs) / 2);
  }
}
