// An etcd server as a child process, for tests and for a local cluster started with one command
// (`brook dev-cluster`, `startCluster`). It listens on free loopback ports, keeps its data in a
// temporary directory, and can be stopped, killed (SIGKILL) and restarted on the same ports and
// data, which is how the tests take etcd away from a running cluster and give it back.
//
// Production clusters use an etcd the operator runs; nothing here is on a broker's path.

import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ClusterError, ClusterErrorCode } from './errors.js';

export interface EtcdProcessOptions {
  /** Where etcd keeps its data; a new temporary directory (removed by stop()) when unset. */
  readonly dataDir?: string;
  /** How long start() waits for /health to answer. */
  readonly startTimeoutMs?: number;
  /** Run etcd in its own process group, out of reach of a terminal's Ctrl-C (dev-cluster). */
  readonly detached?: boolean;
}

/** Finds `etcd` on PATH, or throws the error that names the Debian package providing it. */
export function findEtcdBinary(path: string = process.env.PATH ?? ''): string {
  for (const directory of path.split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, 'etcd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this directory.
    }
  }
  throw new ClusterError(
    ClusterErrorCode.ETCD_NOT_FOUND,
    'etcd was not found on PATH; install it (Debian: apt-get install etcd-server) or point etcd.endpoints at a running etcd',
  );
}

/**
 * A port that was free a moment ago on 127.0.0.1, drawn below the kernel's ephemeral range: a
 * port the kernel hands out for port 0 is one it also gives outgoing connections, so between
 * this check and a broker binding it, any connection on the machine could take it. Nor is a port
 * this process handed out lately drawn again: a cluster takes a score of ports before its
 * processes bind any, and two draws of the same free port (a few in a hundred cluster starts)
 * left one broker unable to listen.
 */
export async function freePort(): Promise<number> {
  const ephemeralLow = ephemeralRangeLow();
  const low = Math.max(1024, ephemeralLow - 12_000);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = low + Math.floor(Math.random() * (ephemeralLow - low));
    if (recentlyHandedOut.has(port)) continue;
    if (await canListen(port)) return handOut(port);
  }
  return handOut(await canListen(0)); // a crowded range: let the kernel pick
}

/** Ports freePort() returned, oldest first, remembered until a few thousand came after them. */
const recentlyHandedOut = new Set<number>();
const RECENT_PORTS_REMEMBERED = 4096;

function handOut(port: number): number {
  if (port === 0) return port;
  recentlyHandedOut.add(port);
  if (recentlyHandedOut.size > RECENT_PORTS_REMEMBERED) {
    const [oldest] = recentlyHandedOut;
    recentlyHandedOut.delete(oldest);
  }
  return port;
}

/** The first port of Linux's ephemeral range (32768 where it cannot be read). */
function ephemeralRangeLow(): number {
  try {
    const low = Number(
      readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 2048 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Listens on `port` of 127.0.0.1 and closes again: the port it got, or 0 if it was taken. */
async function canListen(port: number): Promise<number> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (!listening) return 0;
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port was assigned');
  return address.port;
}

/**
 * Owned by whoever started it. start/stop/kill/restart must not overlap; the owner awaits each.
 */
export class EtcdProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';

  private constructor(
    readonly binary: string,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    readonly clientPort: number,
    readonly peerPort: number,
    private readonly startTimeoutMs: number,
    private readonly detached: boolean,
  ) {}

  /** The client URL to put in etcd.endpoints. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  static async start(options: EtcdProcessOptions = {}): Promise<EtcdProcess> {
    const binary = findEtcdBinary();
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'brook-etcd-')));
    const etcd = new EtcdProcess(
      binary,
      dataDir,
      ownsDataDir,
      await freePort(),
      await freePort(),
      options.startTimeoutMs ?? 20_000,
      options.detached === true,
    );
    try {
      await etcd.launch();
    } catch (error) {
      await etcd.stop();
      throw error;
    }
    return etcd;
  }

  /** SIGKILL, as a crash; the data directory stays for restart(). */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** Starts etcd again on the same ports and data after kill(). */
  async restart(): Promise<void> {
    if (this.child !== undefined) await this.signal('SIGKILL');
    await this.launch();
  }

  /** Ends the process (SIGTERM) and removes the data directory it created. */
  async stop(): Promise<void> {
    if (this.child !== undefined) await this.signal('SIGTERM');
    if (this.ownsDataDir) await rm(this.dataDir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.kill(signal);
    await this.exited;
  }

  private async launch(): Promise<void> {
    const peerUrl = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(
      this.binary,
      [
        '--name',
        'brook',
        '--data-dir',
        this.dataDir,
        '--listen-client-urls',
        this.endpoint,
        '--advertise-client-urls',
        this.endpoint,
        '--listen-peer-urls',
        peerUrl,
        '--initial-advertise-peer-urls',
        peerUrl,
        '--initial-cluster',
        `brook=${peerUrl}`,
        // Tests compact nothing and keep little; a small backend keeps etcd's footprint small.
        '--quota-backend-bytes',
        String(256 * 1024 * 1024),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: this.detached },
    );
    this.child = child;
    this.output = '';
    const keepTail = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout!.on('data', keepTail);
    child.stderr!.on('data', keepTail);
    let exitCode: number | null | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', (code) => {
        exitCode = code;
        if (this.child === child) this.child = undefined;
        resolve();
      });
    });
    const deadline = Date.now() + this.startTimeoutMs;
    while (!(await this.healthy())) {
      if (exitCode !== undefined) {
        throw new Error(`etcd exited with code ${exitCode} while starting:\n${this.output}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `etcd did not become healthy within ${this.startTimeoutMs} ms:\n${this.output}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private healthy(): Promise<boolean> {
    return new Promise((resolve) => {
      const request = get(`${this.endpoint}/health`, { timeout: 1000 }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => resolve(response.statusCode === 200 && body.includes('true')));
      });
      request.on('error', () => resolve(false));
      request.on('timeout', () => {
        request.destroy();
        resolve(false);
      });
    });
  }
}
