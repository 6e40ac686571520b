// Gigabytes in one partition (issue 14: "fetch from the oldest offset starts in ≤ 50 ms (index
// lookups, not scans); retention of old segments frees disk within one check interval"). A broker
// process (the compiled CLI) takes `--data-gb` GB of 1 KiB records into one partition from
// librdkafka (bench/loadgen, acks=all), is stopped and started again (so nothing it read or wrote
// is in its own memory; with --drop-caches the kernel's page cache is emptied too, the cold case),
// and then:
//
// - times one Fetch (1 MiB, no wait) at the oldest offset, at a quarter, half and three quarters
//   of the log and at its end, each twice (the first pays the segment's index and file opening);
// - sets the topic's retention.bytes to `--keep-gb` and times until the disk space is free again
//   (statfs of the log directory's filesystem), beside the broker's retention check interval
//   (`--check-interval-ms`, log.retention.check.interval.ms).
//
// Prints the disk's sequential write rate with fdatasync measured in the same run.
//
//   node --import tsx bench/big-log-bench.ts [--data-gb 10] [--segment-mb 1024] [--keep-gb 1]
//        [--check-interval-ms 10000] [--drop-caches]
//
// Needs gcc and librdkafka-dev for the load generator (.ci/install-system-packages.sh) and
// `--data-gb` × 1.1 of free disk under the temporary directory.

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient, ConfigResourceType } from '../src/client/admin-client.js';
import { type BrokerProcess, startBrokerProcess } from './broker-process.js';
import { measureDiskThroughput } from './machine-limits.js';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const dataGigabytes = Number(argument('--data-gb', '10'));
const segmentMegabytes = Number(argument('--segment-mb', '1024'));
const keepGigabytes = Number(argument('--keep-gb', '1'));
const checkIntervalMs = Number(argument('--check-interval-ms', '10000'));
const dropCaches = process.argv.includes('--drop-caches');
const repositoryRoot = new URL('..', import.meta.url).pathname;
const TOPIC = 'big-log-bench';
const GB = 1e9;

async function stop(started: BrokerProcess): Promise<void> {
  const exited = new Promise((resolve) => started.child.once('exit', resolve));
  started.child.kill('SIGTERM');
  await exited;
}

function startBroker(logDir: string): Promise<BrokerProcess> {
  return startBrokerProcess(repositoryRoot, logDir, {
    startTimeoutMs: 300_000,
    arguments: [
      ...['--log-segment-bytes', String(segmentMegabytes * 1024 * 1024)],
      ...['--log-retention-check-interval-ms', String(checkIntervalMs)],
    ],
  });
}

async function freeBytes(directory: string): Promise<number> {
  const figures = await statfs(directory);
  return figures.bavail * figures.bsize;
}

