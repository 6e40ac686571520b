// Turning errors from the layers below into the Kafka error code a response carries.

import { ErrorCode } from '../protocol/errors.js';

/**
 * The Kafka error code for an error thrown by storage, record validation or a coordinator. Errors
 * that carry `kafkaErrorCode` say it themselves; anything else is a bug or an unexpected
 * failure and becomes UNKNOWN_SERVER_ERROR (logged by the caller).
 */
export function kafkaErrorCodeOf(error: unknown): number {
  if (typeof error === 'object' && error !== null && 'kafkaErrorCode' in error) {
    const code = (error as { kafkaErrorCode: unknown }).kafkaErrorCode;
    if (typeof code === 'number') return code;
  }
  return ErrorCode.UNKNOWN_SERVER_ERROR;
}

export function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Kafka's legal topic names: at most 249 of [a-zA-Z0-9._-], and not "." or "..". */
export function isValidTopicName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 249 &&
    name !== '.' &&
    name !== '..' &&
    /^[a-zA-Z0-9._-]+$/.test(name)
  );
}
