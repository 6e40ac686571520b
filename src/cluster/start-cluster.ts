// startCluster(): a whole local cluster in one call, for tests and `brook dev-cluster`. etcd runs
// as a child process (found on PATH), and every broker is a `brook start` child process of its
// own, with its own log directory and port, so kill() is a real SIGKILL of a real process and
// pause() freezes one with SIGSTOP while its sockets stay open.
//
//   startCluster ─► etcd (etcd-process.ts) ─► broker 1..N (`brook start --etcd-endpoints …`)
//                                           └► waits until etcd lists every broker and a controller
//
// A broker keeps its port for the cluster's whole life (chosen once, before the first start), so
// restart(id) brings it back where clients and the other brokers expect it, on the same data.
//
// Owned by the caller. kill/pause/resume/restart/stop of one broker must not overlap for the same
// broker; different brokers may be driven concurrently. stop() ends everything, etcd last.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEtcdClient } from './etcd-client.js';
import { EtcdProcess, freePort } from './etcd-process.js';
import { ClusterError, ClusterErrorCode } from './errors.js';
import { clusterKeys } from './etcd-metadata-store.js';
import { defaultEtcdPrefix } from './settings.js';

export interface StartClusterOptions {
  /** How many brokers, ids 1..brokers (default 3). */
  readonly brokers?: number;
  /**
   * Where etcd and the brokers keep their data (`<dataDir>/etcd`, `<dataDir>/broker-<id>`); kept
   * by stop(). Without it a temporary directory is used and removed by stop().
   */
  readonly dataDir?: string;
  /** Broker id i listens on basePort + i - 1; without it each broker gets a free port. */
  readonly basePort?: number;
  /** The address brokers listen on and advertise (default 127.0.0.1). */
  readonly host?: string;
  /** Broker settings by Kafka name, given to every broker as flags. */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Settings for one broker, given after every other flag so they win (a later flag replaces an
   * earlier one): a second listener, or etcd.endpoints through a proxy, as the fault tests use to
   * cut one broker's links. Asked once per broker before its first start; restarts reuse it.
   */
  readonly brokerSettings?: (broker: {
    readonly id: number;
    readonly host: string;
    /** The port of the broker's PLAINTEXT listener, the one in `bootstrapServers`. */
    readonly port: number;
    readonly etcdEndpoint: string;
  }) => Readonly<Record<string, string | number | boolean>>;
  /** Node options for each broker process (a preload), placed before the CLI. */
  readonly nodeArgs?: readonly string[];
  /** Extra environment variables for each broker process. */
  readonly env?: Readonly<Record<string, string>>;
  /** Told each line a broker prints (`brook dev-cluster` forwards them). */
  readonly onOutput?: (brokerId: number, line: string) => void;
  /**
   * Each child in its own process group, so a terminal's Ctrl-C reaches only the caller, which
   * then stops brokers before etcd (`brook dev-cluster`). Default false.
   */
  readonly detached?: boolean;
  /** How long startCluster and restart wait for brokers to register (default 60 s). */
  readonly startTimeoutMs?: number;
}

export interface ClusterBrokerInfo {
  readonly id: number;
  readonly host: string;
  readonly port: number;
  /** The process id; undefined while the broker is down (killed or stopped). */
  readonly pid: number | undefined;
  readonly logDir: string;
  /** True while the process runs (a paused one counts as running). */
  readonly running: boolean;
  readonly paused: boolean;
  /** The last 16 KiB the broker printed, for failure messages. */
  output(): string;
}

