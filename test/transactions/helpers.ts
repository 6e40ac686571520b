// Shared pieces of the exactly-once tests: the librdkafka driver, a TCP proxy that cuts
// connections after the broker has handled a Produce (so the client retries a batch the broker
// already appended), a broker as a child process for SIGKILL, and an in-process log reader.

import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { join } from 'node:path';
import { startBrokerProcess as startSharedBrokerProcess } from '../helpers/broker-process.js';

import type { Broker } from '../../src/broker.js';
import { BATCH_HEADER_BYTES, batchSizeBytes } from '../../src/record/batch.js';
import { buildControlBatch, ControlRecordType, decodeBatch } from '../../src/record/records.js';
import type { Partition } from '../../src/replica/partition.js';

const root = new URL('../..', import.meta.url).pathname;
export const pythonDriverPath = join(root, 'test/transactions/python/txn_driver.py');
const children = new Set<ChildProcess>();

/** Kills every child process a test started (call from an after hook). */
export function killChildren(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
}

export interface PythonRun {
  readonly child: ChildProcess;
  /** The program's JSON output; rejects on a non-zero exit or after `timeoutMs`. */
  readonly result: Promise<unknown>;
  /** Each line the program prints, as it prints it. */
  readonly lines: AsyncIterableIterator<string>;
}

export function startPython(args: string[], input: string | null, timeoutMs = 150_000): PythonRun {
  const child = spawn('/usr/bin/python3', [pythonDriverPath, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const pendingLines: string[] = [];
  const lineWaiters: Array<(line: string) => void> = [];
  let partial = '';
  child.stdout!.on('data', (data: Buffer) => {
    stdout += data.toString();
    partial += data.toString();
    let newline = partial.indexOf('\n');
    while (newline >= 0) {
      const line = partial.slice(0, newline);
      partial = partial.slice(newline + 1);
      const waiter = lineWaiters.shift();
      if (waiter) waiter(line);
      else pendingLines.push(line);
      newline = partial.indexOf('\n');
    }
  });
  child.stderr!.on('data', (data: Buffer) => {
    stderr += data.toString();
  });
  if (input !== null) child.stdin!.end(input);
  const result = new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`python ${args[0]} timed out; stderr:\n${stderr.slice(-3000)}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`python ${args[0]} exited with ${code}; stderr:\n${stderr.slice(-3000)}`));
        return;
      }
      const lines = stdout.trim().split('\n');
      resolve(JSON.parse(lines[lines.length - 1]));
    });
  });
  result.catch(() => undefined);
  const lines: AsyncIterableIterator<string> = {
    next: () =>
      new Promise((resolve) => {
        const line = pendingLines.shift();
        if (line !== undefined) resolve({ value: line, done: false });
        else lineWaiters.push((value) => resolve({ value, done: false }));
      }),
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { child, result, lines };
}

export function runPython(
  args: string[],
  input: unknown = null,
  timeoutMs?: number,
): Promise<unknown> {
  return startPython(args, input === null ? null : JSON.stringify(input), timeoutMs).result;
}

/**
 * A TCP proxy in front of the broker. It forwards everything, except that every `cutEvery`-th
 * Produce response is swallowed and both connections are closed: the broker has appended the
 * batch, the client never hears so and sends it again.
 */
export class CuttingProxy {
  private readonly server = net.createServer((client) => this.accept(client));
  private readonly sockets = new Set<net.Socket>();
  upstreamPort = 0;
  cutEvery: number;
  produceResponses = 0;
  cuts = 0;

  constructor(cutEvery: number) {
    this.cutEvery = cutEvery;
  }

  async listen(): Promise<number> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    return (this.server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    const upstream = net.connect(this.upstreamPort, '127.0.0.1');
    this.sockets.add(client);
    this.sockets.add(upstream);
    const produceCorrelations = new Set<number>();
    const closeBoth = (): void => {
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    framed(client, (frame) => {
      if (frame.length >= 12 && frame.readInt16BE(4) === 0)
        produceCorrelations.add(frame.readInt32BE(8));
      upstream.write(frame);
    });
    framed(upstream, (frame) => {
      const correlationId = frame.readInt32BE(4);
      if (produceCorrelations.delete(correlationId)) {
        this.produceResponses += 1;
        if (this.cutEvery > 0 && this.produceResponses % this.cutEvery === 0) {
          this.cuts += 1;
          closeBoth();
          return;
        }
      }
      client.write(frame);
    });
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.server.close();
    await once(this.server, 'close').catch(() => undefined);
  }
}

/** Calls `onFrame` with each whole size-prefixed frame (prefix included) read from `socket`. */
function framed(socket: net.Socket, onFrame: (frame: Buffer) => void): void {
  let buffered: Buffer = Buffer.alloc(0);
  socket.on('data', (data: Buffer) => {
    buffered = buffered.length === 0 ? data : Buffer.concat([buffered, data]);
    while (buffered.length >= 4) {
      const size = buffered.readInt32BE(0) + 4;
      if (buffered.length < size) break;
      onFrame(buffered.subarray(0, size));
      buffered = buffered.subarray(size);
    }
  });
}

export interface BrokerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
}

/**
 * Starts `brook start` as a child process (test/helpers/broker-process.ts) listening on `port`
 * and advertising `advertisedPort` (the cutting proxy), with small internal topics.
 */
export async function startBrokerProcess(
  logDir: string,
  port: number,
  advertisedPort: number,
  extraArguments: readonly string[] = [],
): Promise<BrokerProcess> {
  const broker = await startSharedBrokerProcess({
    logDir,
    listeners: `PLAINTEXT://127.0.0.1:${port}`,
    timeoutMs: 60_000,
    args: [
      '--advertised-listeners',
      `PLAINTEXT://127.0.0.1:${advertisedPort}`,
      '--transaction-state-log-num-partitions',
      '5',
      '--offsets-topic-num-partitions',
      '5',
      '--num-partitions',
      '3',
      ...extraArguments,
    ],
  });
  children.add(broker.child);
  return { child: broker.child, port: broker.port, exited: broker.exited.then(() => undefined) };
}

