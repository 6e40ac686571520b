// Bad input against a real broker process: random and mutated request frames (huge and negative
// lengths, array counts far beyond the bytes, truncations, unknown API keys and versions, varint
// overflow, corrupt batches), plus slow clients that send half a frame. The broker must answer
// with the protocol's error or close that one connection, stay up, keep serving a well-behaved
// client, keep every acknowledged record, and keep its memory bounded. The same frames also go to
// its SASL_SSL listener, over TLS, before authentication and after a PLAIN one.
//
// The seed is printed so a failure can be replayed: BROOK_FUZZ_SEED=<n> npm test -- fuzz.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { type Socket, connect } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import type { Writer } from '../../src/protocol/writer.js';
import * as generated from '../../src/protocol/generated/all.js';
import { buildBatch } from '../../src/record/records.js';
import { type BrokerProcess, startBrokerProcess } from '../helpers/broker-process.js';
import { waitFor } from '../helpers/poll.js';
import { SeededRandom } from '../helpers/random.js';
import { callBroker, requestFrame } from '../helpers/wire-client.js';
import { AdminClient } from '../../src/client/admin-client.js';
import { makeTestCertificates, type TestCertificates } from '../security/certificates.js';

const seed = Number(process.env.BROOK_FUZZ_SEED ?? Date.now() % 1_000_000);
const framesPerRound = Number(process.env.BROOK_FUZZ_FRAMES ?? 800);
/** How long one mutated request may go unanswered before the client gives up on it. */
const answerTimeoutMs = 500;
/** For requests that must be answered: generous, the machine may be busy. */
const requiredAnswerTimeoutMs = 15_000;

function frame(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  encodeBody: (writer: Writer) => void,
): Buffer {
  return requestFrame({ apiKey, apiVersion, correlationId, clientId: 'fuzz' }, encodeBody);
}

let broker: BrokerProcess;
let logDir: string;
let validBatch: Buffer;
let certificates: TestCertificates;
/** The SASL_SSL listener's port. */
let saslSslPort: number;
const fuzzUser = { username: 'fuzz', password: 'fuzz-secret' };

before(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'brook-fuzz-'));
  certificates = makeTestCertificates(await mkdtemp(join(tmpdir(), 'brook-fuzz-tls-')));
  broker = await startBrokerProcess({
    logDir,
    listeners: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
    args: [
      '--num-partitions',
      '2',
      '--ssl-keystore-location',
      certificates.serverKeystoreLocation,
      '--ssl-truststore-location',
      certificates.caLocation,
      '--connection-failed-authentication-delay-ms',
      '0',
    ],
  });
  // The listeners are announced one line each; PLAINTEXT's is the one startBrokerProcess waited for.
  saslSslPort = await waitFor(() => {
    const listening = /listening on SASL_SSL:\/\/[^:\s]+:(\d+)/.exec(broker.output());
    return listening === null ? undefined : Number(listening[1]);
  }, 'the SASL_SSL listener');
  const admin = new AdminClient({
    bootstrapServer: broker.bootstrapServers,
    clientId: 'fuzz-admin',
    requestTimeoutMs: 10_000,
  });
  try {
    await admin.upsertUserScramCredential(fuzzUser.username, 'SCRAM-SHA-256', fuzzUser.password);
  } finally {
    admin.close();
  }
  validBatch = await buildBatch({
    records: [
      {
        key: Buffer.from('k'),
        value: Buffer.from('fuzz-value'),
        headers: [{ key: 'h', value: Buffer.from('v') }],
      },
    ],
  });
  // Metadata with auto-creation makes the two topics the test writes to.
  const created = await sendOne(
    frame(3, 4, 1, (writer) =>
      generated.encodeMetadataRequest(writer, 4, {
        topics: [{ name: 'healthy' }, { name: 'fuzz-topic' }],
        allowAutoTopicCreation: true,
      }),
    ),
    requiredAnswerTimeoutMs,
  );
  assert.equal(created, 'answered');
});

after(async () => {
  await broker?.kill();
  await rm(logDir, { recursive: true, force: true });
  if (certificates !== undefined)
    await rm(certificates.directory, { recursive: true, force: true });
});

