// An API's codecs load on its first use (src/protocol/api-message.ts), so a fresh broker has none
// when a client's first requests arrive. A connection keeps each frame whose codecs are not loaded
// yet, and everything behind it, until the load is done: every request is still decoded, and
// answered in the order it came. The requests here are pipelined in one write, so they all arrive
// before any of their codecs loaded. The test decodes the responses with the codec modules
// imported directly, which leaves the registry's entries untouched (still unloaded).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBroker } from '../../src/broker.js';
import { KafkaConnection } from '../../src/client/kafka-connection.js';
import { defineApiMessage, type ApiCodecs } from '../../src/protocol/api-message.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import {
  decodeApiVersionsResponse,
  encodeApiVersionsRequest,
} from '../../src/protocol/generated/api-versions.js';
import {
  decodeDescribeClusterResponse,
  encodeDescribeClusterRequest,
} from '../../src/protocol/generated/describe-cluster.js';
import {
  decodeFindCoordinatorResponse,
  encodeFindCoordinatorRequest,
} from '../../src/protocol/generated/find-coordinator.js';
import { ApiKey, apiMessages } from '../../src/protocol/generated/index.js';
import {
  decodeListGroupsResponse,
  encodeListGroupsRequest,
} from '../../src/protocol/generated/list-groups.js';
import {
  decodeMetadataResponse,
  encodeMetadataRequest,
} from '../../src/protocol/generated/metadata.js';
import { decodeResponseHeader } from '../../src/protocol/headers.js';
import { Reader } from '../../src/protocol/reader.js';
import type { DescribeConfigsResponse } from '../../src/protocol/generated/describe-configs.js';
import type { MetadataResponse } from '../../src/protocol/generated/metadata.js';
import type { Writer } from '../../src/protocol/writer.js';
import { connectWireClient, requestFrame } from '../helpers/wire-client.js';
import { temporaryDirectory } from '../helpers/temporary-directory.js';

test('concurrent first uses of an API share one load; a failed load is tried again', async () => {
  const codecs: ApiCodecs = {
    request: { decode: () => ({}), encode: () => {} },
    response: { decode: () => ({}), encode: () => {} },
  };
  let imports = 0;
  let failNext = true;
  const api = defineApiMessage(
    {
      apiKey: 1000,
      name: 'Test',
      validVersions: { min: 0, max: 0 },
      codecVersionMax: 0,
      latestVersionUnstable: false,
      flexibleVersionsMin: null,
    },
    async () => {
      imports++;
      await Promise.resolve();
      if (failNext) {
        failNext = false;
        throw new Error('module not found');
      }
      return codecs;
    },
  );
  await assert.rejects(Promise.all([api.loadCodecs(), api.loadCodecs()]), /module not found/);
  assert.equal(imports, 1, 'two callers, one import');
  assert.equal(api.codecs, null);
  const loaded = await Promise.all([api.loadCodecs(), api.loadCodecs(), api.loadCodecs()]);
  assert.equal(imports, 2, 'the failed load was tried again, once for three callers');
  assert.ok(loaded.every((each) => each === codecs));
  assert.equal(api.codecs, codecs);
  await api.loadCodecs();
  assert.equal(imports, 2, 'a loaded API imports nothing more');
});

test("a fresh broker decodes and answers, in order, first requests pipelined before their APIs' codecs loaded", async (t) => {
  const broker = await startBroker({ logDirs: temporaryDirectory(t, 'brook-lazy-codecs-') });
  try {
    await firstRequestsAnswered(broker);
  } finally {
    await broker.stop();
  }
});

test("Brook's client sends a first use of an API and the requests behind it, and reads their answers", async (t) => {
  const broker = await startBroker({ logDirs: temporaryDirectory(t, 'brook-lazy-client-') });
  const connection = await KafkaConnection.open(broker.bootstrapServers, {
    clientId: 'brook-test',
    requestTimeoutMs: 10_000,
  });
  try {
    await apiMessages.get(ApiKey.Metadata)!.loadCodecs();
    assert.equal(apiMessages.get(ApiKey.DescribeConfigs)!.codecs, null);
    // The first waits for its codecs; the second, whose codecs are loaded, is sent after it (the
    // broker answers a connection in request order, so the answers settle in the order sent).
    const answered: string[] = [];
    const [configs, metadata] = await Promise.all([
      connection
        .request<DescribeConfigsResponse>(ApiKey.DescribeConfigs, 4, {
          resources: [{ resourceType: 2, resourceName: 'absent', configurationKeys: null }],
        })
        .finally(() => answered.push('DescribeConfigs')),
      connection
        .request<MetadataResponse>(ApiKey.Metadata, 12, { topics: null })
        .finally(() => answered.push('Metadata')),
    ]);
    assert.deepEqual(answered, ['DescribeConfigs', 'Metadata'], 'sent in the order made');
    assert.deepEqual(
      configs.results.map((result) => [result.resourceName, result.errorCode]),
      [['absent', ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]],
    );
    assert.equal(metadata.brokers.length, 1);
  } finally {
    connection.close();
    await broker.stop();
  }
});

