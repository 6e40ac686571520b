// What a scenario needs from the brokers it attacks: a bootstrap list for clients, and for each
// broker process the faults it can suffer. `startSingleBroker` gives a cluster of one real
// `brook start` process; `startBrokerCluster` gives cluster mode (issue 10): etcd and N broker
// processes from the package's `startCluster`, so every scenario runs unchanged against either.
//
//   kill       SIGKILL: the process dies, the page cache survives (what it wrote is kept)
//   powerLoss  SIGKILL, then every file cut back to its last fsync (the page cache is lost too)
//   terminate  SIGTERM and wait for the exit (in a cluster: controlled shutdown first)
//   pause      SIGSTOP: the process is frozen with its sockets open; resume sends SIGCONT
//   restart    a new process on the same log directory and the same listener port

import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type StartClusterOptions, startCluster } from '../../src/cluster/start-cluster.js';
import { type BrokerProcess, startBrokerProcess } from '../helpers/broker-process.js';
import { cutToLastFsync } from './power-loss.js';

export interface FaultBroker {
  readonly id: number;
  /** host:port of this broker's listener (stable across restarts). */
  readonly address: string;
  /** True while the process is running (paused counts as running). */
  readonly running: boolean;
  kill(): Promise<void>;
  /** SIGTERM, and wait until the process exits (SIGKILL after 30 s). */
  terminate(): Promise<void>;
  /** SIGKILL and cut every file to its last fsync; returns the bytes the cut threw away. */
  powerLoss(): Promise<number>;
  pause(): void;
  resume(): void;
  restart(): Promise<void>;
  /** What the process printed, for failure messages. */
  output(): string;
  /** How long the last restart took until the broker listened again. */
  readonly lastRestartMs: number;
}

export interface FaultCluster {
  readonly bootstrapServers: string;
  readonly brokers: readonly FaultBroker[];
  /** Cluster mode only: SIGKILL etcd, and start it again on its directory and port. */
  readonly etcd?: { kill(): Promise<void>; restart(): Promise<void> };
  /** Stops every broker (resuming paused ones first) and removes their data. */
  stop(): Promise<void>;
}

const journalPreload = fileURLToPath(new URL('./fsync-journal.ts', import.meta.url));

/**
 * One broker process with its own log directory. With `advertisedPort`, Metadata names that port
 * instead of the real one (a TCP proxy in front of the broker, so clients reconnect through it).
 */