/** One Fetch at `offset`: its time in ms and the bytes it returned. */
async function timedFetch(
  admin: AdminClient,
  offset: bigint,
): Promise<{ ms: number; bytes: number }> {
  const started = performance.now();
  const answer = await admin.fetch(TOPIC, 0, offset, 0, 1024 * 1024);
  return { ms: performance.now() - started, bytes: answer.records?.length ?? 0 };
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: repositoryRoot, stdio: 'inherit' });
  const loadgen = execFileSync('bash', [join(repositoryRoot, 'bench', 'loadgen', 'build.sh')], {
    encoding: 'utf8',
  }).trim();
  const logDir = await mkdtemp(join(tmpdir(), 'brook-big-log-'));
  let broker: BrokerProcess | undefined;
  try {
    const free = await freeBytes(logDir);
    if (free < dataGigabytes * GB * 1.1)
      throw new Error(
        `${(free / GB).toFixed(1)} GB free under ${logDir}; --data-gb ${dataGigabytes} needs ` +
          `${(dataGigabytes * 1.1).toFixed(1)}`,
      );
    const diskMegabytesPerSecond = await measureDiskThroughput(logDir);
    console.log(
      `# ${dataGigabytes} GB in one partition, segments of ${segmentMegabytes} MiB; disk (same ` +
        `run) ${diskMegabytesPerSecond.toFixed(0)} MB/s sequential write with fdatasync`,
    );

    broker = await startBroker(logDir);
    let admin = new AdminClient({
      bootstrapServer: broker.bootstrap,
      clientId: 'big-log-bench',
      requestTimeoutMs: 120_000,
    });
    await admin.createTopic(
      { name: TOPIC, partitions: 1, replicationFactor: 1, configs: new Map() },
      60_000,
      false,
    );
    admin.close();
    const records = Math.round((dataGigabytes * GB) / 1024);
    const produceStarted = performance.now();
    execFileSync(
      loadgen,
      [
        ...['produce', '-b', broker.bootstrap, '-t', TOPIC, '-n', String(records)],
        ...['-s', '1024', '-a', '-1', '-q', '-T', '3600'],
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const produceSeconds = (performance.now() - produceStarted) / 1000;
    console.log(
      `produced ${records} records of 1 KiB in ${produceSeconds.toFixed(0)} s ` +
        `(${((dataGigabytes * GB) / 1e6 / produceSeconds).toFixed(0)} MB/s, acks=all)`,
    );

    await stop(broker);
    if (dropCaches) {
      execFileSync('sync');
      writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    }
    const restartStarted = performance.now();
    broker = await startBroker(logDir);
    console.log(
      `clean restart: listening after ${(performance.now() - restartStarted).toFixed(0)} ms` +
        (dropCaches ? ' (page cache dropped before it)' : ' (page cache kept)'),
    );

    admin = new AdminClient({
      bootstrapServer: broker.bootstrap,
      clientId: 'big-log-bench',
      requestTimeoutMs: 120_000,
    });
    try {
      await admin.metadata([TOPIC]);
      const end = await admin.listOffset({ topic: TOPIC, partition: 0, timestamp: -1n });
      const places: Array<[string, bigint]> = [
        ['oldest', 0n],
        ['a quarter in', end / 4n],
        ['half way', end / 2n],
        ['three quarters in', (end * 3n) / 4n],
        ['the end', end - 1n],
      ];
      for (const [name, offset] of places) {
        const first = await timedFetch(admin, offset);
        const second = await timedFetch(admin, offset);
        console.log(
          `fetch at ${name} (offset ${offset}): first ${first.ms.toFixed(1)} ms, then ` +
            `${second.ms.toFixed(1)} ms (${(first.bytes / 1024).toFixed(0)} KiB; goal <= 50 ms)`,
        );
      }

      const freeBefore = await freeBytes(logDir);
      const retentionStarted = performance.now();
      await admin.alterConfigs(ConfigResourceType.TOPIC, TOPIC, {
        set: new Map([['retention.bytes', String(Math.round(keepGigabytes * GB))]]),
        delete: [],
      });
      const expected = (dataGigabytes - keepGigabytes) * GB - segmentMegabytes * 1024 * 1024;
      const deadline = retentionStarted + 10 * checkIntervalMs + 60_000;
      let freed = 0;
      while (performance.now() < deadline) {
        freed = (await freeBytes(logDir)) - freeBefore;
        if (freed >= expected) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const retentionMs = performance.now() - retentionStarted;
      const start = await admin.listOffset({ topic: TOPIC, partition: 0, timestamp: -2n });
      console.log(
        `retention.bytes ${keepGigabytes} GB: ${(freed / GB).toFixed(2)} GB of disk free again ` +
          `${(retentionMs / 1000).toFixed(1)} s after the change (check interval ` +
          `${(checkIntervalMs / 1000).toFixed(0)} s; goal: within one); log start offset now ${start}`,
      );
    } finally {
      admin.close();
    }
  } finally {
    if (broker !== undefined && broker.child.exitCode === null) await stop(broker);
    await rm(logDir, { recursive: true, force: true });
  }
}

await main();
