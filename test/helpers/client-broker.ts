// A real Brook broker for the compatibility tests: started in-process on port 0 over a temporary
// directory, restartable on the same directory, plus two probes that do not depend on any client:
// which API keys the broker advertises (a raw ApiVersions v0 request) and which compression codecs
// the batches on disk carry (clients silently stop compressing when a broker's version ranges
// look wrong to them, and a consumer cannot tell).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { startBroker } from '../../src/broker.js';
import type { SettingsInput } from '../../src/config/broker-config.js';
import { withTimeout } from './clients.js';

export interface RunningBroker {
  bootstrapServers: string;
  stop(): Promise<void>;
}

/** A broker over one log directory that can be stopped and started again on it. */
export class BrokerUnderTest {
  readonly logDir: string;
  private running: RunningBroker | undefined;

  private constructor(logDir: string) {
    this.logDir = logDir;
  }

  static async start(t: TestContext, settings: SettingsInput = {}): Promise<BrokerUnderTest> {
    const logDir = mkdtempSync(join(tmpdir(), 'brook-compat-'));
    const broker = new BrokerUnderTest(logDir);
    t.after(async () => {
      await broker.stop().catch(() => undefined);
      rmSync(logDir, { recursive: true, force: true });
    });
    await broker.startOnLogDir(settings);
    return broker;
  }

  private async startOnLogDir(settings: SettingsInput): Promise<void> {
    this.running = await withTimeout(
      startBroker({ logDirs: [this.logDir], listeners: 'PLAINTEXT://127.0.0.1:0', settings }),
      30_000,
      'startBroker',
    );
  }

  get bootstrapServers(): string {
    if (!this.running) throw new Error('the broker is not running');
    return this.running.bootstrapServers;
  }

  async stop(): Promise<void> {
    const running = this.running;
    this.running = undefined;
    if (running) await withTimeout(running.stop(), 30_000, 'broker.stop');
  }

  /** Clean stop, then a new broker on the same directory (its port may differ). */
  async restart(settings: SettingsInput = {}): Promise<void> {
    await this.stop();
    await this.startOnLogDir(settings);
  }
}

// ---------------------------------------------------------------------------------------------
// ApiVersions v0 over a raw socket

export interface AdvertisedVersions {
  [apiKey: number]: { minVersion: number; maxVersion: number };
}

export function splitHostPort(address: string): { host: string; port: number } {
  const first = address.split(',')[0]!.replace(/^[A-Za-z_]+:\/\//, '');
  const colon = first.lastIndexOf(':');
  return {
    host: first.slice(0, colon).replace(/^\[|\]$/g, ''),
    port: Number(first.slice(colon + 1)),
  };
}

/** Sends ApiVersions v0 (the version every broker must answer) and returns the advertised ranges. */
export async function advertisedVersions(bootstrapServers: string): Promise<AdvertisedVersions> {
  const { host, port } = splitHostPort(bootstrapServers);
  const clientId = Buffer.from('brook-compat');
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  request.writeInt32BE(request.length - 4, 0);
  request.writeInt16BE(18, 4); // ApiVersions
  request.writeInt16BE(0, 6);
  request.writeInt32BE(7, 8); // correlation id
  request.writeInt16BE(clientId.length, 12);
  clientId.copy(request, 14);

  const response = await withTimeout(
    new Promise<Buffer>((resolve, reject) => {
      const socket = connect({ host, port });
      let received = Buffer.alloc(0);
      socket.on('connect', () => socket.write(request));
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
          socket.destroy();
          resolve(received.subarray(4, 4 + received.readInt32BE(0)));
        }
      });
      socket.on('error', reject);
      socket.on('close', () =>
        reject(new Error('connection closed before the ApiVersions response')),
      );
    }),
    10_000,
    'ApiVersions v0',
  );
  if (response.readInt32BE(0) !== 7)
    throw new Error('ApiVersions response has the wrong correlation id');
  const errorCode = response.readInt16BE(4);
  if (errorCode !== 0) throw new Error(`ApiVersions v0 answered with error ${errorCode}`);
  const count = response.readInt32BE(6);
  const versions: AdvertisedVersions = {};
  for (let index = 0; index < count; index++) {
    const at = 10 + index * 6;
    versions[response.readInt16BE(at)] = {
      minVersion: response.readInt16BE(at + 2),
      maxVersion: response.readInt16BE(at + 4),
    };
  }
  return versions;
}

export const apiKeys = {
  joinGroup: 11,
  syncGroup: 14,
  describeGroups: 15,
  listGroups: 16,
} as const;

// ---------------------------------------------------------------------------------------------
// Compression codecs of the batches on disk

export const codecByAttribute = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type Codec = (typeof codecByAttribute)[number];

function filesUnder(directory: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) found.push(...filesUnder(path));
    else found.push(path);
  }
  return found;
}

/**
 * The codecs of every RecordBatch in the topic's segment files, per ARCHITECTURE.md's invariant that
 * segment files hold exactly the batches served to consumers. Segment files are found as
 * `*.log` files in a directory named `<topic>-<partition>` (Kafka's layout) anywhere under logDir.
 */
export function codecsOnDisk(logDir: string, topic: string): Map<Codec, number> {
  const partitionDirectory = new RegExp(
    `(^|/)${topic.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d+/`,
  );
  const segments = filesUnder(logDir).filter(
    (path) => path.endsWith('.log') && partitionDirectory.test(path.slice(logDir.length)),
  );
  if (segments.length === 0) {
    throw new Error(
      `no segment files (<topic>-<partition>/*.log) for ${topic} under ${logDir}; ` +
        `files there: ${filesUnder(logDir).slice(0, 20).join(', ')}`,
    );
  }
  const batchesByCodec = new Map<Codec, number>();
  for (const segment of segments) {
    if (statSync(segment).size === 0) continue;
    const bytes = readFileSync(segment);
    let position = 0;
    // A segment may be preallocated: a zero batch length marks the end of what was written.
    while (position + 61 <= bytes.length) {
      const batchLength = bytes.readInt32BE(position + 8);
      if (batchLength === 0) break;
      const magic = bytes.readInt8(position + 16);
      if (magic !== 2 || batchLength < 49 || position + 12 + batchLength > bytes.length) {
        throw new Error(
          `${segment}: no RecordBatch v2 at byte ${position} (magic ${magic}, length ${batchLength})`,
        );
      }
      const attributes = bytes.readInt16BE(position + 21);
      const isControl = (attributes & 0x20) !== 0;
      if (!isControl) {
        const codec = codecByAttribute[attributes & 0x07];
        if (codec === undefined)
          throw new Error(`${segment}: unknown codec in attributes ${attributes}`);
        batchesByCodec.set(codec, (batchesByCodec.get(codec) ?? 0) + 1);
      }
      position += 12 + batchLength;
    }
  }
  return batchesByCodec;
}