export interface Cluster {
  /** Every broker's host:port, comma-separated, as clients should be given it. */
  readonly bootstrapServers: string;
  readonly brokers: readonly ClusterBrokerInfo[];
  /** The etcd client URL the brokers use (its etcd.endpoints). */
  readonly etcdEndpoint: string;
  /** The etcd process id (undefined once stopped). */
  readonly etcdPid: number | undefined;
  /** The brokers' etcd.prefix. */
  readonly etcdPrefix: string;
  broker(id: number): ClusterBrokerInfo;
  /** SIGKILL: the process dies at once, its registration lapses after the session timeout. */
  kill(id: number): Promise<void>;
  /** SIGSTOP: the process is frozen with its sockets open. */
  pause(id: number): void;
  /** SIGCONT after pause(). */
  resume(id: number): void;
  /** SIGTERM and wait for the exit (controlled shutdown); SIGKILL after `graceMs`. */
  stopBroker(id: number, graceMs?: number): Promise<number | null>;
  /** Starts a broker that is down again on the same directory and port; waits until registered. */
  restart(id: number): Promise<void>;
  /** SIGKILL of etcd; the brokers keep running on what they last saw. */
  killEtcd(): Promise<void>;
  /** Starts etcd again on its directory and port (after killEtcd). */
  restartEtcd(): Promise<void>;
  /** Stops every broker (paused ones resumed first), then etcd; removes a temporary dataDir. */
  stop(): Promise<void>;
}

const OUTPUT_KEPT_CHARS = 16 * 1024;
const STOP_GRACE_MS = 30_000;

/** The CLI beside this module: dist/cli/main.js when built, src/cli/main.ts under tsx. */
function cliCommand(): { script: string; nodeArgs: string[]; cwd: string } {
  const here = fileURLToPath(import.meta.url);
  const typescript = here.endsWith('.ts');
  const script = fileURLToPath(new URL(`../cli/main.${typescript ? 'ts' : 'js'}`, import.meta.url));
  // Under tsx the children need its loader too; it resolves from the package root.
  const cwd = fileURLToPath(new URL('../..', import.meta.url));
  return { script, nodeArgs: typescript ? ['--import', 'tsx'] : [], cwd };
}

function settingFlags(settings: Readonly<Record<string, string | number | boolean>>): string[] {
  return Object.entries(settings).flatMap(([name, value]) => [
    `--${name.replace(/\./g, '-')}`,
    String(value),
  ]);
}

class BrokerChild implements ClusterBrokerInfo {
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> = Promise.resolve(null);
  private tail = '';
  paused = false;