/** Well-formed requests of many APIs and versions, the raw material for mutation. */
function seedFrames(): Buffer[] {
  const frames: Buffer[] = [];
  let correlationId = 1;
  for (const version of [0, 1, 2, 3]) {
    frames.push(
      frame(18, version, correlationId++, (writer) =>
        generated.encodeApiVersionsRequest(writer, version, {
          clientSoftwareName: 'fuzz',
          clientSoftwareVersion: '1.0',
        }),
      ),
    );
  }
  for (const version of [1, 4, 9, 12]) {
    frames.push(
      frame(3, version, correlationId++, (writer) =>
        generated.encodeMetadataRequest(writer, version, {
          topics: [{ name: 'fuzz-topic' }],
          allowAutoTopicCreation: true,
        }),
      ),
    );
  }
  for (const version of [3, 7, 9, 11]) {
    frames.push(
      frame(0, version, correlationId++, (writer) =>
        generated.encodeProduceRequest(writer, version, {
          acks: -1,
          timeoutMs: 1000,
          topicData: [{ name: 'fuzz-topic', partitionData: [{ index: 0, records: validBatch }] }],
        }),
      ),
    );
  }
  for (const version of [4, 11, 12]) {
    frames.push(
      frame(1, version, correlationId++, (writer) =>
        generated.encodeFetchRequest(writer, version, {
          replicaId: -1,
          maxWaitMs: 10,
          minBytes: 1,
          maxBytes: 1 << 20,
          topics: [
            {
              topic: 'fuzz-topic',
              partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
            },
          ],
        }),
      ),
    );
  }
  for (const version of [1, 5]) {
    frames.push(
      frame(2, version, correlationId++, (writer) =>
        generated.encodeListOffsetsRequest(writer, version, {
          replicaId: -1,
          topics: [{ name: 'fuzz-topic', partitions: [{ partitionIndex: 0, timestamp: -1n }] }],
        }),
      ),
    );
  }
  for (const version of [0, 3]) {
    frames.push(
      frame(10, version, correlationId++, (writer) =>
        generated.encodeFindCoordinatorRequest(writer, version, { key: 'fuzz-group', keyType: 0 }),
      ),
    );
  }
  return frames;
}

/** One mutation of a seed frame, or a frame of pure garbage. */
function mutate(random: SeededRandom, seeds: readonly Buffer[]): Buffer {
  const kind = random.integer(0, 8);
  if (kind === 0) {
    // Garbage body under a valid length.
    const body = Buffer.alloc(1 + random.integer(0, 199));
    for (let index = 0; index < body.length; index++) body[index] = random.integer(0, 255);
    const framed = Buffer.alloc(4 + body.length);
    framed.writeInt32BE(body.length, 0);
    body.copy(framed, 4);
    return framed;
  }
  const original = Buffer.from(random.pick(seeds));
  switch (kind) {
    case 1: {
      // Flip bytes anywhere after the length prefix.
      const flips = 1 + random.integer(0, 3);
      for (let flip = 0; flip < flips; flip++)
        original[4 + random.integer(0, original.length - 4 - 1)] ^= 1 + random.integer(0, 254);
      return original;
    }
    case 2: {
      // Overwrite an int32 (a length, a count) with something enormous or negative.
      const position = 4 + random.integer(0, Math.max(1, original.length - 8) - 1);
      original.writeInt32BE(random.pick([0x7fffffff, -2, -1000, 0x10000000, 65535]), position);
      return original;
    }
    case 3: {
      // Truncate the body but keep the frame length consistent with it.
      const keep = 4 + random.integer(0, original.length - 4 - 1);
      const truncated = original.subarray(0, keep);
      truncated.writeInt32BE(keep - 4, 0);
      return truncated;
    }
    case 4: {
      // Unknown API key or version.
      original.writeInt16BE(
        random.pick([-1, 99, 1000, 32767]),
        4 + (random.integer(0, 1) === 0 ? 0 : 2),
      );
      return original;
    }
    case 5: {
      // A varint that never ends: a run of continuation bytes inside the body.
      const position = 12 + random.integer(0, Math.max(1, original.length - 12) - 1);
      original.fill(
        0xff,
        Math.min(position, original.length),
        Math.min(position + 12, original.length),
      );
      return original;
    }
    case 6: {
      // Corrupt the record batch of a produce request (CRC, lengths, magic).
      const at = original.indexOf(validBatch.subarray(0, 12));
      if (at < 0) return original;
      original[at + 12 + random.integer(0, validBatch.length - 12 - 1)] ^= 0x5a;
      return original;
    }
    case 7: {
      // A frame length that disagrees with the body (claims more than is sent).
      original.writeInt32BE(original.length - 4 + 1 + random.integer(0, 63), 0);
      return original;
    }
    default: {
      // A negative or oversized frame length.
      original.writeInt32BE(random.pick([-1, 0x7fffffff, 200 * 1024 * 1024]), 0);
      return original;
    }
  }
}

/** Sends one frame on a fresh connection; resolves when answered, closed, or timed out. */
function sendOne(
  bytes: Buffer,
  timeoutMs = answerTimeoutMs,
): Promise<'answered' | 'closed' | 'timeout'> {
  return new Promise((resolve) => {
    const socket = connect(broker.port, broker.host);
    let settled = false;
    const finish = (outcome: 'answered' | 'closed' | 'timeout'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
    socket.on('data', () => finish('answered'));
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('closed'));
    socket.on('connect', () => socket.write(bytes));
  });
}