export async function startSingleBroker(
  options: {
    settings?: Readonly<Record<string, string | number>>;
    advertisedPort?: number;
  } = {},
): Promise<FaultCluster> {
  const root = mkdtempSync(join(tmpdir(), 'brook-fault-'));
  const logDir = join(root, 'data');
  const journalPath = join(root, 'fsync-journal');
  mkdirSync(logDir);
  writeFileSync(journalPath, '');
  const settingArgs = Object.entries(options.settings ?? {}).flatMap(([name, value]) => [
    `--${name.replace(/\./g, '-')}`,
    String(value),
  ]);
  let port = 0;
  const launch = async (): Promise<BrokerProcess> => {
    const advertised =
      options.advertisedPort === undefined
        ? []
        : ['--advertised-listeners', `PLAINTEXT://127.0.0.1:${options.advertisedPort}`];
    const started = await startBrokerProcess({
      logDir,
      listeners: `PLAINTEXT://127.0.0.1:${port}`,
      args: [...advertised, ...settingArgs],
      nodeArgs: ['--import', journalPreload],
      env: { BROOK_FAULT_FSYNC_JOURNAL: journalPath },
      timeoutMs: 30_000,
    });
    port = started.port;
    return started;
  };
  let current: BrokerProcess = await launch();
  let paused = false;
  let earlierOutput = '';
  let lastRestartMs = 0;

  const isRunning = (): boolean =>
    current.child.exitCode === null && current.child.signalCode === null;
  const broker: FaultBroker = {
    id: 1,
    get address() {
      return `127.0.0.1:${port}`;
    },
    get running() {
      return isRunning();
    },
    async kill() {
      if (paused) broker.resume();
      await current.kill();
    },
    async terminate() {
      if (paused) broker.resume();
      await current.stop(30_000);
    },
    async powerLoss() {
      await broker.kill();
      return cutToLastFsync(logDir, journalPath);
    },
    pause() {
      if (!isRunning() || paused) return;
      current.child.kill('SIGSTOP');
      paused = true;
    },
    resume() {
      if (!paused) return;
      current.child.kill('SIGCONT');
      paused = false;
    },
    async restart() {
      if (isRunning()) throw new Error(`broker ${broker.id} is still running; kill it first`);
      earlierOutput += current.output();
      const startedMs = Date.now();
      current = await launch();
      lastRestartMs = Date.now() - startedMs;
    },
    output: () => earlierOutput + current.output(),
    get lastRestartMs() {
      return lastRestartMs;
    },
  };

  return {
    get bootstrapServers() {
      return `127.0.0.1:${options.advertisedPort ?? port}`;
    },
    brokers: [broker],
    async stop() {
      broker.resume();
      await current.stop(5_000);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/**
 * A cluster of `brokers` broker processes with etcd (startCluster), each broker's fsyncs
 * journaled so powerLoss can cut its files back. `broker.session.timeout.ms` is 2000 unless the
 * settings say otherwise, so a killed broker's leaderships move within seconds.
 */
export async function startBrokerCluster(
  options: {
    brokers?: number;
    settings?: Readonly<Record<string, string | number | boolean>>;
    /** Per-broker settings (startCluster's `brokerSettings`): the links of `broker-links.ts`. */
    brokerSettings?: StartClusterOptions['brokerSettings'];
  } = {},
): Promise<FaultCluster> {
  const root = mkdtempSync(join(tmpdir(), 'brook-fault-cluster-'));
  // One journal for every broker: each line names an absolute path, and the cut is per directory.
  const journalPath = join(root, 'fsync-journal');
  writeFileSync(journalPath, '');
  const outputDir = process.env.BROOK_FAULT_LOG_DIR || undefined;
  let cluster;
  try {
    cluster = await startCluster({
      brokers: options.brokers ?? 3,
      dataDir: join(root, 'cluster'),
      settings: { 'broker.session.timeout.ms': 2000, ...options.settings },
      brokerSettings: options.brokerSettings,
      nodeArgs: ['--import', journalPreload],
      env: { BROOK_FAULT_FSYNC_JOURNAL: journalPath },
      // Every line, time-stamped, for a post-mortem (the failure report keeps only the tail).
      onOutput:
        outputDir === undefined
          ? undefined
          : (id, line) =>
              appendFileSync(
                join(outputDir, `broker-${id}.log`),
                `${new Date().toISOString()} ${line}\n`,
              ),
    });
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const running = cluster;
  const brokers = running.brokers.map((info): FaultBroker => {
    let lastRestartMs = 0;
    return {
      id: info.id,
      address: `${info.host}:${info.port}`,
      get running() {
        return info.running;
      },
      kill: () => running.kill(info.id),
      async terminate() {
        await running.stopBroker(info.id);
      },
      async powerLoss() {
        await running.kill(info.id);
        return cutToLastFsync(info.logDir, journalPath);
      },
      pause: () => running.pause(info.id),
      resume: () => running.resume(info.id),
      async restart() {
        const startedMs = Date.now();
        await running.restart(info.id);
        lastRestartMs = Date.now() - startedMs;
      },
      output: () => info.output(),
      get lastRestartMs() {
        return lastRestartMs;
      },
    };
  });
  return {
    bootstrapServers: running.bootstrapServers,
    brokers,
    etcd: { kill: () => running.killEtcd(), restart: () => running.restartEtcd() },
    async stop() {
      await running.stop();
      const keepDir = process.env.BROOK_FAULT_KEEP_DIR;
      if (keepDir) renameSync(root, join(keepDir, basename(root)));
      else rmSync(root, { recursive: true, force: true });
    },
  };
}
