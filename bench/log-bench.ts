// The log engine's benchmark: append throughput and latency with the default durability (every
// append acknowledged after the fdatasync that covers it), beside the physical limit measured in
// the same run on the same filesystem (write + fdatasync of the same sizes in a tight loop), and
// reads from the page cache beside this run's memory-copy rate (bench/machine-limits.ts). Prints
// ratios against the targets of issue 2 §4.
//
//   npm run bench:log            (BROOK_BENCH_DIR picks the directory; default .bench/ here)
//   BROOK_BENCH_ROUND_MS=300     length of each raw / Brook round (12 alternating rounds per case)

import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildBatch } from '../src/record/records.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import { defaultLogConfig, type LogConfig } from '../src/storage/log-config.js';
import { nodeFileIo, type FileIo } from '../src/storage/file-io.js';
import { describeMachineLimits, measureMachineLimits } from './machine-limits.js';

const ROUND_MS = Number(process.env.BROOK_BENCH_ROUND_MS ?? 300);
const RECORD_BYTES = 1024;
const root =
  process.env.BROOK_BENCH_DIR ?? join(process.cwd(), '.bench', `log-bench-${process.pid}`);
const config: LogConfig = {
  ...defaultLogConfig,
  retentionMs: -1,
  segmentBytes: 256 * 1024 * 1024,
  maxMessageBytes: 2 * 1024 * 1024,
};

interface Throughput {
  bytesPerSecond: number;
  operationsPerSecond: number;
}

/** Time and work summed over the rounds of one side of a comparison. */
class Tally {
  bytes = 0;
  operations = 0;
  seconds = 0;

  get throughput(): Throughput {
    return {
      bytesPerSecond: this.bytes / this.seconds,
      operationsPerSecond: this.operations / this.seconds,
    };
  }
}

/** The physical limit: one write + one fdatasync per `sizeBytes`, in a tight loop, appending to one file. */
class RawWriter {
  private readonly fd: number;
  private position = 0;
  private readonly buffer: Buffer;
  readonly tally = new Tally();

  constructor(
    private readonly path: string,
    private readonly sizeBytes: number,
  ) {
    this.fd = openSync(path, 'w+');
    this.buffer = Buffer.alloc(sizeBytes, 0x5a);
  }

  run(durationMs: number): void {
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      writeSync(this.fd, this.buffer, 0, this.sizeBytes, this.position);
      fdatasyncSync(this.fd);
      this.position += this.sizeBytes;
      this.tally.bytes += this.sizeBytes;
      this.tally.operations++;
    }
    this.tally.seconds += (performance.now() - start) / 1000;
  }

  close(): void {
    closeSync(this.fd);
    rmSync(this.path);
  }
}

/** Counts fdatasync calls without changing anything else. */
function countingIo(counter: { fsyncs: number }): FileIo {
  return {
    ...nodeFileIo,
    async open(path, options) {
      const file = await nodeFileIo.open(path, options);
      const datasync = file.datasync.bind(file);
      file.datasync = () => {
        counter.fsyncs++;
        return datasync();
      };
      return file;
    },
  };
}

