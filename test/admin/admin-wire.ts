// Sends one admin request at an exact version with the project's generated codecs and decodes the
// answer: for the versions and fields real clients do not reach (DeleteTopics by topic id,
// DescribeConfigs v0, DescribeLogDirs v4, OffsetForLeaderEpoch).

import { decodeResponseHeader } from '../../src/protocol/headers.js';
import { apiMessages } from '../../src/protocol/generated/index.js';
import { Reader } from '../../src/protocol/reader.js';
import { connectWireClient, requestFrame } from '../server/wire-client.js';

let nextCorrelationId = 1;

export async function callBroker<Response>(
  bootstrapServers: string,
  apiKey: number,
  apiVersion: number,
  request: unknown,
): Promise<Response> {
  const codec = apiMessages.get(apiKey);
  if (codec === undefined) throw new Error(`no codec for API key ${apiKey}`);
  const [host, port] = bootstrapServers.split(',')[0].split(':');
  const client = await connectWireClient(Number(port), host);
  try {
    const correlationId = nextCorrelationId++;
    await client.send(
      requestFrame({ apiKey, apiVersion, correlationId }, (writer) =>
        codec.request.encode(writer, apiVersion, request as never),
      ),
    );
    const frame = await client.nextFrame(10_000);
    const reader = new Reader(frame);
    const header = decodeResponseHeader(reader, apiKey, apiVersion);
    if (header.correlationId !== correlationId) throw new Error('response to another request');
    return codec.response.decode(reader, apiVersion) as Response;
  } finally {
    client.close();
  }
}