export interface StoredRecord {
  offset: number;
  value: string;
}

/** Every data record of a partition as stored (control batches are counted, not returned). */
export async function readStoredRecords(
  broker: Broker,
  topic: string,
  partitionIndex: number,
): Promise<{ records: StoredRecord[]; controlBatches: number }> {
  const partition = broker.replicas.partition(topic, partitionIndex);
  if (partition === undefined) throw new Error(`no partition ${topic}-${partitionIndex}`);
  await partition.log.flush();
  const records: StoredRecord[] = [];
  let controlBatches = 0;
  let offset = partition.logStartOffset;
  const end = partition.logEndOffset;
  while (offset < end) {
    const { chunks } = await partition.read(offset, 1024 * 1024, end, true);
    if (chunks.length === 0) break;
    for (const chunk of chunks) {
      for (
        let position = 0;
        position + BATCH_HEADER_BYTES <= chunk.length;
        position += batchSizeBytes(chunk, position)
      ) {
        const batch = await decodeBatch(chunk, position);
        if (batch.isControl) controlBatches += 1;
        else
          for (const record of batch.records)
            records.push({ offset: record.offset, value: record.value?.toString() ?? '' });
        offset = batch.baseOffset + batch.lastOffsetDelta + 1;
      }
    }
  }
  return { records, controlBatches };
}

/** A COMMIT or ABORT marker for `producerId` at epoch 0, from coordinator epoch 0. */
export function markerBatch(producerId: number, committed: boolean): Promise<Buffer> {
  return buildControlBatch({
    type: committed ? ControlRecordType.COMMIT : ControlRecordType.ABORT,
    producerId,
    producerEpoch: 0,
    coordinatorEpoch: 0,
    timestamp: Date.now(),
  });
}

/** Appends a COMMIT or ABORT marker for `producerId` (epoch 0) as the coordinator would; resolves with its offset once durable. */
export async function appendMarker(
  partition: Partition,
  producerId: number,
  committed: boolean,
): Promise<number> {
  const batch = await markerBatch(producerId, committed);
  const written = partition.append(batch, 'coordinator');
  await written.acknowledged;
  return written.baseOffset;
}
