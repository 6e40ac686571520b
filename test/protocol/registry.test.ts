import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';

import { ErrorCode, errorMessage, errorName } from '../../src/protocol/errors.js';
import { ApiKey, apiMessages } from '../../src/protocol/generated/index.js';

const repositoryRoot = new URL('../../', import.meta.url);
// Kafka's message definitions (clients/src/main/resources/common/message of an Apache Kafka
// checkout) and its error table, when the environment names them: the repository keeps no copy,
// so the tests that compare against them run only where they are.
const definitionsPath = process.env.BROOK_KAFKA_MESSAGE_DEFINITIONS;
const errorsPath = process.env.BROOK_KAFKA_ERRORS;
const messageDirectory =
  definitionsPath === undefined ? null : pathToFileURL(`${definitionsPath.replace(/\/$/, '')}/`);
const noDefinitions =
  (messageDirectory === null || !existsSync(messageDirectory)) &&
  'BROOK_KAFKA_MESSAGE_DEFINITIONS names no directory of Kafka message definitions';

describe('the API registry', () => {
  test('lists the broker APIs with their versions and first flexible version', () => {
    const expected: [number, string, number, number, number | null][] = [
      [0, 'Produce', 0, 11, 9],
      [1, 'Fetch', 0, 17, 12],
      [3, 'Metadata', 0, 12, 9],
      [17, 'SaslHandshake', 0, 1, null],
      [18, 'ApiVersions', 0, 4, 3],
      [47, 'OffsetDelete', 0, 0, null],
      [60, 'DescribeCluster', 0, 1, 0],
      // The project's own definitions (scripts/protocol-definitions), Kafka 4.2's layouts.
      [76, 'ShareGroupHeartbeat', 1, 1, 1],
      [77, 'ShareGroupDescribe', 1, 1, 1],
      [78, 'ShareFetch', 1, 2, 1],
      [79, 'ShareAcknowledge', 1, 2, 1],
      [90, 'DescribeShareGroupOffsets', 0, 0, 0],
      [91, 'AlterShareGroupOffsets', 0, 0, 0],
      [92, 'DeleteShareGroupOffsets', 0, 0, 0],
    ];
    for (const [apiKey, name, min, max, flexibleVersionsMin] of expected) {
      const api = apiMessages.get(apiKey);
      assert.ok(api, `${name} is registered`);
      assert.equal(api.name, name);
      assert.equal(api.apiKey, apiKey);
      assert.deepEqual(api.validVersions, { min, max });
      assert.equal(api.flexibleVersionsMin, flexibleVersionsMin);
      assert.equal(ApiKey[name as keyof typeof ApiKey], apiKey);
    }
  });

  test('an unstable latest version is not among the valid versions but has a codec', () => {
    const endTxn = apiMessages.get(ApiKey.EndTxn)!;
    assert.equal(endTxn.latestVersionUnstable, true);
    assert.equal(endTxn.codecVersionMax, endTxn.validVersions!.max + 1);
    const writeShareGroupState = apiMessages.get(ApiKey.WriteShareGroupState)!;
    assert.equal(writeShareGroupState.validVersions, null, 'no stable version at all');
  });

  test('ZooKeeper-only and controller-only APIs are left out', () => {
    for (const apiKey of [4, 5, 6, 7, 52, 53, 54, 56, 58, 59, 62, 63, 67]) {
      assert.equal(apiMessages.has(apiKey), false, `API key ${apiKey}`);
    }
  });

  test('each entry encodes and decodes through the registry', async () => {
    const { Reader } = await import('../../src/protocol/reader.js');
    const { Writer } = await import('../../src/protocol/writer.js');
    const api = await apiMessages.get(ApiKey.ApiVersions)!.loadCodecs();
    const writer = new Writer();
    api.request.encode(writer, 3, { clientSoftwareName: 'a', clientSoftwareVersion: 'b' } as never);
    assert.deepEqual(api.request.decode(new Reader(writer.toBuffer()), 3), {
      clientSoftwareName: 'a',
      clientSoftwareVersion: 'b',
    });
  });
});

