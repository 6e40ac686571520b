// The audit log: one JSON line per admin action and per authentication or authorization failure,
// written to its own file (`audit.log.file`), apart from the operations log, so it can be kept,
// shipped and access-controlled on its own terms. A line reads
//
//   {"time":"2026-12-03T13:00:00.000Z","principal":"User:alice","clientAddress":"10.0.0.7:51234",
//    "listener":"SASL_SSL","clientId":"adminclient-1","api":"DeleteTopics",
//    "resource":{"type":"topic","name":"orders"},"outcome":"success","error":null}
//
// with `details` where the action has some (the configs set, by name and masked value; a
// partition count). Nothing a client proves itself with is ever written: no password, salted
// password, salt or token; config values whose names suggest a secret are masked.
//
// Who writes lines:
//   - the server's dispatch (`AuditRequests.requestAnswered`, called for every answered request,
//     and by the web console for each handler it calls): the APIs in `adminApis` get one line per
//     resource they act on, success or not; any other API gets a line when its response carries
//     an *_AUTHORIZATION_FAILED code;
//   - the server on each failed SASL exchange or TLS handshake (`authenticationFailed`);
//   - anything else through the `AuditLog` port (`record`): the authorizer, for decisions that
//     leave no error code in a response (Metadata hiding a topic, say).
//
// `record` never throws and never awaits: the line goes to pino's file writer synchronously.
//
// The same dispatch is the one way admin actions reach the operations log too: a topic created,
// deleted or given partitions and a config changed are logged once at info, with who asked, when
// they succeeded (not when validated only), whether the audit log is on or off. The audit log is
// the security record (every admin action, refused or not, in a file of its own, off by
// default); the operations log line is what an operator looks for after "who deleted my topic?".

import { pino } from '../util/commonjs-packages.js';
import { adminApis, authorizationFailuresIn } from './audit-apis.js';
import { errorName } from '../protocol/errors.js';
import { ApiKey, apiMessages } from '../protocol/generated/index.js';
import type { Logger } from '../util/logger.js';
import type { AuditAction } from './audit-apis.js';

/** What a line needs of a request's context (the handlers' RequestContext has it all). */
export interface AuditedRequest {
  readonly principal: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly listenerName: string;
  readonly clientId: string | null;
  readonly apiKey: number;
}

export interface AuditResource {
  /** Kafka's resource vocabulary in lower case: topic, group, cluster, user, broker, ... */
  readonly type: string;
  readonly name: string;
}

/** One audited event, as the port takes it; the time is added when it is written. */
export interface AuditEntry {
  readonly principal: string;
  /** host:port of the client. */
  readonly clientAddress: string;
  readonly listener: string;
  readonly clientId?: string | null;
  /** The Kafka API by name (CreateTopics), or what failed outside one (TlsHandshake). */
  readonly api: string;
  readonly resource: AuditResource | null;
  readonly outcome: 'success' | 'failure';
  /** A Kafka error name (TOPIC_AUTHORIZATION_FAILED) or the broker's reason; null on success. */
  readonly error: string | null;
  readonly details?: Readonly<Record<string, unknown>>;
}

/** The port: where audit lines go. Implementations never throw. */
export interface AuditLog {
  record(entry: AuditEntry): void;
}

export const discardingAuditLog: AuditLog = { record() {} };

/** Appends lines to `path` (created with its directory when missing), and hands each to `onLine`. */
export class FileAuditLog implements AuditLog {
  private readonly destination: ReturnType<typeof pino.destination> | null;

  constructor(
    path: string | null,
    /** Each line written, as text (the audit topic's feed); none when only the file is kept. */
    private readonly onLine?: (line: string) => void,
  ) {
    // Synchronous writes (pino's SonicBoom): an audit line is in the file before the response it
    // records goes out, and a crash right after loses nothing that was answered.
    this.destination =
      path === null
        ? null
        : pino.destination({ dest: path, sync: true, mkdir: true, append: true });
  }

  record(entry: AuditEntry): void {
    const line = JSON.stringify({ time: new Date().toISOString(), ...entry });
    try {
      this.destination?.write(`${line}\n`);
    } catch {
      // A full disk must not take requests down with it; the operations log reports disk errors.
    }
    this.onLine?.(line);
  }

  close(): void {
    this.destination?.end();
  }
}

/** The admin actions the operations log tells of, by API, with the line's message. */
const operationsLogMessages: ReadonlyMap<number, string> = new Map([
  [ApiKey.CreateTopics, 'topic created'],
  [ApiKey.DeleteTopics, 'topic deleted'],
  [ApiKey.CreatePartitions, 'partitions added'],
  [ApiKey.AlterConfigs, 'configs changed'],
  [ApiKey.IncrementalAlterConfigs, 'configs changed'],
]);

/**
 * What the server tells the audit: each answered request, each failed authentication. `audit` is
 * null when the audit log is off; `operationsLog` gets the topic and config changes either way.
 */
export class AuditRequests {
  constructor(
    private readonly audit: AuditLog | null,
    private readonly operationsLog?: Logger,
  ) {}

  requestAnswered(context: AuditedRequest, request: unknown, response: unknown): void {
    if (typeof response !== 'object' || response === null) return;
    const describe = adminApis.get(context.apiKey);
    // Produce and Fetch stop here when the audit log is off: one map lookup per request.
    if (describe === undefined && this.audit === null) return;
    const base = {
      principal: context.principal,
      clientAddress: `${context.remoteAddress}:${context.remotePort}`,
      listener: context.listenerName,
      clientId: context.clientId,
      api: apiMessages.get(context.apiKey)?.name ?? String(context.apiKey),
    };
    if (describe !== undefined) {
      const actions = describe(request, response);
      this.logOperations(context, base, actions);
      const audit = this.audit;
      if (audit === null) return;
      for (const action of actions) {
        audit.record({
          ...base,
          resource: action.resource,
          outcome: action.errorCode === 0 ? 'success' : 'failure',
          error: action.errorCode === 0 ? null : errorName(action.errorCode),
          ...(action.details === undefined ? {} : { details: action.details }),
        });
      }
      return;
    }
    for (const code of authorizationFailuresIn(response)) {
      this.audit?.record({
        ...base,
        resource: null,
        outcome: 'failure',
        error: errorName(code),
      });
    }
  }

  /** The changes done (not refused, not validated only), one info line each. */
  private logOperations(
    context: AuditedRequest,
    base: { readonly principal: string; readonly clientAddress: string },
    actions: readonly AuditAction[],
  ): void {
    const message = operationsLogMessages.get(context.apiKey);
    if (message === undefined || this.operationsLog === undefined) return;
    const asked = {
      clientId: context.clientId,
      remote: base.clientAddress,
      principal: base.principal,
    };
    for (const { resource, errorCode, details = {} } of actions) {
      if (errorCode !== 0 || details.validateOnly === true) continue;
      const { validateOnly: _validateOnly, ...changed } = details;
      const subject =
        resource.type === 'topic' && message !== 'configs changed'
          ? { topic: resource.name }
          : { resourceType: resource.type, resourceName: resource.name };
      this.operationsLog.info(message, { ...subject, ...changed, ...asked });
    }
  }

  authenticationFailed(event: {
    readonly listener: string;
    readonly clientAddress: string;
    readonly principal: string;
    readonly api: 'SaslAuthenticate' | 'TlsHandshake';
    readonly reason: string;
  }): void {
    this.audit?.record({
      principal: event.principal,
      clientAddress: event.clientAddress,
      listener: event.listener,
      api: event.api,
      resource: null,
      outcome: 'failure',
      error: event.reason,
    });
  }
}
