// The protocol's error codes. The table itself is generated from Kafka's errors.tsv into
// generated/errors.ts; this module adds the lookups handlers and tools use.

import { ErrorCode, errorDescriptions, type ErrorName } from './generated/errors.js';

export { ErrorCode, type ErrorName };

/** The error's name (`NOT_LEADER_OR_FOLLOWER`), or `UNKNOWN_ERROR_CODE_<n>` for a code not in the table. */
export function errorName(code: number): string {
  return errorDescriptions.get(code)?.name ?? `UNKNOWN_ERROR_CODE_${code}`;
}

/** Kafka's default message for the code ('' for NONE and for unknown codes). */
export function errorMessage(code: number): string {
  return errorDescriptions.get(code)?.message ?? '';
}