async function firstRequestsAnswered(broker: {
  readonly listeners: ReadonlyArray<{ readonly port: number }>;
}): Promise<void> {
  interface Exchange {
    apiKey: number;
    apiVersion: number;
    encode(writer: Writer): void;
    check(reader: Reader): void;
  }
  const apiVersions: Exchange = {
    apiKey: ApiKey.ApiVersions,
    apiVersion: 3,
    encode: (writer) =>
      encodeApiVersionsRequest(writer, 3, {
        clientSoftwareName: 'brook-test',
        clientSoftwareVersion: '1',
      }),
    check(reader) {
      const response = decodeApiVersionsResponse(reader, 3);
      assert.equal(response.errorCode, ErrorCode.NONE);
      assert.ok(response.apiKeys.some((api) => api.apiKey === ApiKey.Metadata));
    },
  };
  const metadata: Exchange = {
    apiKey: ApiKey.Metadata,
    apiVersion: 12,
    encode: (writer) => encodeMetadataRequest(writer, 12, { topics: null }),
    check(reader) {
      const response = decodeMetadataResponse(reader, 12);
      assert.equal(response.brokers.length, 1);
      assert.equal(response.brokers[0].port, broker.listeners[0].port);
    },
  };
  const exchanges: Exchange[] = [
    apiVersions,
    metadata,
    // The same API twice while its first load is under way.
    apiVersions,
    {
      apiKey: ApiKey.FindCoordinator,
      apiVersion: 4,
      encode: (writer) =>
        encodeFindCoordinatorRequest(writer, 4, { keyType: 0, coordinatorKeys: ['lazy-group'] }),
      check(reader) {
        const response = decodeFindCoordinatorResponse(reader, 4);
        assert.deepEqual(
          response.coordinators.map((coordinator) => coordinator.key),
          ['lazy-group'],
        );
      },
    },
    metadata,
    {
      apiKey: ApiKey.ListGroups,
      apiVersion: 4,
      encode: (writer) => encodeListGroupsRequest(writer, 4, { statesFilter: [] }),
      check(reader) {
        const response = decodeListGroupsResponse(reader, 4);
        assert.equal(response.errorCode, ErrorCode.NONE);
        assert.deepEqual(response.groups, []);
      },
    },
    {
      apiKey: ApiKey.DescribeCluster,
      apiVersion: 0,
      encode: (writer) =>
        encodeDescribeClusterRequest(writer, 0, { includeClusterAuthorizedOperations: false }),
      check(reader) {
        const response = decodeDescribeClusterResponse(reader, 0);
        assert.equal(response.errorCode, ErrorCode.NONE);
        assert.equal(response.brokers.length, 1);
      },
    },
  ];
  for (const { apiKey } of exchanges) {
    assert.equal(apiMessages.get(apiKey)!.codecs, null, `API ${apiKey}'s codecs not loaded yet`);
  }

  const client = await connectWireClient(broker.listeners[0].port);
  try {
    await client.send(
      Buffer.concat(
        exchanges.map((exchange, index) =>
          requestFrame(
            { apiKey: exchange.apiKey, apiVersion: exchange.apiVersion, correlationId: index + 1 },
            exchange.encode,
          ),
        ),
      ),
    );
    for (const [index, exchange] of exchanges.entries()) {
      const reader = new Reader(await client.nextFrame(10_000));
      const header = decodeResponseHeader(reader, exchange.apiKey, exchange.apiVersion);
      assert.equal(header.correlationId, index + 1, 'responses come in request order');
      exchange.check(reader);
      assert.equal(reader.remaining, 0, `the whole API ${exchange.apiKey} response is read`);
    }
    assert.ok(!client.isClosed());
  } finally {
    client.close();
  }
  assert.equal(
    apiMessages.get(ApiKey.DescribeAcls)!.codecs,
    null,
    'an API no request used loads nothing',
  );
}
