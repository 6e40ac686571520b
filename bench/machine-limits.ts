// This machine's limits, measured in-process in the same run as a benchmark, so every Brook figure
// can be printed as a ratio to what the hardware allowed at that moment (the machine is shared and
// its disk speed drifts; a figure from another run says little).
//
//   - fsync latency: 4 KiB appended to one file, fdatasync after each, p50 and p99;
//   - disk throughput: 64 KiB appends with an fdatasync per MiB, MB/s (and, on request, the CPU
//     per MB of 1 MiB appends so made durable: measureDiskWriteCpu, and the rate a long stream
//     keeps: measureSustainedDiskThroughput);
//   - memory copy: Buffer.copy of 64 MiB blocks, MB/s;
//   - loopback TCP: one connection on 127.0.0.1 streaming 1 MiB writes, MB/s.
//
// Standalone: `node --import tsx bench/machine-limits.ts [DIRECTORY] [--quick] [--sustained]`;
// the disk figures are taken in DIRECTORY (default: a temporary directory), which should be on
// the disk the broker's log.dirs use; --sustained adds the long stream's windows.

import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { createServer, connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const mebibyte = 1024 * 1024;

export interface FsyncLatency {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly syncsPerSecond: number;
}

export interface MachineLimits {
  readonly fsync: FsyncLatency;
  readonly diskMegabytesPerSecond: number;
  readonly memoryCopyMegabytesPerSecond: number;
  readonly loopbackMegabytesPerSecond: number;
}

function percentile(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * fraction))];
}

/** Runs `use` on a new scratch file `<name>-<pid>.tmp` in `directory`, closed and removed after. */
async function withScratchFile<T>(
  directory: string,
  name: string,
  use: (file: FileHandle) => Promise<T>,
): Promise<T> {
  const path = join(directory, `${name}-${process.pid}.tmp`);
  const file = await open(path, 'w');
  try {
    return await use(file);
  } finally {
    await file.close();
    await rm(path, { force: true });
  }
}

/** Appends `sizeBytes` and fdatasyncs, `writes` times, to a scratch file in `directory`. */
export async function measureFsyncLatency(
  directory: string,
  options: { writes?: number; sizeBytes?: number } = {},
): Promise<FsyncLatency> {
  const writes = options.writes ?? 500;
  const block = Buffer.alloc(options.sizeBytes ?? 4096, 0x61);
  const samples: number[] = [];
  const elapsedSeconds = await withScratchFile(directory, 'fsync-latency', async (file) => {
    const started = performance.now();
    for (let index = 0; index < writes; index++) {
      const before = performance.now();
      await file.write(block);
      await file.datasync();
      samples.push(performance.now() - before);
    }
    return (performance.now() - started) / 1000;
  });
  samples.sort((a, b) => a - b);
  return {
    p50Ms: percentile(samples, 0.5),
    p99Ms: percentile(samples, 0.99),
    syncsPerSecond: writes / elapsedSeconds,
  };
}

/**
 * fdatasyncs across many files at once: `files` scratch files in `directory`, each appended
 * `sizeBytes` and fdatasynced `rounds` times, all files in flight together (libuv's threadpool,
 * UV_THREADPOOL_SIZE of this process, bounds how many run at one time). The rate a log per
 * partition can reach when many partitions need an fsync together; a journaling filesystem
 * (ext4's jbd2) may commit concurrent fdatasyncs together, so it can exceed one file's rate.
 */
export async function measureParallelFsyncs(
  directory: string,
  options: { files?: number; rounds?: number; sizeBytes?: number } = {},
): Promise<number> {
  const files = options.files ?? 64;
  const rounds = options.rounds ?? 10;
  const block = Buffer.alloc(options.sizeBytes ?? 256, 0x65);
  const handles = await Promise.all(
    Array.from({ length: files }, (_, index) =>
      open(join(directory, `fsync-parallel-${process.pid}-${index}.tmp`), 'w'),
    ),
  );
  const started = performance.now();
  try {
    await Promise.all(
      handles.map(async (handle) => {
        for (let round = 0; round < rounds; round++) {
          await handle.write(block);
          await handle.datasync();
        }
      }),
    );
  } finally {
    await Promise.all(handles.map((handle) => handle.close()));
    await Promise.all(
      handles.map((_, index) =>
        rm(join(directory, `fsync-parallel-${process.pid}-${index}.tmp`), { force: true }),
      ),
    );
  }
  return (files * rounds) / ((performance.now() - started) / 1000);
}

