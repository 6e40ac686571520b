// Request and response headers.
//
// Request header v1 is apiKey, apiVersion, correlationId and a client id; v2 (used by flexible
// request versions) adds a tagged-field section. The client id is an int16-length nullable string
// in both: RequestHeader.json marks it "flexibleVersions": "none". Response header v0 is the
// correlation id; v1 (flexible response versions) adds a tagged-field section, except that
// ApiVersions responses always use v0, so a client can read the answer whatever version it asked
// for.

import { ApiKey, apiMessages } from './generated/index.js';
import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface RequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** 2 when the request version is flexible, 1 otherwise (also for an unknown API key). */
  headerVersion: 1 | 2;
}

export interface RequestHeaderInput {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId?: string | null;
}

/**
 * Whether `apiVersion` of the API is flexible. Flexible ranges are open-ended ("3+"), so a version
 * above the highest known one counts as flexible too, as it does in Kafka: a client that sends
 * ApiVersions v5 sends header v2.
 */
export function isFlexibleVersion(apiKey: number, apiVersion: number): boolean {
  const api = apiMessages.get(apiKey);
  if (api === undefined || api.flexibleVersionsMin === null) return false;
  return apiVersion >= api.flexibleVersionsMin;
}

export function requestHeaderVersion(apiKey: number, apiVersion: number): 1 | 2 {
  return isFlexibleVersion(apiKey, apiVersion) ? 2 : 1;
}

export function responseHeaderVersion(apiKey: number, apiVersion: number): 0 | 1 {
  if (apiKey === ApiKey.ApiVersions) return 0;
  return isFlexibleVersion(apiKey, apiVersion) ? 1 : 0;
}

/**
 * Decodes the request header at the start of a frame body, leaving `reader` at the start of the
 * request body. For an API key Brook has no codec for, the header is read as v1, so the caller
 * still learns the correlation id to answer with.
 */
export function decodeRequestHeader(reader: Reader): RequestHeader {
  const apiKey = reader.readInt16();
  const apiVersion = reader.readInt16();
  const correlationId = reader.readInt32();
  const clientId = reader.readNullableString();
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  if (headerVersion === 2) reader.readTaggedFields();
  return { apiKey, apiVersion, correlationId, clientId, headerVersion };
}

/** Encodes a request header (clients and tests). */
export function encodeRequestHeader(writer: Writer, header: RequestHeaderInput): void {
  writer.writeInt16(header.apiKey);
  writer.writeInt16(header.apiVersion);
  writer.writeInt32(header.correlationId);
  writer.writeNullableString(header.clientId ?? null);
  if (requestHeaderVersion(header.apiKey, header.apiVersion) === 2) writer.writeEmptyTaggedFields();
}

export interface ResponseHeader {
  correlationId: number;
  headerVersion: 0 | 1;
}

export function encodeResponseHeader(
  writer: Writer,
  apiKey: number,
  apiVersion: number,
  correlationId: number,
): void {
  writer.writeInt32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) writer.writeEmptyTaggedFields();
}

/** Decodes a response header (clients and tests), leaving `reader` at the response body. */
export function decodeResponseHeader(
  reader: Reader,
  apiKey: number,
  apiVersion: number,
): ResponseHeader {
  const correlationId = reader.readInt32();
  const headerVersion = responseHeaderVersion(apiKey, apiVersion);
  if (headerVersion === 1) reader.readTaggedFields();
  return { correlationId, headerVersion };
}