/**
 * Sends one frame over TLS to the SASL_SSL listener, on a fresh connection: at once, or after a
 * PLAIN SaslHandshake and SaslAuthenticate; resolves when the frame is answered, the connection
 * closed, or the time is up. An authentication that is not answered counts as 'timeout'.
 */
function sendOneOverTls(
  bytes: Buffer,
  authenticate: boolean,
  timeoutMs = answerTimeoutMs,
): Promise<'answered' | 'closed' | 'timeout'> {
  return new Promise((resolve) => {
    const socket = connectTls({
      host: broker.host,
      port: saslSslPort,
      ca: readFileSync(certificates.caLocation),
    });
    let settled = false;
    let received = Buffer.alloc(0);
    /** Responses still owed to the authentication before the fuzzed frame goes. */
    let owed = authenticate ? 2 : 0;
    const finish = (outcome: 'answered' | 'closed' | 'timeout'): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish('timeout'), timeoutMs + (authenticate ? 2_000 : 0));
    socket.on('data', (chunk: Buffer) => {
      if (owed === 0) {
        finish('answered');
        return;
      }
      received = Buffer.concat([received, chunk]);
      while (owed > 0 && received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        received = received.subarray(4 + received.readInt32BE(0));
        owed -= 1;
        if (owed === 0) socket.write(bytes);
      }
    });
    socket.on('close', () => finish('closed'));
    socket.on('error', () => finish('closed'));
    socket.on('secureConnect', () => {
      if (!authenticate) {
        socket.write(bytes);
        return;
      }
      socket.write(
        frame(17, 1, 1, (writer) =>
          generated.encodeSaslHandshakeRequest(writer, 1, { mechanism: 'PLAIN' }),
        ),
      );
      socket.write(
        frame(36, 2, 2, (writer) =>
          generated.encodeSaslAuthenticateRequest(writer, 2, {
            authBytes: Buffer.from(`\0${fuzzUser.username}\0${fuzzUser.password}`),
          }),
        ),
      );
    });
  });
}

/** A well-behaved client produces one record and reads the partition back: the broker still serves. */
async function healthyRoundTrip(
  expectedValue: string,
): Promise<{ baseOffset: bigint; values: string[] }> {
  const batch = await buildBatch({ records: [{ key: null, value: Buffer.from(expectedValue) }] });
  const produced = await callBroker<generated.ProduceResponse>(broker.bootstrapServers, 0, 7, {
    acks: -1,
    timeoutMs: 5000,
    topicData: [{ name: 'healthy', partitionData: [{ index: 0, records: batch }] }],
  });
  const partition = produced.responses[0].partitionResponses[0];
  assert.equal(partition.errorCode, 0, `produce failed with ${partition.errorCode}`);
  const fetched = await callBroker<generated.FetchResponse>(broker.bootstrapServers, 1, 11, {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 0,
    maxBytes: 1 << 20,
    topics: [
      {
        topic: 'healthy',
        partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }],
      },
    ],
  });
  const records = fetched.responses[0].partitions[0].records ?? Buffer.alloc(0);
  return { baseOffset: partition.baseOffset, values: extractValues(records) };
}

/** Reads the values of uncompressed single-batch records well enough for a health check. */
function extractValues(records: Buffer): string[] {
  const values: string[] = [];
  for (let position = 0; position + 61 <= records.length;) {
    const size = 12 + records.readInt32BE(position + 8);
    const text = records.subarray(position + 61, position + size).toString('latin1');
    const match = /healthy-[a-z0-9-]+/.exec(text);
    if (match) values.push(match[0]);
    position += size;
  }
  return values;
}

test(`mutated and random frames never take the broker down (seed ${seed})`, async () => {
  const random = new SeededRandom(seed);
  const seeds = seedFrames();
  for (const seedFrame of seeds) {
    assert.equal(
      await sendOne(seedFrame, requiredAnswerTimeoutMs),
      'answered',
      'every unmutated seed frame is answered',
    );
  }
  const outcomes = { answered: 0, closed: 0, timeout: 0 };
  const acknowledged: string[] = [];
  const concurrency = 16;
  for (let sent = 0; sent < framesPerRound; sent += concurrency) {
    const batch = Array.from({ length: concurrency }, () => sendOne(mutate(random, seeds)));
    for (const outcome of await Promise.all(batch)) outcomes[outcome]++;
    if (sent % 160 === 0) {
      const value = `healthy-${sent}`;
      const result = await healthyRoundTrip(value);
      acknowledged.push(value);
      assert.deepEqual(
        result.values,
        acknowledged,
        'every acknowledged record is still there, in order',
      );
    }
  }
  assert.equal(broker.child.exitCode, null, `the broker exited:\n${broker.output()}`);
  assert.ok(outcomes.answered > 0 && outcomes.closed > 0, `outcomes ${JSON.stringify(outcomes)}`);
  console.log(`fuzz seed ${seed}: ${JSON.stringify(outcomes)}`);
  const final = await healthyRoundTrip('healthy-final');
  assert.deepEqual(final.values, [...acknowledged, 'healthy-final']);
  // Bounded memory: thousands of bad requests later, the broker is still small.
  const residentMegabytes = broker.residentBytes() / 1024 / 1024;
  assert.ok(residentMegabytes < 400, `broker resident set is ${residentMegabytes.toFixed(0)} MB`);
  // Nothing torn or corrupt reached a log: every segment holds only whole, valid batches.
  await assertSegmentsWhole(logDir);
});

