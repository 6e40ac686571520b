// The protocol layer's public surface: primitives, headers, error codes and the generated codecs.

export { Reader, ProtocolDecodeError } from './reader.js';
export { Writer, type WriterOptions, type WriterResult } from './writer.js';
export { UnsupportedVersionError, ProtocolEncodeError } from './codec-runtime.js';
export type { ApiMessage, MessageCodec } from './api-message.js';
export {
  decodeRequestHeader,
  decodeResponseHeader,
  encodeRequestHeader,
  encodeResponseHeader,
  isFlexibleVersion,
  requestHeaderVersion,
  responseHeaderVersion,
  type RequestHeader,
  type RequestHeaderInput,
  type ResponseHeader,
} from './headers.js';
export { ErrorCode, errorMessage, errorName, type ErrorName } from './errors.js';
export * from './generated/index.js';
export {
  assignedPartitionsOf,
  consumerProtocolVersionMax,
  decodeConsumerAssignment,
  decodeConsumerSubscription,
  encodeConsumerAssignment,
  encodeConsumerSubscription,
  subscribedTopicsOf,
} from './consumer-protocol.js';
