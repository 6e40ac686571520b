// The log engine's benchmark: append throughput and latency with the default durability (every
// append acknowledged after the fdatasync that covers it), beside the physical limit measured in
// the same run on the same filesystem (write + fdatasync of the same sizes in a tight loop), and
// reads from the page cache. Prints ratios against the targets of issue 2 §4.
//
//   npm run bench:log            (BROOK_BENCH_DIR picks the directory; default .bench/ here)
//   BROOK_BENCH_SECONDS=3        how long each append phase runs

import { closeSync, fdatasyncSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { buildBatch } from '../src/record/records.js';
import { PartitionLog } from '../src/storage/partition-log.js';
import { defaultLogConfig, type LogConfig } from '../src/storage/log-config.js';
import { nodeFileIo, type FileIo } from '../src/storage/file-io.js';

const PHASE_MS = Number(process.env.BROOK_BENCH_SECONDS ?? 3) * 1000;
const RECORD_BYTES = 1024;
const root = process.env.BROOK_BENCH_DIR ?? join(process.cwd(), '.bench', `log-bench-${process.pid}`);
const config: LogConfig = { ...defaultLogConfig, retentionMs: -1, segmentBytes: 256 * 1024 * 1024, maxMessageBytes: 2 * 1024 * 1024 };

interface Throughput {
  bytesPerSecond: number;
  operationsPerSecond: number;
}

/** The physical limit: one write + one fdatasync per `sizeBytes`, as fast as the disk allows. */
function rawWriteFdatasync(directory: string, sizeBytes: number): Throughput {
  const path = join(directory, `raw-${sizeBytes}`);
  const fd = openSync(path, 'w+');
  const buffer = Buffer.alloc(sizeBytes, 0x5a);
  let position = 0;
  let operations = 0;
  const start = performance.now();
  while (performance.now() - start < PHASE_MS) {
    writeSync(fd, buffer, 0, sizeBytes, position);
    fdatasyncSync(fd);
    position += sizeBytes;
    operations++;
  }
  const seconds = (performance.now() - start) / 1000;
  closeSync(fd);
  rmSync(path);
  return { bytesPerSecond: position / seconds, operationsPerSecond: operations / seconds };
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

interface AppendResult extends Throughput {
  fsyncsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  log: PartitionLog;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

/** `appenders` loops, each appending its own batch (reused only after its acknowledgement). */
async function appendPhase(directory: string, batchBytes: number, appenders: number): Promise<AppendResult> {
  const counter = { fsyncs: 0 };
  const log = await PartitionLog.open({ directory, config, io: countingIo(counter), tailCacheBytes: 0 });
  const template = await batchOf(batchBytes);
  const latenciesMs: number[] = [];
  let bytes = 0;
  let batches = 0;
  const fsyncsBefore = counter.fsyncs;
  const start = performance.now();
  const deadline = start + PHASE_MS;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      const batch = Buffer.from(template);
      while (performance.now() < deadline) {
        const appendedAt = performance.now();
        const result = log.append(batch, { leaderEpoch: 0, origin: 'client' });
        await result.acknowledged;
        latenciesMs.push(performance.now() - appendedAt);
        bytes += batch.length;
        batches++;
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  latenciesMs.sort((a, b) => a - b);
  return {
    bytesPerSecond: bytes / seconds,
    operationsPerSecond: batches / seconds,
    fsyncsPerSecond: (counter.fsyncs - fsyncsBefore) / seconds,
    p50Ms: percentile(latenciesMs, 0.5),
    p99Ms: percentile(latenciesMs, 0.99),
    log,
  };
}

/** Sequential fetch-style reads of the whole log (already in the page cache), 1 MiB at a time. */
async function readPhase(directory: string): Promise<{ bytesPerSecond: number; bytes: number }> {
  const log = await PartitionLog.open({ directory, config, tailCacheBytes: 0 });
  const pass = async (): Promise<number> => {
    let offset = log.logStartOffset;
    let total = 0;
    while (offset < log.logEndOffset) {
      const { chunks, byteLength } = await log.read(offset, { maxBytes: 1024 * 1024, maxOffset: log.logEndOffset });
      if (byteLength === 0) break;
      const last = chunks[chunks.length - 1];
      // The next offset: after the last batch of the last chunk (batches are walked by header only).
      let position = 0;
      let nextOffset = offset;
      while (position < last.length) {
        const size = 12 + last.readInt32BE(position + 8);
        nextOffset = Number(last.readBigInt64BE(position)) + last.readInt32BE(position + 23) + 1;
        position += size;
      }
      offset = nextOffset;
      total += byteLength;
    }
    return total;
  };
  await pass();
  const start = performance.now();
  let bytes = 0;
  while (performance.now() - start < 1500) bytes += await pass();
  const seconds = (performance.now() - start) / 1000;
  await log.close();
  return { bytesPerSecond: bytes / seconds, bytes };
}

const megabytes = (bytesPerSecond: number): string => `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`;
const percent = (ratio: number): string => `${(ratio * 100).toFixed(0)}%`;

async function main(): Promise<void> {
  mkdirSync(root, { recursive: true });
  try {
    console.log(`log engine benchmark in ${root}, ${PHASE_MS / 1000} s per phase, records of ${RECORD_BYTES} B, default durability`);
    const raw1MiB = rawWriteFdatasync(root, 1024 * 1024);
    const raw16KiB = rawWriteFdatasync(root, 16 * 1024);
    console.log(`physical limit  1 MiB write+fdatasync: ${megabytes(raw1MiB.bytesPerSecond)}, ${raw1MiB.operationsPerSecond.toFixed(0)} fsyncs/s`);
    console.log(`physical limit 16 KiB write+fdatasync: ${megabytes(raw16KiB.bytesPerSecond)}, ${raw16KiB.operationsPerSecond.toFixed(0)} fsyncs/s`);

    const phases: Array<{ name: string; batchBytes: number; appenders: number; against: Throughput; target: number; targetText: string }> = [
      { name: '1 MiB batches, 1 appender', batchBytes: 1024 * 1024, appenders: 1, against: raw1MiB, target: 0.9, targetText: '>= 90% of raw 1 MiB' },
      { name: '1 MiB batches, 4 appenders', batchBytes: 1024 * 1024, appenders: 4, against: raw1MiB, target: 0.9, targetText: '>= 90% of raw 1 MiB' },
      { name: '16 KiB batches, 64 appenders', batchBytes: 16 * 1024, appenders: 64, against: raw1MiB, target: 0.7, targetText: '>= 70% of raw 1 MiB' },
    ];
    let readDirectory = '';
    for (const [index, phase] of phases.entries()) {
      const directory = join(root, `log-${index}`);
      const result = await appendPhase(directory, phase.batchBytes, phase.appenders);
      await result.log.close();
      const ratio = result.bytesPerSecond / phase.against.bytesPerSecond;
      console.log(
        `${phase.name.padEnd(30)} ${megabytes(result.bytesPerSecond).padStart(12)}  ${result.operationsPerSecond.toFixed(0).padStart(6)} batches/s  ` +
          `${result.fsyncsPerSecond.toFixed(0).padStart(5)} fsyncs/s  append->durable p50 ${result.p50Ms.toFixed(2)} ms p99 ${result.p99Ms.toFixed(2)} ms  ` +
          `ratio ${percent(ratio)} (target ${phase.targetText}: ${ratio >= phase.target ? 'met' : 'NOT met'})`,
      );
      if (readDirectory) rmSync(readDirectory, { recursive: true, force: true });
      readDirectory = directory;
    }
    const read = await readPhase(readDirectory);
    const readTarget = 2e9;
    console.log(
      `page-cache reads (1 MiB fetches, CRC checked on closed segments) ${(read.bytesPerSecond / 1e9).toFixed(2)} GB/s ` +
        `(target >= 2 GB/s: ${read.bytesPerSecond >= readTarget ? 'met' : 'NOT met'})`,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