test(`the same frames over TLS to a SASL_SSL listener, before and after authentication (seed ${seed})`, async () => {
  const random = new SeededRandom(seed + 1);
  const seeds = seedFrames();
  // A well-formed request after authentication is answered, so the exchange above works.
  assert.equal(await sendOneOverTls(seeds[0]!, true, requiredAnswerTimeoutMs), 'answered');
  const framesOverTls = Math.max(32, Math.floor(framesPerRound / 8));
  const acknowledged: string[] = [];
  for (const authenticate of [false, true]) {
    const outcomes = { answered: 0, closed: 0, timeout: 0 };
    const concurrency = 8;
    for (let sent = 0; sent < framesOverTls; sent += concurrency) {
      const batch = Array.from({ length: concurrency }, () =>
        sendOneOverTls(mutate(random, seeds), authenticate),
      );
      for (const outcome of await Promise.all(batch)) outcomes[outcome]++;
    }
    console.log(
      `fuzz over SASL_SSL ${authenticate ? 'after' : 'before'} authentication, seed ${seed}: ${JSON.stringify(outcomes)}`,
    );
    // Before authentication, anything but ApiVersions and the SASL exchange closes the connection.
    assert.ok(outcomes.closed > 0, `outcomes ${JSON.stringify(outcomes)}`);
    if (authenticate) assert.ok(outcomes.answered > 0, `outcomes ${JSON.stringify(outcomes)}`);
    assert.equal(broker.child.exitCode, null, `the broker exited:\n${broker.output()}`);
    const value = `healthy-tls-${authenticate ? 'after' : 'before'}`;
    acknowledged.push(value);
    const result = await healthyRoundTrip(value);
    assert.deepEqual(result.values.slice(-acknowledged.length), acknowledged);
  }
  const residentMegabytes = broker.residentBytes() / 1024 / 1024;
  assert.ok(residentMegabytes < 400, `broker resident set is ${residentMegabytes.toFixed(0)} MB`);
  await assertSegmentsWhole(logDir);
});

test('slow clients holding half-sent frames neither pin memory nor block others', async () => {
  const before = broker.residentBytes();
  const sockets: Socket[] = [];
  for (let index = 0; index < 200; index++) {
    const socket = connect(broker.port, broker.host);
    socket.on('error', () => undefined);
    sockets.push(socket);
    // Claim a 90 MiB frame, send a few bytes of it, and stall.
    const header = Buffer.alloc(16);
    header.writeInt32BE(90 * 1024 * 1024, 0);
    socket.write(header);
  }
  try {
    const result = await healthyRoundTrip('healthy-during-slow-clients');
    assert.ok(result.values.includes('healthy-during-slow-clients'));
    const grownMegabytes = (broker.residentBytes() - before) / 1024 / 1024;
    assert.ok(
      grownMegabytes < 100,
      `200 stalled frames grew the broker by ${grownMegabytes.toFixed(0)} MB`,
    );
  } finally {
    for (const socket of sockets) socket.destroy();
  }
});

/** Walks every .log file: whole batches, each with magic 2 and a consistent length, to the end. */
async function assertSegmentsWhole(directory: string): Promise<void> {
  let checked = 0;
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name === 'meta') continue;
    for (const file of await readdir(join(directory, entry.name))) {
      if (!file.endsWith('.log')) continue;
      const bytes = await readFile(join(directory, entry.name, file));
      let position = 0;
      while (position < bytes.length) {
        assert.ok(
          position + 61 <= bytes.length,
          `${entry.name}/${file}: torn batch header at ${position}`,
        );
        assert.equal(bytes[position + 16], 2, `${entry.name}/${file}: magic at ${position}`);
        position += 12 + bytes.readInt32BE(position + 8);
        checked++;
      }
      assert.equal(position, bytes.length, `${entry.name}/${file}: a batch runs past the end`);
    }
  }
  assert.ok(checked > 0, 'some batches were written');
}
