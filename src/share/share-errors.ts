// The errors of the shared-subscription engine and its HTTP door, one table of stable codes. The
// HTTP door answers each as a JSON problem document (RFC 9457) whose `code` is the key below and
// whose status is the table's; the OpenAPI document lists every code, and a test checks that the
// table and the document agree. A code, once published, keeps its meaning.

import { BrookError } from '../util/errors.js';

export const shareErrorCodes = {
  'invalid-json': { status: 400, title: 'the request body is not JSON' },
  'invalid-request': { status: 400, title: 'the request does not match its schema' },
  'invalid-record-id': { status: 400, title: 'a record id is not <partition>:<offset>' },
  'invalid-encoding': { status: 400, title: 'a key or value is not valid in the stated encoding' },
  unauthenticated: {
    status: 401,
    title: 'the credentials are wrong; send Authorization: Basic with a user and password',
  },
  forbidden: { status: 403, title: 'the ACLs do not allow this principal the operation' },
  'not-found': { status: 404, title: 'no such path' },
  'method-not-allowed': { status: 405, title: 'the path does not serve this method' },
  'topic-not-found': { status: 404, title: 'the topic does not exist' },
  'partition-not-found': { status: 404, title: 'the topic has no such partition' },
  'subscription-not-found': { status: 404, title: 'the subscription does not exist' },
  'subscription-conflict': {
    status: 409,
    title: 'the subscription exists with another topic; delete it first',
  },
  'subscription-moved': {
    status: 307,
    title:
      'another broker of the cluster serves this subscription; Location names its HTTP listener',
  },
  'subscription-unavailable': {
    status: 503,
    title: 'the subscription is being taken up by a broker of the cluster; try again',
  },
  'upgrade-required': { status: 426, title: 'this path takes a WebSocket upgrade' },
  'payload-too-large': { status: 413, title: 'the request body is larger than the limit' },
  'unsupported-media-type': {
    status: 415,
    title: 'the request body has a content type not served',
  },
  'produce-failed': { status: 503, title: 'the records could not be appended' },
  'internal-error': { status: 500, title: 'a bug in Brook' },
} as const;

export type ShareErrorCode = keyof typeof shareErrorCodes;

/** An error the HTTP door answers with a problem document of `code`. */
/** A push-delivery request refused; `problem` is the stable problem code its answer carries. */
export class ShareError extends BrookError {
  constructor(
    readonly problem: ShareErrorCode,
    message: string,
    /** Per-item details, e.g. which fields failed validation. */
    readonly errors: readonly unknown[] = [],
    /** 'subscription-moved': the broker that serves the subscription. */
    readonly ownerBrokerId?: number,
  ) {
    super('BROOK_SHARE_REQUEST', message);
    this.name = 'ShareError';
  }
}