/** Sequential 64 KiB appends with an fdatasync per MiB, the way a log flushes in batches. */
export async function measureDiskThroughput(
  directory: string,
  options: { totalBytes?: number } = {},
): Promise<number> {
  const totalBytes = options.totalBytes ?? 256 * mebibyte;
  const { seconds } = await writeSequentially(directory, totalBytes, 64 * 1024);
  return totalBytes / mebibyte / seconds;
}

/**
 * CPU milliseconds (user and system, every thread of this process) per MB (10^6 bytes) of 1 MiB
 * appends into a new file, each followed by an fdatasync: the least any writer of a log pays for
 * each byte it makes durable (the kernel's copy into the page cache, the flush), whatever its code.
 */
export async function measureDiskWriteCpu(
  directory: string,
  options: { totalBytes?: number } = {},
): Promise<number> {
  const totalBytes = options.totalBytes ?? 256 * mebibyte;
  const { cpuMs } = await writeSequentially(directory, totalBytes, mebibyte);
  return cpuMs / (totalBytes / 1e6);
}

export interface SustainedDiskThroughput {
  /** MB/s of the first window: what a short test like measureDiskThroughput meets. */
  readonly firstWindowMegabytesPerSecond: number;
  /** MB/s, the median window: the rate the stream keeps once memory it was lent runs out. */
  readonly medianWindowMegabytesPerSecond: number;
  /** CPU per MB (10^6 bytes) of the median window by rate, every thread of this process. */
  readonly medianWindowCpuMillisecondsPerMegabyte: number;
  /** Each window's MB/s, in order. */
  readonly windowMegabytesPerSecond: readonly number[];
}

/**
 * A long durable append stream shaped as the broker's group commit writes a busy log: one
 * `writev` of `groupBytes` (1 MiB buffers), then an fdatasync, into one new file, read in windows
 * of `windowBytes`. Why a long one: where a virtual machine hands memory the guest freed back to
 * its host (free page reporting, as on Firecracker), the page cache writes the pages the guest
 * freed moments ago cheaply and pages the host must fault in again at a fraction of that rate, so
 * a short test (and a short run's first megabytes) meets the first and a sustained stream the
 * second. Without such a host the windows agree.
 */
export async function measureSustainedDiskThroughput(
  directory: string,
  options: { totalBytes?: number; groupBytes?: number; windowBytes?: number } = {},
): Promise<SustainedDiskThroughput> {
  const totalBytes = options.totalBytes ?? 3 * 1024 * mebibyte;
  const groupBytes = options.groupBytes ?? 16 * mebibyte;
  const windowBytes = options.windowBytes ?? 256 * mebibyte;
  const group = Array.from({ length: Math.max(1, groupBytes / mebibyte) }, () =>
    Buffer.alloc(mebibyte, 0x66),
  );
  const windows: Array<{ megabytesPerSecond: number; cpuMsPerMegabyte: number }> = [];
  await withScratchFile(directory, 'disk-sustained', async (file) => {
    let written = 0;
    while (written < totalBytes) {
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const windowEnd = Math.min(totalBytes, written + windowBytes);
      const windowStart = written;
      while (written < windowEnd) {
        const { bytesWritten } = await file.writev(group, written);
        written += bytesWritten;
        await file.datasync();
      }
      const cpu = process.cpuUsage(cpuBefore);
      const megabytes = (written - windowStart) / 1e6;
      windows.push({
        megabytesPerSecond: megabytes / ((performance.now() - started) / 1000),
        cpuMsPerMegabyte: (cpu.user + cpu.system) / 1000 / megabytes,
      });
    }
  });
  const byRate = [...windows].sort((a, b) => a.megabytesPerSecond - b.megabytesPerSecond);
  const median = byRate[Math.floor(byRate.length / 2)];
  return {
    firstWindowMegabytesPerSecond: windows[0].megabytesPerSecond,
    medianWindowMegabytesPerSecond: median.megabytesPerSecond,
    medianWindowCpuMillisecondsPerMegabyte: median.cpuMsPerMegabyte,
    windowMegabytesPerSecond: windows.map((window) => window.megabytesPerSecond),
  };
}