  constructor(
    readonly id: number,
    readonly host: string,
    readonly port: number,
    readonly logDir: string,
    private readonly command: string[],
    private readonly options: StartClusterOptions,
    private readonly cwd: string,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  output(): string {
    return this.tail;
  }

  /** Spawns `brook start`; resolves once it printed its bootstrap servers (it has registered). */
  async launch(timeoutMs: number): Promise<void> {
    const [executable, ...args] = this.command;
    const child = spawn(executable!, args, {
      cwd: this.cwd,
      env: { ...process.env, ...this.options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: this.options.detached === true,
    });
    this.child = child;
    this.paused = false;
    let pending = '';
    let started = false;
    let onStarted: () => void = () => undefined;
    const startedPromise = new Promise<void>((resolve) => (onStarted = resolve));
    const take = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.tail = (this.tail + text).slice(-OUTPUT_KEPT_CHARS);
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) {
        this.options.onOutput?.(this.id, line);
        // `brook start` prints this once startBroker returned: listening and registered.
        if (!started && line.startsWith('brook: bootstrap servers ')) {
          started = true;
          onStarted();
        }
      }
    };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        startedPromise,
        this.exited.then((code) => {
          throw new Error(
            `broker ${this.id} exited with code ${code} while starting:\n${this.tail}`,
          );
        }),
        new Promise((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new Error(`broker ${this.id} did not start within ${timeoutMs} ms:\n${this.tail}`),
              ),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      await this.kill();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.child!.kill(signal);
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child!.kill('SIGKILL');
    this.paused = false;
    await this.exited;
  }

  async stop(graceMs: number): Promise<number | null> {
    if (!this.running) return this.child?.exitCode ?? null;
    if (this.paused) this.resume();
    this.child!.kill('SIGTERM');
    const timer = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  pause(): void {
    if (!this.running || this.paused) return;
    this.child!.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.signal('SIGCONT');
  }
}

/**
 * Starts etcd and `brokers` broker processes and resolves once etcd lists every broker and a
 * controller. Throws ETCD_NOT_FOUND (naming the Debian package etcd-server) without etcd on PATH.
 */
export async function startCluster(options: StartClusterOptions = {}): Promise<Cluster> {
  const brokerCount = options.brokers ?? 3;
  if (!Number.isInteger(brokerCount) || brokerCount < 1) {
    throw new RangeError(`brokers must be a positive integer, not ${brokerCount}`);
  }
  const host = options.host ?? '127.0.0.1';
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const ownsDataDir = options.dataDir === undefined;
  const root = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'brook-cluster-')));
  const etcdDataDir = join(root, 'etcd');
  await mkdir(root, { recursive: true });
  const etcdPrefix = defaultEtcdPrefix(null);

  let etcd: EtcdProcess | undefined;
  const children: BrokerChild[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.map((child) => child.stop(STOP_GRACE_MS)));
    await etcd?.stop();
    if (ownsDataDir) await rm(root, { recursive: true, force: true });
  };
  try {
    etcd = await EtcdProcess.start({ dataDir: etcdDataDir, detached: options.detached });
    const cli = cliCommand();
    for (let id = 1; id <= brokerCount; id++) {
      const port = options.basePort === undefined ? await freePort() : options.basePort + id - 1;
      const logDir = join(root, `broker-${id}`);
      const command = [
        process.execPath,
        ...cli.nodeArgs,
        ...(options.nodeArgs ?? []),
        cli.script,
        'start',
        '--broker-id',
        String(id),
        '--etcd-endpoints',
        etcd.endpoint,
        '--etcd-prefix',
        etcdPrefix,
        '--log-dirs',
        logDir,
        '--listeners',
        `PLAINTEXT://${host}:${port}`,
        ...settingFlags(options.settings ?? {}),
        ...settingFlags(
          options.brokerSettings?.({ id, host, port, etcdEndpoint: etcd.endpoint }) ?? {},
        ),
      ];
      children.push(new BrokerChild(id, host, port, logDir, command, options, cli.cwd));
    }
    // One at a time: the first creates the cluster id in etcd, and a busy machine starts them no
    // faster in parallel.
    for (const child of children) await child.launch(startTimeoutMs);
    await waitForRegistrations(etcd.endpoint, etcdPrefix, brokerCount, startTimeoutMs);
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
  const runningEtcd = etcd;

  const find = (id: number): BrokerChild => {
    const child = children.find((candidate) => candidate.id === id);
    if (child === undefined) {
      throw new RangeError(`no broker ${id} in this cluster (ids 1..${brokerCount})`);
    }
    return child;
  };
  let stopping: Promise<void> | undefined;
  return {
    bootstrapServers: children.map((child) => `${child.host}:${child.port}`).join(','),
    brokers: children,
    etcdEndpoint: runningEtcd.endpoint,
    get etcdPid() {
      return runningEtcd.pid;
    },
    etcdPrefix,
    broker: find,
    kill: (id) => find(id).kill(),
    pause: (id) => find(id).pause(),
    resume: (id) => find(id).resume(),
    stopBroker: (id, graceMs = STOP_GRACE_MS) => find(id).stop(graceMs),
    killEtcd: () => runningEtcd.kill(),
    restartEtcd: () => runningEtcd.restart(),
    async restart(id) {
      const child = find(id);
      if (child.running) throw new Error(`broker ${id} is still running; kill or stop it first`);
      await child.launch(startTimeoutMs);
    },
    stop() {
      stopping ??= stopAll();
      return stopping;
    },
  };
}

/** Polls etcd until it lists `brokerCount` brokers and a controller candidate. */
async function waitForRegistrations(
  endpoint: string,
  prefix: string,
  brokerCount: number,
  timeoutMs: number,
): Promise<void> {
  const client = createEtcdClient([endpoint]);
  const namespace = client.namespace(prefix);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const brokers = await namespace.getAll().prefix(clusterKeys.brokers).keys();
      const candidates = await namespace.getAll().prefix(clusterKeys.controllerCandidates).keys();
      if (brokers.length >= brokerCount && candidates.length > 0) return;
      if (Date.now() > deadline) {
        throw new ClusterError(
          ClusterErrorCode.TIMED_OUT,
          `the cluster did not form within ${timeoutMs} ms: ${brokers.length} of ${brokerCount} brokers registered, ${candidates.length === 0 ? 'no' : 'a'} controller`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } finally {
    client.close();
  }
}
