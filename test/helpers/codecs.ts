// The generated codecs by API key for tests that call them synchronously: importing this module
// loads every API's codecs (the broker loads each on the API's first use, protocol/api-message.ts).

import { type ApiCodecs, loadAllCodecs, loadedCodecs } from '../../src/protocol/api-message.js';
import { apiMessages } from '../../src/protocol/generated/index.js';

await loadAllCodecs(apiMessages);

/** The request and response codecs of `apiKey`. */
export function codecsOf(apiKey: number): ApiCodecs {
  const api = apiMessages.get(apiKey);
  if (api === undefined) throw new Error(`no API with key ${apiKey}`);
  return loadedCodecs(api);
}
