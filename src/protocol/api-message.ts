// The shape of one entry in the generated registry (`apiMessages` in generated/index.ts), and the
// load of an API's codecs on its first use.
//
// The registry holds what the protocol says about each API (name, versions); its codecs are a
// module per API that loads the first time something asks for them. An idle broker then holds the
// code of no API, and a busy one that of the APIs its clients use (about 3 MB of RSS for all 80).

import type { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface MessageCodec {
  decode(reader: Reader, version: number): unknown;
  encode(writer: Writer, version: number, value: never): void;
}

export interface ApiCodecs {
  readonly request: MessageCodec;
  readonly response: MessageCodec;
}

export interface ApiDescription {
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
}

export interface ApiMessage extends ApiDescription {
  /** The codecs once a `loadCodecs` has resolved (for any caller); null before. */
  readonly codecs: ApiCodecs | null;
  /**
   * Loads the codecs' module. Concurrent callers share one load; once loaded it resolves at once
   * and `codecs` is set. A failed load is not remembered: the next call tries again.
   */
  loadCodecs(): Promise<ApiCodecs>;
}

/** A registry entry whose codecs come from `importCodecs` (a dynamic import) on first use. */
export function defineApiMessage(
  description: ApiDescription,
  importCodecs: () => Promise<ApiCodecs>,
): ApiMessage {
  let codecs: ApiCodecs | null = null;
  let loading: Promise<ApiCodecs> | null = null;
  return {
    ...description,
    get codecs(): ApiCodecs | null {
      return codecs;
    },
    loadCodecs(): Promise<ApiCodecs> {
      if (codecs !== null) return Promise.resolve(codecs);
      loading ??= importCodecs().then(
        (loaded) => {
          codecs = loaded;
          return loaded;
        },
        (error: unknown) => {
          loading = null;
          throw error;
        },
      );
      return loading;
    },
  };
}

/** An entry with its codecs at hand from the start (tests, a server given its own messages). */
export function apiMessageWithCodecs(description: ApiDescription, codecs: ApiCodecs): ApiMessage {
  return { ...description, codecs, loadCodecs: () => Promise.resolve(codecs) };
}

/** Loads the codecs of every API in `messages` (tools and tests that use them synchronously). */
export async function loadAllCodecs(messages: ReadonlyMap<number, ApiMessage>): Promise<void> {
  await Promise.all([...messages.values()].map((api) => api.loadCodecs()));
}

/** `api`'s codecs, which must have been loaded (`loadCodecs`, `loadAllCodecs`). */
export function loadedCodecs(api: ApiMessage): ApiCodecs {
  if (api.codecs === null) {
    throw new Error(`the ${api.name} codecs are not loaded: await its loadCodecs() first`);
  }
  return api.codecs;
}