async function batchOf(batchBytes: number): Promise<Buffer> {
  const count = Math.max(1, Math.floor(batchBytes / (RECORD_BYTES + 20)));
  const records = Array.from({ length: count }, (_, index) => ({
    key: Buffer.from(`key-${index}`),
    value: Buffer.alloc(RECORD_BYTES, index),
    timestamp: Date.now(),
  }));
  return buildBatch({ records });
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

/** `appenders` loops appending to one log, each reusing its own batch only after its acknowledgement. */
class Appenders {
  readonly tally = new Tally();
  readonly latenciesMs: number[] = [];
  private constructor(
    readonly log: PartitionLog,
    readonly counter: { fsyncs: number },
    private readonly buffers: Buffer[],
  ) {}

  static async open(directory: string, batchBytes: number, appenders: number): Promise<Appenders> {
    const counter = { fsyncs: 0 };
    const log = await PartitionLog.open({
      directory,
      config,
      io: countingIo(counter),
      tailCacheBytes: 0,
    });
    const template = await batchOf(batchBytes);
    return new Appenders(
      log,
      counter,
      Array.from({ length: appenders }, () => Buffer.from(template)),
    );
  }

  async run(durationMs: number): Promise<void> {
    const start = performance.now();
    const deadline = start + durationMs;
    await Promise.all(
      this.buffers.map(async (batch) => {
        while (performance.now() < deadline) {
          const appendedAt = performance.now();
          const result = this.log.append(batch, { leaderEpoch: 0, origin: 'client' });
          await result.acknowledged;
          this.latenciesMs.push(performance.now() - appendedAt);
          this.tally.bytes += batch.length;
          this.tally.operations++;
        }
      }),
    );
    this.tally.seconds += (performance.now() - start) / 1000;
  }
}

/** One consumer's pass over the whole log (already in the page cache), in fetches of 1 MiB. */
async function readPass(log: PartitionLog): Promise<number> {
  let offset = log.logStartOffset;
  let total = 0;
  while (offset < log.logEndOffset) {
    const { chunks, byteLength } = await log.read(offset, {
      maxBytes: 1024 * 1024,
      maxOffset: log.logEndOffset,
    });
    if (byteLength === 0) break;
    // The next offset is after the last batch of the last chunk, found by walking batch headers
    // (what a consumer's fetch loop does; no record is decoded).
    const last = chunks[chunks.length - 1];
    let position = 0;
    let nextOffset = offset;
    while (position < last.length) {
      nextOffset = Number(last.readBigInt64BE(position)) + last.readInt32BE(position + 23) + 1;
      position += 12 + last.readInt32BE(position + 8);
    }
    offset = nextOffset;
    total += byteLength;
  }
  return total;
}

/**
 * Page-cache read throughput with `consumers` concurrent sequential readers: the median of
 * several rounds, since the machine may be shared and one slow round says little.
 */
async function readPhase(directory: string, consumers: number): Promise<number> {
  const log = await PartitionLog.open({ directory, config, tailCacheBytes: 0 });
  await readPass(log);
  const rates: number[] = [];
  const start = performance.now();
  while (performance.now() - start < 2000 || rates.length < 3) {
    const roundStart = performance.now();
    const bytes = (
      await Promise.all(Array.from({ length: consumers }, () => readPass(log)))
    ).reduce((a, b) => a + b, 0);
    rates.push(bytes / ((performance.now() - roundStart) / 1000));
  }
  await log.close();
  rates.sort((a, b) => a - b);
  return rates[Math.floor(rates.length / 2)];
}

const megabytes = (bytesPerSecond: number): string => `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

/** Raw and Brook rounds alternate, so a disk whose speed drifts (shared, virtual) is compared fairly. */
const ROUNDS = 12;

async function main(): Promise<void> {
  mkdirSync(root, { recursive: true });
  try {
    console.log(
      `log engine benchmark in ${root}: records of ${RECORD_BYTES} B, default durability (ack after the covering fdatasync), ` +
        `${ROUNDS} alternating rounds of ${ROUND_MS} ms per side`,
    );
    const limits = await measureMachineLimits(root, { quick: true });
    console.log('# machine limits (same run, same filesystem)');
    for (const line of describeMachineLimits(limits)) console.log(line);
    const raw16KiB = new RawWriter(join(root, 'raw-16k'), 16 * 1024);
    raw16KiB.run(ROUND_MS * 2);
    raw16KiB.close();
    console.log(
      `physical limit 16 KiB write+fdatasync: ${megabytes(raw16KiB.tally.throughput.bytesPerSecond)}, ${raw16KiB.tally.throughput.operationsPerSecond.toFixed(0)} fsyncs/s`,
    );

    const phases = [
      {
        name: '1 MiB batches, 1 appender',
        batchBytes: 1024 * 1024,
        appenders: 1,
        target: 0.9,
        targetText: '>= 90% of raw 1 MiB',
      },
      {
        name: '1 MiB batches, 4 appenders',
        batchBytes: 1024 * 1024,
        appenders: 4,
        target: 0.9,
        targetText: '>= 90% of raw 1 MiB',
      },
      {
        name: '16 KiB batches, 64 appenders',
        batchBytes: 16 * 1024,
        appenders: 64,
        target: 0.7,
        targetText: '>= 70% of raw 1 MiB',
      },
    ];
    let readDirectory = '';
    for (const [index, phase] of phases.entries()) {
      const directory = join(root, `log-${index}`);
      const raw = new RawWriter(join(root, `raw-${index}`), 1024 * 1024);
      const brook = await Appenders.open(directory, phase.batchBytes, phase.appenders);
      for (let round = 0; round < ROUNDS; round++) {
        raw.run(ROUND_MS);
        await brook.run(ROUND_MS);
      }
      raw.close();
      await brook.log.close();
      const rawThroughput = raw.tally.throughput;
      const result = brook.tally.throughput;
      const latencies = brook.latenciesMs.sort((a, b) => a - b);
      const ratio = result.bytesPerSecond / rawThroughput.bytesPerSecond;
      console.log(
        `${phase.name.padEnd(30)} ${megabytes(result.bytesPerSecond).padStart(12)}  ${result.operationsPerSecond.toFixed(0).padStart(6)} batches/s  ` +
          `${(brook.counter.fsyncs / brook.tally.seconds).toFixed(0).padStart(5)} fsyncs/s  ` +
          `append->durable p50 ${percentile(latencies, 0.5).toFixed(2)} ms p99 ${percentile(latencies, 0.99).toFixed(2)} ms  ` +
          `| raw 1 MiB write+fdatasync ${megabytes(rawThroughput.bytesPerSecond)} | ratio ${percent(ratio)} ` +
          `(target ${phase.targetText}: ${ratio >= phase.target ? 'met' : 'NOT met'})`,
      );
      if (readDirectory) rmSync(readDirectory, { recursive: true, force: true });
      readDirectory = directory;
    }
    for (const consumers of [1, 2]) {
      const bytesPerSecond = await readPhase(readDirectory, consumers);
      console.log(
        `page-cache reads, ${consumers} consumer(s), 1 MiB fetches, CRC-32C checked on closed segments: ${(bytesPerSecond / 1e9).toFixed(2)} GB/s ` +
          `(${percent(bytesPerSecond / 1e6 / limits.memoryCopyMegabytesPerSecond)} of memory copy) ` +
          `(target >= 2 GB/s: ${bytesPerSecond >= 2e9 ? 'met' : 'NOT met'})`,
      );
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
