// The shape of one entry in the generated registry (`apiMessages` in generated/index.ts).

import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface MessageCodec {
  decode(reader: Reader, version: number): unknown;
  encode(writer: Writer, version: number, value: never): void;
}

export interface ApiMessage {
  apiKey: number;
  name: string;
  /**
   * The versions that may be advertised: an unstable latest version is left out, and an API whose
   * only version is unstable (the share-group APIs at this point) has null.
   */
  validVersions: { min: number; max: number } | null;
  /** The highest version the codecs implement (above `validVersions.max` when unstable). */
  codecVersionMax: number;
  latestVersionUnstable: boolean;
  /** The first flexible version, or null when no version is flexible. */
  flexibleVersionsMin: number | null;
  request: MessageCodec;
  response: MessageCodec;
}