/** Appends `totalBytes` in blocks of `blockBytes` to a new file, an fdatasync per MiB. */
async function writeSequentially(
  directory: string,
  totalBytes: number,
  blockBytes: number,
): Promise<{ seconds: number; cpuMs: number }> {
  const block = Buffer.alloc(blockBytes, 0x62);
  return withScratchFile(directory, 'disk-throughput', async (file) => {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    let sinceSync = 0;
    for (let written = 0; written < totalBytes; written += block.length) {
      await file.write(block);
      sinceSync += block.length;
      if (sinceSync >= mebibyte) {
        await file.datasync();
        sinceSync = 0;
      }
    }
    await file.datasync();
    const cpu = process.cpuUsage(cpuBefore);
    return { seconds: (performance.now() - started) / 1000, cpuMs: (cpu.user + cpu.system) / 1000 };
  });
}

/** Buffer.copy between two 64 MiB buffers. */
export function measureMemoryCopy(options: { totalBytes?: number } = {}): number {
  const totalBytes = options.totalBytes ?? 4096 * mebibyte;
  const source = Buffer.alloc(64 * mebibyte, 0x63);
  const target = Buffer.allocUnsafe(source.length);
  const started = performance.now();
  for (let copied = 0; copied < totalBytes; copied += source.length) source.copy(target);
  return totalBytes / mebibyte / ((performance.now() - started) / 1000);
}

/** One TCP connection over 127.0.0.1; the reader counts bytes until `totalBytes` arrived. */
export async function measureLoopbackTcp(options: { totalBytes?: number } = {}): Promise<number> {
  const totalBytes = options.totalBytes ?? 1024 * mebibyte;
  const block = Buffer.alloc(mebibyte, 0x64);
  let received = 0;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (finish = resolve));
  const server = createServer((socket) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= totalBytes) finish();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => client.once('connect', resolve));
  const started = performance.now();
  for (let sent = 0; sent < totalBytes; sent += block.length) {
    if (!client.write(block)) await new Promise((resolve) => client.once('drain', resolve));
  }
  await done;
  const elapsedSeconds = (performance.now() - started) / 1000;
  client.destroy();
  await new Promise((resolve) => server.close(resolve));
  return totalBytes / mebibyte / elapsedSeconds;
}

/** All four, the disk ones in `directory`; `quick` measures less (a smoke run). */
export async function measureMachineLimits(
  directory: string,
  options: { quick?: boolean } = {},
): Promise<MachineLimits> {
  const scale = options.quick ? 0.25 : 1;
  return {
    fsync: await measureFsyncLatency(directory, { writes: Math.round(500 * scale) }),
    diskMegabytesPerSecond: await measureDiskThroughput(directory, {
      totalBytes: Math.round(256 * scale) * mebibyte,
    }),
    memoryCopyMegabytesPerSecond: measureMemoryCopy({
      totalBytes: Math.round(4096 * scale) * mebibyte,
    }),
    loopbackMegabytesPerSecond: await measureLoopbackTcp({
      totalBytes: Math.round(1024 * scale) * mebibyte,
    }),
  };
}

/** The limits as printable lines, one per figure. */
export function describeMachineLimits(limits: MachineLimits): string[] {
  return [
    `disk: 4 KiB append+fdatasync p50 ${limits.fsync.p50Ms.toFixed(3)} ms, p99 ${limits.fsync.p99Ms.toFixed(3)} ms (${limits.fsync.syncsPerSecond.toFixed(0)} syncs/s)`,
    `disk: 64 KiB appends, fdatasync per MiB ${limits.diskMegabytesPerSecond.toFixed(0)} MB/s`,
    `memory: Buffer.copy ${limits.memoryCopyMegabytesPerSecond.toFixed(0)} MB/s`,
    `loopback TCP: one connection ${limits.loopbackMegabytesPerSecond.toFixed(0)} MB/s`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const quick = process.argv.includes('--quick');
  const given = process.argv.slice(2).find((argument) => !argument.startsWith('--'));
  const directory = given ?? (await mkdtemp(join(tmpdir(), 'brook-limits-')));
  try {
    for (const line of describeMachineLimits(await measureMachineLimits(directory, { quick })))
      console.log(line);
    if (process.argv.includes('--sustained')) {
      const sustained = await measureSustainedDiskThroughput(directory);
      console.log(
        `disk: sustained stream (16 MiB writev, fdatasync each) ${sustained.medianWindowMegabytesPerSecond.toFixed(0)} MB/s, ${sustained.medianWindowCpuMillisecondsPerMegabyte.toFixed(2)} ms of CPU per MB (median window; windows of 256 MiB: ${sustained.windowMegabytesPerSecond.map((rate) => rate.toFixed(0)).join(', ')} MB/s)`,
      );
    }
  } finally {
    if (given === undefined) await rm(directory, { recursive: true, force: true });
  }
}