describe('error codes', () => {
  test("names map to Kafka's codes", () => {
    assert.equal(ErrorCode.NONE, 0);
    assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
    assert.equal(ErrorCode.OFFSET_OUT_OF_RANGE, 1);
    assert.equal(ErrorCode.CORRUPT_MESSAGE, 2);
    assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
    assert.equal(ErrorCode.MESSAGE_TOO_LARGE, 10);
    assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
    assert.equal(ErrorCode.INVALID_REPLICATION_FACTOR, 38);
    assert.equal(ErrorCode.UNKNOWN_TOPIC_ID, 100);
  });

  test('codes map back to names and default messages', () => {
    assert.equal(errorName(35), 'UNSUPPORTED_VERSION');
    assert.match(errorMessage(35), /version/i);
    assert.equal(errorMessage(0), '');
    assert.equal(errorName(31999), 'UNKNOWN_ERROR_CODE_31999');
    assert.equal(errorMessage(31999), '');
  });

  const noErrors =
    (errorsPath === undefined || !existsSync(errorsPath)) &&
    'BROOK_KAFKA_ERRORS names no error table';
  test("every row of Kafka's error table is in the table", { skip: noErrors }, () => {
    const rows = readFileSync(errorsPath!, 'utf8')
      .split('\n')
      .slice(1)
      .filter((line) => line.trim() !== '');
    assert.ok(rows.length > 100);
    for (const row of rows) {
      const [code, name, message] = row.split('\t');
      assert.equal(ErrorCode[name as keyof typeof ErrorCode], Number(code), name);
      assert.equal(errorName(Number(code)), name);
      assert.equal(errorMessage(Number(code)), message ?? '');
    }
  });
});

describe('the generator', () => {
  const generatedDirectory = new URL('src/protocol/generated/', repositoryRoot);

  test('without --definitions it names where the definitions come from and writes nothing', () => {
    const before = readdirSync(generatedDirectory).length;
    for (const args of [['--check'], [], ['--definitions', 'test']]) {
      const result = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/generate-protocol.ts', ...args],
        { cwd: repositoryRoot, encoding: 'utf8' },
      );
      assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /clients\/src\/main\/resources\/common\/message/);
    }
    assert.equal(readdirSync(generatedDirectory).length, before);
  });

  test('every generated file says so', () => {
    for (const file of readdirSync(generatedDirectory)) {
      const text = readFileSync(new URL(file, generatedDirectory), 'utf8');
      assert.ok(
        text.startsWith('// generated by scripts/generate-protocol.ts; do not edit'),
        `${file} starts with the generated marker`,
      );
    }
  });

  test(
    'the committed output is what the generator writes from the message definitions',
    { skip: noDefinitions },
    () => {
      const result = spawnSync(
        process.execPath,
        [
          '--import',
          'tsx',
          'scripts/generate-protocol.ts',
          '--definitions',
          definitionsPath!,
          ...(errorsPath === undefined ? [] : ['--errors', errorsPath]),
          '--check',
        ],
        { cwd: repositoryRoot, encoding: 'utf8' },
      );
      assert.equal(result.status, 0, result.stderr + result.stdout);
      assert.match(result.stdout, /up to date/);
    },
  );

  test('no text of the definitions\' "about" fields is copied', { skip: noDefinitions }, () => {
    // Take a few long, distinctive about texts and look for them in the output.
    const abouts: string[] = [];
    for (const file of ['ProduceRequest.json', 'FetchResponse.json', 'ApiVersionsResponse.json']) {
      const text = readFileSync(new URL(file, messageDirectory!), 'utf8');
      for (const match of text.matchAll(/"about": "([^"]{30,})"/g)) abouts.push(match[1]);
    }
    assert.ok(abouts.length > 10);
    const output = readdirSync(generatedDirectory)
      .map((file) => readFileSync(new URL(file, generatedDirectory), 'utf8'))
      .join('\n');
    for (const about of abouts) assert.equal(output.includes(about), false, about);
  });
});
