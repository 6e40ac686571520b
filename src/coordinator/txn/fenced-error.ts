// KIP-588: clients that predate PRODUCER_FENCED are told INVALID_PRODUCER_EPOCH instead, below
// the version of each transactional API that introduced it.

import { ErrorCode } from '../../protocol/errors.js';

export function fencedErrorFor(
  errorCode: number,
  version: number,
  producerFencedSinceVersion: number,
): number {
  if (errorCode === ErrorCode.PRODUCER_FENCED && version < producerFencedSinceVersion)
    return ErrorCode.INVALID_PRODUCER_EPOCH;
  return errorCode;
}
