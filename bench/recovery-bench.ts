// A start after SIGKILL with recent data (issue 14): a broker process (the compiled CLI) takes
// `--data-mb` MB of 1 KiB records into one partition from librdkafka (bench/loadgen, acks=all),
// is killed with SIGKILL, and started again on the same directory; then stopped cleanly and
// started once more. A start after SIGKILL scans what was written since the last recovery-point
// checkpoint (every 60 s), so the data is all scanned only when it was produced within 60 s. Each start counts from spawning the process to the first Metadata answer
// that names the partition's leader. Prints the broker's own account of the recovery (bytes
// scanned, time) beside the disk's sequential write rate measured in the same run, which bounds
// how fast the data was written and roughly how fast it can be read back.
//
//   node --import tsx bench/recovery-bench.ts [--data-mb N] [--runs N]
//
// Needs gcc and librdkafka-dev for the load generator (.ci/install-system-packages.sh).

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KafkaConnection } from '../src/client/kafka-connection.js';
import { ApiKey } from '../src/protocol/generated/index.js';
import type { MetadataResponse } from '../src/protocol/generated/metadata.js';
import { type BrokerProcess, startBrokerProcess } from './broker-process.js';
import { measureDiskThroughput } from './machine-limits.js';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(name);
  return index > 0 ? process.argv[index + 1] : fallback;
}
const dataMegabytes = Number(argument('--data-mb', '1024'));
const runs = Number(argument('--runs', '2'));
const repositoryRoot = new URL('..', import.meta.url).pathname;
const TOPIC = 'recovery-bench';

/** Polls Metadata until the topic's partition has a leader. */
async function waitForLeader(bootstrap: string): Promise<void> {
  for (;;) {
    try {
      const connection = await KafkaConnection.open(bootstrap, {
        clientId: 'recovery-bench',
        requestTimeoutMs: 60_000,
      });
      try {
        const answer = await connection.request<MetadataResponse>(ApiKey.Metadata, 12, {
          topics: [{ name: TOPIC, topicId: Buffer.alloc(16) }],
          allowAutoTopicCreation: false,
          includeTopicAuthorizedOperations: false,
        });
        if ((answer.topics[0]?.partitions[0]?.leaderId ?? -1) >= 0) return;
      } finally {
        connection.close();
      }
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function stop(started: BrokerProcess, signal: NodeJS.Signals): Promise<void> {
  const exited = new Promise((resolve) => started.child.once('exit', resolve));
  started.child.kill(signal);
  await exited;
}

/** Spawn → Metadata naming a leader, in ms, and the broker left running. */
async function timedStart(logDir: string): Promise<{ started: BrokerProcess; ms: number }> {
  const begun = performance.now();
  const started = await startBrokerProcess(repositoryRoot, logDir);
  await waitForLeader(started.bootstrap);
  return { started, ms: performance.now() - begun };
}

function recoveryLine(output: string): string {
  const line = output.split('\n').find((candidate) => candidate.includes('recovered the log'));
  if (line === undefined) return 'no recovery logged';
  const { scannedBytes, durationMs } = JSON.parse(line) as {
    scannedBytes: number;
    durationMs: number;
  };
  return `scanned ${(scannedBytes / 1e6).toFixed(0)} MB in ${durationMs} ms`;
}

async function main(): Promise<void> {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: repositoryRoot, stdio: 'inherit' });
  const loadgen = execFileSync('bash', [join(repositoryRoot, 'bench', 'loadgen', 'build.sh')], {
    encoding: 'utf8',
  }).trim();
  for (let run = 0; run < runs; run++) {
    const logDir = await mkdtemp(join(tmpdir(), 'brook-recovery-'));
    try {
      const diskMegabytesPerSecond = await measureDiskThroughput(logDir);
      const first = await startBrokerProcess(repositoryRoot, logDir);
      const records = Math.round((dataMegabytes * 1024 * 1024) / 1024);
      const produceBrokerProcess = performance.now();
      execFileSync(
        loadgen,
        [
          ...['produce', '-b', first.bootstrap, '-t', TOPIC, '-n', String(records)],
          ...['-s', '1024', '-a', '-1', '-q', '-T', '600'],
        ],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      );
      const produceSeconds = (performance.now() - produceBrokerProcess) / 1000;
      await stop(first, 'SIGKILL');
      const afterKill = await timedStart(logDir);
      const recovered = recoveryLine(afterKill.started.output());
      await stop(afterKill.started, 'SIGTERM');
      const clean = await timedStart(logDir);
      await stop(clean.started, 'SIGTERM');
      console.log(
        `run ${run + 1}: ${dataMegabytes} MB in one partition (produced in ${produceSeconds.toFixed(0)} s; the recovery point is checkpointed every 60 s); start after SIGKILL ${(afterKill.ms / 1000).toFixed(2)} s (${recovered}; goal <= 10 s), ` +
          `clean start ${(clean.ms / 1000).toFixed(2)} s (goal <= 3 s); disk (same run) ${diskMegabytesPerSecond.toFixed(0)} MB/s sequential write with fdatasync`,
      );
    } finally {
      await rm(logDir, { recursive: true, force: true });
    }
  }
}

await main();
